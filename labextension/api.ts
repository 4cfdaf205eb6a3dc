/**
 * The eolab REST client: typed interfaces mirroring eolab/server/models.py, and one
 * `requestAPI` wrapper through which every call goes.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export const API_PREFIX = 'eolab/api/v1';

export type Role = 'data_owner' | 'data_scientist';
export type SearchScope = 'everything' | 'projects' | 'datasets' | 'featurestore' | 'experiments' | 'models';

export interface IErrorBody {
  code: string;
  message: string;
  details: any;
}

export interface IDescribeUser {
  name: string;
  email: string;
  is_admin: boolean;
  created_at: string;
}

export interface IWhoAmI {
  user: IDescribeUser;
  scopes: string[] | null;
  project: string | null;
}

export interface IDescribeMember {
  user: string;
  role: Role;
  added_at: string;
}

export interface IDescribeProject {
  name: string;
  description: string;
  owner: string;
  created_at: string;
  role: Role | null;
  members: IDescribeMember[];
}

export interface IDescribeDataset {
  name: string;
  description: string;
  searchable: boolean;
  created_by: string;
  created_at: string;
}

export interface IDescribeFile {
  name: string;
  path: string;
  is_dir: boolean;
  size: number;
  modified: string;
}

export interface IListFilesResponse {
  path: string;
  files: IDescribeFile[];
}

export interface IPreviewResponse {
  path: string;
  kind: 'text' | 'parquet' | 'raster' | 'binary';
  size: number;
  lines?: string[];
  num_rows?: number;
  schema?: { name: string; type: string }[];
  rows?: Record<string, any>[];
  [key: string]: any;
}

export interface IDescribeUpload {
  upload_id: string;
  dest: string;
  total_chunks: number;
  received: number[];
  complete: boolean;
  file: IDescribeFile | null;
}

export interface IJsonSchema {
  type?: string | string[];
  properties?: Record<string, IJsonSchema>;
  required?: string[];
  items?: IJsonSchema;
  enum?: any[];
  description?: string;
  title?: string;
  [key: string]: any;
}

export interface IDescribeTagSchema {
  name: string;
  description: string;
  schema: IJsonSchema;
  created_at: string;
}

export interface ITagsResponse {
  path: string;
  tags: Record<string, any>;
}

export interface IHighlight {
  field: string;
  text: string;
  spans: [number, number][];
}

export interface ISearchHit {
  kind: string;
  ref: string;
  project: string | null;
  name: string;
  description: string;
  highlights: IHighlight[];
}

export interface ISearchResponse {
  term: string;
  scope: SearchScope;
  total: number;
  hits: ISearchHit[];
}

export interface IDescribeCommit {
  commit_id: number;
  committed_on: string;
  rows_inserted: number;
  rows_updated: number;
  rows_deleted: number;
  operation: string | null;
}

export interface IDescribeFeatureGroupSummary {
  name: string;
  versions: number[];
  latest_version: number;
  description: string;
  online_enabled: boolean;
  latest_commit: IDescribeCommit | null;
}

export interface IDescribeFeature {
  name: string;
  type: string;
  primary: boolean;
  partition: boolean;
  event_time: boolean;
}

export interface IDescribeFeatureGroupVersion {
  name: string;
  version: number;
  description: string;
  online_enabled: boolean;
  num_features: number;
  creator: string | null;
  created: string | null;
  latest_commit: IDescribeCommit | null;
}

export interface IDescribeFeatureGroup {
  name: string;
  version: number;
  description: string;
  features: IDescribeFeature[];
  primary_key: string[];
  event_time: string | null;
  partition_key: string[];
  online_enabled: boolean;
  statistics_config: Record<string, any>;
  location: string | null;
  creator: string | null;
  created: string | null;
  row_count: number;
  latest_commit: IDescribeCommit | null;
  tags: Record<string, any>;
}

export interface IHistogramBin {
  lower: number;
  upper: number;
  count: number;
}

export interface IDescribeFeatureStatistics {
  name: string;
  type: string;
  count: number | null;
  num_non_null_values: number | null;
  num_null_values: number | null;
  completeness: number | null;
  approx_num_distinct_values: number | null;
  min: any;
  max: any;
  sum: any;
  mean: number | null;
  stddev: number | null;
  histogram: IHistogramBin[] | null;
  [key: string]: any;
}

export interface IDescribeFeatureGroupStatistics {
  name: string;
  version: number;
  commit_id: number;
  commit_time: string | null;
  row_count: number;
  features: IDescribeFeatureStatistics[];
  correlations: Record<string, Record<string, number | null>>;
}

/** An array feature in a preview: its length and first values. */
export interface IArrayCell {
  length: number;
  head: any[];
}

export interface IPreviewColumn {
  name: string;
  type: string;
  /** cells are {length, head} */
  array: boolean;
}

export interface IPreviewFeatureGroupResponse {
  name: string;
  version: number;
  storage: 'offline' | 'online';
  as_of: string | null;
  commit_id: number | null;
  num_rows: number;
  columns: IPreviewColumn[];
  rows: Record<string, any>[];
}

export interface IPreviewOptions {
  n?: number;
  asOf?: string;
  online?: boolean;
}

export interface IDescribeSplit {
  /** '' for an unsplit training dataset */
  name: string;
  fraction: number | null;
  size: number;
}

export interface IDescribeTrainingDatasetFeature {
  name: string;
  type: string;
  kind: string | null;
  dims: number[] | null;
  shape: number[] | null;
  nullable: boolean;
  label: boolean;
}

export interface IDescribeProvenance {
  name: string;
  version: number;
  commit_id: number | null;
}

export interface IDescribeTrainingDatasetSummary {
  name: string;
  versions: number[];
  latest_version: number;
  description: string;
  data_format: string;
  row_count: number;
  created: string | null;
}

export interface IDescribeTrainingDatasetVersion {
  name: string;
  version: number;
  description: string;
  data_format: string;
  splits: IDescribeSplit[];
  row_count: number;
  creator: string | null;
  created: string | null;
}

export interface IDescribeTrainingDataset {
  name: string;
  version: number;
  description: string;
  data_format: string;
  splits: IDescribeSplit[];
  row_count: number;
  features: IDescribeTrainingDatasetFeature[];
  label: string[];
  primary_key: string[];
  seed: number;
  provenance: IDescribeProvenance[];
  statistics_config: Record<string, any>;
  location: string | null;
  creator: string | null;
  created: string | null;
  updated: string | null;
  tags: Record<string, any>;
}

export interface IDescribeTrainingDatasetStatistics {
  name: string;
  version: number;
  split: string | null;
  row_count: number;
  features: IDescribeFeatureStatistics[];
  correlations: Record<string, Record<string, number | null>>;
}

export interface IPreviewTrainingDatasetResponse {
  name: string;
  version: number;
  split: string | null;
  num_rows: number;
  columns: IPreviewColumn[];
  rows: Record<string, any>[];
}

export type ValidationType = 'NONE' | 'STRICT' | 'WARNING' | 'ALL';
export type ValidationStatus = 'SUCCESS' | 'WARNING' | 'FAILURE';

/** A Deequ rule as Hopsworks writes it; `min`/`max` bound the measured value. */
export interface IValidationRule {
  name: string;
  level: string;
  min: number | null;
  max: number | null;
  value: number | null;
  pattern: string | null;
  acceptedType: string | null;
  legalValues: any[] | null;
}

export interface IDescribeExpectation {
  name: string;
  description: string;
  features: string[];
  rules: IValidationRule[];
  creator: string | null;
  created: string | null;
}

export interface IFeatureGroupExpectations {
  name: string;
  version: number;
  validation_type: ValidationType;
  expectations: IDescribeExpectation[];
}

export interface IDescribeRuleResult {
  features: string[];
  message: string;
  rule: IValidationRule;
  status: ValidationStatus;
  value: number | null;
}

export interface IDescribeExpectationResult {
  expectation: IDescribeExpectation;
  results: IDescribeRuleResult[];
  status: ValidationStatus;
}

export interface IValidationCounts {
  success: number;
  warning: number;
  failure: number;
}

/** A validation report, shaped like Hopsworks' FeatureGroupValidation (camelCase). */
export interface IDescribeValidation {
  validationId: number | null;
  validationTime: string;
  commitTime: string | null;
  commitId: number | null;
  featureGroup: { name: string; version: number | null };
  validationType: ValidationType | null;
  ingested: boolean | null;
  rowCount: number;
  status: ValidationStatus;
  summary: IValidationCounts;
  expectationResults: IDescribeExpectationResult[];
}

/** A failed call: the server's error envelope, or a description of what went wrong. */
export class EolabApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: any = null
  ) {
    super(message);
    this.name = 'EolabApiError';
  }

  /** Violations of a 422 (tag values), by field. */
  get violations(): { field: string; message: string }[] {
    return (this.details && this.details.violations) || [];
  }
}

export const EXTENSION_MISSING =
  'The eolab server extension is not enabled in this Jupyter server: run `pip install eolab` ' +
  'in the server environment and restart JupyterLab.';

/** Path segments joined and each percent-encoded (dataset paths keep their slashes). */
export function apiPath(...segments: string[]): string {
  return segments
    .filter(s => s !== '')
    .map(s => s.split('/').map(encodeURIComponent).join('/'))
    .join('/');
}

export interface IRequestOptions {
  method?: string;
  body?: any;
  raw?: BodyInit;
  query?: Record<string, string | number | boolean | undefined>;
}

/** Call the eolab REST API; JSON in, JSON out; errors raise EolabApiError. */
export async function requestAPI<T>(
  path: string,
  options: IRequestOptions = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  let url = URLExt.join(settings.baseUrl, API_PREFIX, path);
  const query = Object.entries(options.query || {}).filter(([, v]) => v !== undefined);
  if (query.length) {
    url += '?' + query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
  }
  const init: RequestInit = { method: options.method || 'GET' };
  if (options.raw !== undefined) {
    init.body = options.raw;
  } else if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new EolabApiError(0, 'network', `The server cannot be reached: ${String(error)}`);
  }
  if (response.status === 204) {
    return undefined as unknown as T;
  }
  const type = response.headers.get('Content-Type') || '';
  const text = await response.text();
  if (!type.includes('application/json')) {
    if (response.status === 404) {
      throw new EolabApiError(404, 'extension_missing', EXTENSION_MISSING);
    }
    if (!response.ok) {
      throw new EolabApiError(response.status, 'http_error', `${response.status} ${response.statusText}`);
    }
    return text as unknown as T;
  }
  let data: any;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new EolabApiError(response.status, 'bad_response', `The server sent invalid JSON: ${String(error)}`);
  }
  if (!response.ok) {
    const err: IErrorBody = (data && data.error) || {
      code: 'http_error',
      message: `${response.status} ${response.statusText}`,
      details: null
    };
    throw new EolabApiError(response.status, err.code, err.message, err.details);
  }
  return data as T;
}

/** Human-readable text of any error thrown by the client. */
export function errorMessage(error: unknown): string {
  if (error instanceof EolabApiError) {
    return error.code === 'extension_missing' ? error.message : `${error.message} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

// ---- resources ---------------------------------------------------------------------------

export const api = {
  whoami: () => requestAPI<IWhoAmI>('whoami'),
  listProjects: () => requestAPI<{ projects: IDescribeProject[] }>('projects').then(r => r.projects),
  listDatasets: (project: string) =>
    requestAPI<{ datasets: IDescribeDataset[] }>(apiPath('projects', project, 'datasets')).then(
      r => r.datasets
    ),
  createDataset: (project: string, name: string, description = '', searchable = true) =>
    requestAPI<IDescribeDataset>(apiPath('projects', project, 'datasets'), {
      method: 'POST',
      body: { name, description, searchable }
    }),
  deleteDataset: (project: string, name: string) =>
    requestAPI<void>(apiPath('projects', project, 'datasets', name), { method: 'DELETE' }),
  listFiles: (project: string, path: string) => {
    const [dataset, ...rest] = path.split('/');
    return requestAPI<IListFilesResponse>(
      apiPath('projects', project, 'datasets', dataset, 'files', rest.join('/'))
    );
  },
  preview: (project: string, path: string, lines = 20) => {
    const [dataset, ...rest] = path.split('/');
    return requestAPI<IPreviewResponse>(
      apiPath('projects', project, 'datasets', dataset, 'files', rest.join('/')),
      { query: { preview: 1, lines } }
    );
  },
  fileOperation: (project: string, path: string, op: 'mkdir' | 'move' | 'copy', to?: string) => {
    const [dataset, ...rest] = path.split('/');
    return requestAPI<IDescribeFile>(
      apiPath('projects', project, 'datasets', dataset, 'files', rest.join('/')),
      { method: 'POST', body: { op, to: to ?? null } }
    );
  },
  removeFile: (project: string, path: string) => {
    const [dataset, ...rest] = path.split('/');
    return requestAPI<void>(apiPath('projects', project, 'datasets', dataset, 'files', rest.join('/')), {
      method: 'DELETE'
    });
  },
  downloadUrl: (project: string, path: string) => {
    const [dataset, ...rest] = path.split('/');
    const settings = ServerConnection.makeSettings();
    return URLExt.join(
      settings.baseUrl,
      API_PREFIX,
      apiPath('projects', project, 'datasets', dataset, 'files', rest.join('/'))
    );
  },
  listTagSchemas: () =>
    requestAPI<{ tag_schemas: IDescribeTagSchema[] }>('tagschemas').then(r => r.tag_schemas),
  getTags: (project: string, path: string) =>
    requestAPI<ITagsResponse>(apiPath('projects', project, 'tags', path)).then(r => r.tags),
  setTag: (project: string, path: string, schema: string, value: any) =>
    requestAPI<ITagsResponse>(apiPath('projects', project, 'tags', path), {
      method: 'PUT',
      body: { schema, value }
    }).then(r => r.tags),
  deleteTag: (project: string, path: string, schema: string) =>
    requestAPI<void>(apiPath('projects', project, 'tags', path), {
      method: 'DELETE',
      query: { schema }
    }),
  search: (term: string, scope: SearchScope, project?: string, limit = 50) =>
    requestAPI<ISearchResponse>('search', { query: { term, scope, project, limit } }),
  listFeatureGroups: (project: string) =>
    requestAPI<{ feature_groups: IDescribeFeatureGroupSummary[] }>(
      apiPath('projects', project, 'featurestore', 'featuregroups')
    ).then(r => r.feature_groups),
  featureGroupVersions: (project: string, name: string) =>
    requestAPI<{ name: string; versions: IDescribeFeatureGroupVersion[] }>(
      apiPath('projects', project, 'featurestore', 'featuregroups', name)
    ).then(r => r.versions),
  describeFeatureGroup: (project: string, name: string, version: number) =>
    requestAPI<IDescribeFeatureGroup>(featureGroupPath(project, name, version)),
  deleteFeatureGroup: (project: string, name: string, version: number, force = false) =>
    requestAPI<void>(featureGroupPath(project, name, version), {
      method: 'DELETE',
      query: { force: force || undefined }
    }),
  featureGroupCommits: (project: string, name: string, version: number, limit?: number) =>
    requestAPI<{ commits: IDescribeCommit[] }>(featureGroupPath(project, name, version, 'commits'), {
      query: { limit }
    }).then(r => r.commits),
  featureGroupStatistics: (project: string, name: string, version: number, commitTime?: string) =>
    requestAPI<IDescribeFeatureGroupStatistics>(featureGroupPath(project, name, version, 'statistics'), {
      query: { commit_time: commitTime }
    }),
  previewFeatureGroup: (project: string, name: string, version: number, options: IPreviewOptions = {}) =>
    requestAPI<IPreviewFeatureGroupResponse>(featureGroupPath(project, name, version, 'preview'), {
      query: { n: options.n, as_of: options.asOf, online: options.online || undefined }
    }),
  featureGroupTags: (project: string, name: string, version: number) =>
    requestAPI<ITagsResponse>(featureGroupPath(project, name, version, 'tags')).then(r => r.tags),
  setFeatureGroupTag: (project: string, name: string, version: number, schema: string, value: any) =>
    requestAPI<ITagsResponse>(featureGroupPath(project, name, version, 'tags'), {
      method: 'PUT',
      body: { schema, value }
    }).then(r => r.tags),
  deleteFeatureGroupTag: (project: string, name: string, version: number, schema: string) =>
    requestAPI<void>(featureGroupPath(project, name, version, 'tags'), { method: 'DELETE', query: { schema } }),
  featureGroupExpectations: (project: string, name: string, version: number) =>
    requestAPI<IFeatureGroupExpectations>(featureGroupPath(project, name, version, 'expectations')),
  featureGroupValidations: (project: string, name: string, version: number, limit?: number) =>
    requestAPI<{ validations: IDescribeValidation[] }>(featureGroupPath(project, name, version, 'validations'), {
      query: { limit }
    }).then(r => r.validations),
  listTrainingDatasets: (project: string) =>
    requestAPI<{ training_datasets: IDescribeTrainingDatasetSummary[] }>(
      apiPath('projects', project, 'featurestore', 'trainingdatasets')
    ).then(r => r.training_datasets),
  trainingDatasetVersions: (project: string, name: string) =>
    requestAPI<{ name: string; versions: IDescribeTrainingDatasetVersion[] }>(
      apiPath('projects', project, 'featurestore', 'trainingdatasets', name)
    ).then(r => r.versions),
  describeTrainingDataset: (project: string, name: string, version: number) =>
    requestAPI<IDescribeTrainingDataset>(trainingDatasetPath(project, name, version)),
  deleteTrainingDataset: (project: string, name: string, version: number) =>
    requestAPI<void>(trainingDatasetPath(project, name, version), { method: 'DELETE' }),
  trainingDatasetStatistics: (project: string, name: string, version: number, split?: string) =>
    requestAPI<IDescribeTrainingDatasetStatistics>(trainingDatasetPath(project, name, version, 'statistics'), {
      query: { split: split || undefined }
    }),
  previewTrainingDataset: (project: string, name: string, version: number, split?: string, n?: number) =>
    requestAPI<IPreviewTrainingDatasetResponse>(trainingDatasetPath(project, name, version, 'preview'), {
      query: { split: split || undefined, n }
    }),
  trainingDatasetTags: (project: string, name: string, version: number) =>
    requestAPI<ITagsResponse>(trainingDatasetPath(project, name, version, 'tags')).then(r => r.tags),
  setTrainingDatasetTag: (project: string, name: string, version: number, schema: string, value: any) =>
    requestAPI<ITagsResponse>(trainingDatasetPath(project, name, version, 'tags'), {
      method: 'PUT',
      body: { schema, value }
    }).then(r => r.tags),
  deleteTrainingDatasetTag: (project: string, name: string, version: number, schema: string) =>
    requestAPI<void>(trainingDatasetPath(project, name, version, 'tags'), { method: 'DELETE', query: { schema } })
};

/** The REST path of one feature group version (and of a resource below it). */
export function featureGroupPath(project: string, name: string, version: number, sub = ''): string {
  return apiPath('projects', project, 'featurestore', 'featuregroups', name, 'versions', String(version), sub);
}

/** The REST path of one training dataset version (and of a resource below it). */
export function trainingDatasetPath(project: string, name: string, version: number, sub = ''): string {
  return apiPath('projects', project, 'featurestore', 'trainingdatasets', name, 'versions', String(version), sub);
}

export const CHUNK_SIZE = 1024 * 1024;

/** A random id for a resumable upload (the server keeps its chunks under this name). */
export function newUploadId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Upload a file in chunks through the REST upload; `onProgress` gets the fraction sent.
 * A chunk that fails is retried once, so a dropped connection does not lose the upload.
 */
export async function uploadFile(
  project: string,
  dest: string,
  file: Blob,
  onProgress: (fraction: number) => void = () => undefined,
  chunkSize = CHUNK_SIZE
): Promise<IDescribeUpload> {
  const [dataset, ...rest] = dest.split('/');
  const path = apiPath('projects', project, 'datasets', dataset, 'files', rest.join('/'));
  const total = file.size;
  const chunks = Math.max(1, Math.ceil(total / chunkSize));
  const uploadId = newUploadId();
  let last: IDescribeUpload | undefined;
  for (let index = 0; index < chunks; index++) {
    const blob = file.slice(index * chunkSize, Math.min(total, (index + 1) * chunkSize));
    const query = {
      upload_id: uploadId,
      chunk_index: index,
      total_chunks: chunks,
      total_size: total,
      chunk_size: chunkSize
    };
    const send = () => requestAPI<IDescribeUpload>(path, { method: 'PUT', raw: blob, query });
    try {
      last = await send();
    } catch (error) {
      if (error instanceof EolabApiError && error.status >= 400 && error.status < 500) {
        throw error;
      }
      last = await send();
    }
    onProgress((index + 1) / chunks);
  }
  return last as IDescribeUpload;
}

// ---- experiments (eolab/server/handlers/experiments.py) ----------------------------------

export type RunState = 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED' | 'EARLY_STOPPED' | 'LOST';
export const RUN_STATES: RunState[] = ['RUNNING', 'FINISHED', 'FAILED', 'KILLED', 'EARLY_STOPPED', 'LOST'];

export interface IDescribeTrialSummary {
  trial_id: string;
  params: Record<string, any>;
  state: RunState;
  metrics: Record<string, any> | null;
  error: string;
  started: string | null;
  finished: string | null;
}

export interface IDescribeExperimentSummary {
  run_id: string;
  name: string;
  description: string;
  kind: string;
  state: RunState;
  user: string;
  metric_key: string | null;
  direction: string | null;
  metrics: Record<string, any> | null;
  best_trial: string | null;
  trials: number;
  started: string;
  finished: string | null;
}

export interface IDescribeProducedModel {
  name: string;
  version: number;
  trial_id: string | null;
  metrics: Record<string, any>;
}

/** Per-step points of one metric: [[step, value], ...]. */
export type ICurve = [number, number | null][];

export interface IDescribeExperiment {
  run_id: string;
  name: string;
  description: string;
  kind: string;
  state: RunState;
  user: string;
  params: Record<string, any>;
  metric_key: string | null;
  direction: string | null;
  metrics: Record<string, any> | null;
  best_trial: string | null;
  seed: number;
  rerun_of: string | null;
  error: string;
  started: string;
  finished: string | null;
  location: string;
  environment: Record<string, any>;
  code: Record<string, any>;
  training_datasets: { name: string; version: number; commit_ids: any }[];
  models: IDescribeProducedModel[];
  trials: IDescribeTrialSummary[];
  /** per trial, per metric */
  curves: Record<string, Record<string, ICurve>>;
  tags: Record<string, any>;
  tensorboard: string | null;
}

export interface IDescribeTrial {
  run_id: string;
  trial_id: string;
  params: Record<string, any>;
  state: RunState;
  metrics: Record<string, any> | null;
  error: string;
  seed: number;
  started: string | null;
  finished: string | null;
  history: { name: string; step: number; value: number | null; time: number | null }[];
  stdout: string;
  stderr: string;
  artifacts: { name: string; size: number }[];
}

export interface IListExperimentsQuery {
  name?: string;
  state?: RunState;
  user?: string;
  sort?: string;
  order?: 'desc' | 'asc';
}

/** The REST path of the project's experiments (and of a run, a resource below it). */
export function experimentPath(project: string, ...rest: string[]): string {
  return apiPath('projects', project, 'experiments', ...rest);
}

export const experimentsApi = {
  list: (project: string, query: IListExperimentsQuery = {}) =>
    requestAPI<{ experiments: IDescribeExperimentSummary[] }>(experimentPath(project), {
      query: { ...query }
    }).then(r => r.experiments),
  describe: (project: string, run: string) => requestAPI<IDescribeExperiment>(experimentPath(project, run)),
  trial: (project: string, run: string, trial: string, tail?: number) =>
    requestAPI<IDescribeTrial>(experimentPath(project, run, 'trials', trial), { query: { tail } }),
  startTensorBoard: (project: string, run: string) =>
    requestAPI<{ run_id: string; url: string | null }>(experimentPath(project, run, 'tensorboard'), {
      method: 'POST'
    }),
  stopTensorBoard: (project: string, run: string) =>
    requestAPI<void>(experimentPath(project, run, 'tensorboard'), { method: 'DELETE' })
};

// ---- serving ------------------------------------------------------------------------------

export type ServingStatus = 'Starting' | 'Running' | 'Stopping' | 'Stopped' | 'Failed';
export type ModelServerKind = 'tensorflow' | 'python';

export interface IBatchingSettings {
  max_batch_size: number;
  batch_timeout_micros: number;
}

export interface ICreateOrUpdateServing {
  model_name: string;
  model_version?: number | null;
  model_server?: ModelServerKind;
  instances?: number;
  batching?: IBatchingSettings | boolean;
  inference_logging?: boolean;
  log_sampling?: number;
}

export interface IDescribeServingInstance {
  index: number;
  pid: number;
  port: number | null;
  status: ServingStatus;
  model_version: number;
  restarts: number;
  started_at: string;
  last_error: string;
  missed_probes: number;
}

export interface IDescribeServing {
  name: string;
  model_name: string;
  model_version: number;
  model_server: ModelServerKind;
  requested_instances: number;
  available_instances: number;
  batching: IBatchingSettings | null;
  inference_logging: boolean;
  log_sampling: number;
  topic: string;
  status: ServingStatus;
  reason: string;
  proxy_port: number | null;
  endpoint: string | null;
  inference_url: string;
  instances: IDescribeServingInstance[];
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface IDescribeInferenceRecord {
  partition: number;
  offset: number;
  timestamp: string;
  model_id: number;
  model_name: string;
  model_version: number;
  request_timestamp: string;
  response_http_code: number;
  inference_request: string;
  inference_response: string;
  latency_ms: number;
  instance: number;
}

export interface IDescribeFeatureDrift {
  input: string;
  index: number | null;
  feature: string;
  psi: number;
  flagged: boolean;
  reference: IHistogramBin[];
  served: number[];
}

export interface IDescribeMonitorReport {
  serving: string;
  requests: number;
  window_start: string | null;
  window_end: string | null;
  request_rate: number;
  error_rate: number;
  errors: Record<string, number>;
  latency_ms: Record<string, number>;
  predictions: IHistogramBin[];
  prediction_mean: number | null;
  drift: IDescribeFeatureDrift[];
  threshold: number;
  log_sampling: number;
  drift_note: string;
}

/** What a TF-Serving request through the eolab proxy answered: its status and JSON body. */
export interface IInferenceAnswer {
  status: number;
  body: any;
}

export function servingPath(project: string, ...rest: string[]): string {
  return apiPath('projects', project, 'servings', ...rest);
}

export const servingApi = {
  list: (project: string) =>
    requestAPI<{ servings: IDescribeServing[] }>(servingPath(project)).then(r => r.servings),
  describe: (project: string, name: string) => requestAPI<IDescribeServing>(servingPath(project, name)),
  createOrUpdate: (project: string, name: string, body: ICreateOrUpdateServing) =>
    requestAPI<IDescribeServing>(servingPath(project, name), { method: 'PUT', body }),
  action: (project: string, name: string, action: 'start' | 'stop') =>
    requestAPI<IDescribeServing>(servingPath(project, name), { method: 'POST', query: { action } }),
  remove: (project: string, name: string) => requestAPI<void>(servingPath(project, name), { method: 'DELETE' }),
  log: (project: string, name: string, limit = 20) =>
    requestAPI<{ name: string; topic: string; records: IDescribeInferenceRecord[] }>(
      servingPath(project, name, 'inferencelog'),
      { query: { limit } }
    ).then(r => r.records),
  monitoring: (project: string, name: string, reference?: string, version?: number) =>
    requestAPI<IDescribeMonitorReport>(servingPath(project, name, 'monitoring'), {
      query: { reference: reference || undefined, version }
    }),
  /** POST a TF-Serving body to `:verb`; TF Serving's `{"error"}` answers come back as they are. */
  infer: async (project: string, name: string, body: string, verb = 'predict'): Promise<IInferenceAnswer> => {
    const settings = ServerConnection.makeSettings();
    const path = `${apiPath('projects', project, 'inference', 'models')}/${encodeURIComponent(name)}:${verb}`;
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(URLExt.join(settings.baseUrl, API_PREFIX, path), { method: 'POST', body }, settings);
    } catch (error) {
      throw new EolabApiError(0, 'network', `The server cannot be reached: ${String(error)}`);
    }
    const text = await response.text();
    try {
      return { status: response.status, body: JSON.parse(text) };
    } catch {
      return { status: response.status, body: text };
    }
  }
};
