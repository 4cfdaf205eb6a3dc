"""Typed request and response bodies of the REST API (pydantic), mirrored by labextension's api.ts.

Responses are built from the SDK's dataclasses (``from_attributes``); the ORM never leaks here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


class Role(StrEnum):
    data_owner = "data_owner"
    data_scientist = "data_scientist"


class SearchScope(StrEnum):
    everything = "everything"
    projects = "projects"
    datasets = "datasets"
    featurestore = "featurestore"
    experiments = "experiments"
    models = "models"


class ErrorBody(Model):
    code: str
    message: str
    details: Any = None


class ErrorResponse(Model):
    error: ErrorBody


# ---- users and keys -----------------------------------------------------------------------


class CreateUser(Model):
    name: str
    email: str = ""
    admin: bool = False


class DescribeUser(Model):
    name: str
    email: str
    is_admin: bool
    created_at: datetime


class ListUsersResponse(Model):
    users: list[DescribeUser]


class CreateApiKey(Model):
    name: str
    scopes: list[str] = Field(min_length=1)
    expires_in_days: float | None = None
    project: str | None = None


class DescribeApiKey(Model):
    name: str
    prefix: str
    user: str
    project: str | None
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked: bool
    last_used_at: datetime | None


class CreateApiKeyResponse(Model):
    key: str = Field(description="the secret: shown once, stored only hashed")
    info: DescribeApiKey


class ListApiKeysResponse(Model):
    api_keys: list[DescribeApiKey]


# ---- projects -----------------------------------------------------------------------------


class CreateProject(Model):
    name: str
    description: str = ""


class DescribeMember(Model):
    user: str
    role: Role
    added_at: datetime


class DescribeProject(Model):
    name: str
    description: str
    owner: str
    created_at: datetime
    role: Role | None
    members: list[DescribeMember]


class ListProjectsResponse(Model):
    projects: list[DescribeProject]


class AddMember(Model):
    user: str
    role: Role = Role.data_scientist


class UpdateMember(Model):
    role: Role


# ---- datasets and files -------------------------------------------------------------------


class CreateDataset(Model):
    name: str
    description: str = ""
    searchable: bool = True


class DescribeDataset(Model):
    name: str
    description: str
    searchable: bool
    created_by: str
    created_at: datetime


class ListDatasetsResponse(Model):
    datasets: list[DescribeDataset]


class DescribeFile(Model):
    name: str
    path: str
    is_dir: bool
    size: int
    modified: datetime


class ListFilesResponse(Model):
    path: str
    files: list[DescribeFile]


class FileOp(StrEnum):
    mkdir = "mkdir"
    move = "move"
    copy = "copy"


class FileOperation(Model):
    op: FileOp
    to: str | None = Field(None, description="destination path (dataset/...) for move and copy")
    overwrite: bool = False


class PreviewResponse(Model):
    model_config = ConfigDict(extra="allow")
    path: str
    kind: str
    size: int


class DescribeUpload(Model):
    upload_id: str
    dest: str
    total_chunks: int
    received: list[int]
    complete: bool
    file: DescribeFile | None = None


# ---- tags ---------------------------------------------------------------------------------


class CreateTagSchema(Model):
    name: str
    schema_: dict[str, Any] = Field(alias="schema")
    description: str = ""
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class DescribeTagSchema(Model):
    name: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema")
    created_at: datetime
    model_config = ConfigDict(populate_by_name=True, from_attributes=True)


class ListTagSchemasResponse(Model):
    tag_schemas: list[DescribeTagSchema]


class SetTag(Model):
    schema_: str = Field(alias="schema")
    value: Any
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class TagsResponse(Model):
    path: str
    tags: dict[str, Any]


# ---- search -------------------------------------------------------------------------------


class DescribeHighlight(Model):
    field: str
    text: str
    spans: list[tuple[int, int]]


class DescribeSearchHit(Model):
    kind: str
    ref: str
    project: str | None
    name: str
    description: str
    highlights: list[DescribeHighlight]


class SearchResponse(Model):
    term: str
    scope: SearchScope
    total: int
    hits: list[DescribeSearchHit]


class WhoAmI(Model):
    user: DescribeUser
    scopes: list[str] | None
    project: str | None = None


# ---- feature store: feature groups --------------------------------------------------------


class DescribeCommit(Model):
    commit_id: int = Field(description="the Delta table version")
    committed_on: datetime
    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    operation: str | None = None


class DescribeFeatureGroupSummary(Model):
    name: str
    versions: list[int]
    latest_version: int
    description: str = Field(description="of the latest version")
    online_enabled: bool = Field(description="of the latest version")
    latest_commit: DescribeCommit | None = Field(description="of the latest version")


class ListFeatureGroupsResponse(Model):
    feature_groups: list[DescribeFeatureGroupSummary]


class DescribeFeature(Model):
    name: str
    type: str
    primary: bool
    partition: bool
    event_time: bool


class DescribeFeatureGroupVersion(Model):
    name: str
    version: int
    description: str
    online_enabled: bool
    num_features: int
    creator: str | None
    created: datetime | None
    latest_commit: DescribeCommit | None


class ListFeatureGroupVersionsResponse(Model):
    name: str
    versions: list[DescribeFeatureGroupVersion]


class DescribeFeatureGroup(Model):
    name: str
    version: int
    description: str
    features: list[DescribeFeature]
    primary_key: list[str]
    event_time: str | None
    partition_key: list[str]
    online_enabled: bool
    statistics_config: dict[str, Any]
    location: str | None = Field(description="the Delta table's folder, relative to the project")
    creator: str | None
    created: datetime | None
    row_count: int = Field(description="rows of the latest snapshot")
    latest_commit: DescribeCommit | None
    tags: dict[str, Any]


class ListCommitsResponse(Model):
    name: str
    version: int
    commits: list[DescribeCommit] = Field(description="newest first")


class DescribeHistogramBin(Model):
    lower: float
    upper: float
    count: int


class DescribeFeatureStatistics(Model):
    """hsfs' descriptive statistics of one feature (extra keys: exact uniqueness...)."""

    model_config = ConfigDict(from_attributes=True, extra="allow")
    name: str
    type: str
    count: int | None = None
    num_non_null_values: int | None = None
    num_null_values: int | None = None
    completeness: float | None = None
    approx_num_distinct_values: int | None = None
    min: Any = None
    max: Any = None
    sum: Any = None
    mean: float | None = None
    stddev: float | None = None
    histogram: list[DescribeHistogramBin] | None = None


class DescribeFeatureGroupStatistics(Model):
    name: str
    version: int
    commit_id: int
    commit_time: datetime | None
    row_count: int
    features: list[DescribeFeatureStatistics]
    correlations: dict[str, dict[str, float | None]]


class DescribePreviewColumn(Model):
    name: str
    type: str
    array: bool = Field(description="cells are {length, head}: the length and first values")


class PreviewFeatureGroupResponse(Model):
    name: str
    version: int
    storage: str = Field(description="offline (Delta) or online")
    as_of: datetime | None
    commit_id: int | None = Field(description="the snapshot read (offline)")
    num_rows: int = Field(description="rows in that snapshot or online table")
    columns: list[DescribePreviewColumn]
    rows: list[dict[str, Any]] = Field(
        description="NaN and infinities as the strings 'NaN', 'Infinity', '-Infinity'"
    )


# ---- feature store: training datasets -----------------------------------------------------


class DescribeSplit(Model):
    name: str = Field(description="'' for an unsplit training dataset")
    fraction: float | None = Field(description="the fraction asked for (None: unsplit)")
    size: int = Field(description="rows written to it")


class DescribeTrainingDatasetFeature(Model):
    name: str
    type: str
    kind: str | None = Field(description="int64, float, string...: the leaf kind of an array")
    dims: list[int] | None = Field(description="array dimensions as stored ([] for scalars)")
    shape: list[int] | None = Field(description="the shape tf_data gives it")
    nullable: bool
    label: bool


class DescribeProvenance(Model):
    name: str = Field(description="a feature group")
    version: int
    commit_id: int | None = Field(description="the Delta commit the query read")


class DescribeTrainingDatasetSummary(Model):
    name: str
    versions: list[int]
    latest_version: int
    description: str = Field(description="of the latest version")
    data_format: str = Field(description="of the latest version")
    row_count: int = Field(description="of the latest version")
    created: datetime | None = Field(description="of the latest version")


class ListTrainingDatasetsResponse(Model):
    training_datasets: list[DescribeTrainingDatasetSummary]


class DescribeTrainingDatasetVersion(Model):
    name: str
    version: int
    description: str
    data_format: str
    splits: list[DescribeSplit]
    row_count: int
    creator: str | None
    created: datetime | None


class ListTrainingDatasetVersionsResponse(Model):
    name: str
    versions: list[DescribeTrainingDatasetVersion]


class DescribeTrainingDataset(Model):
    name: str
    version: int
    description: str
    data_format: str = Field(description="tfrecords, parquet, csv, tsv or npy")
    splits: list[DescribeSplit] = Field(description="one entry, named '', when unsplit")
    row_count: int
    features: list[DescribeTrainingDatasetFeature]
    label: list[str]
    primary_key: list[str] = Field(description="the key the rows were split by")
    seed: int
    provenance: list[DescribeProvenance] = Field(description="empty when built from a DataFrame")
    statistics_config: dict[str, Any]
    location: str | None = Field(description="the folder of its files, relative to the project")
    creator: str | None
    created: datetime | None
    updated: datetime | None
    tags: dict[str, Any]


class DescribeTrainingDatasetStatistics(Model):
    name: str
    version: int
    split: str | None = Field(description="None for an unsplit training dataset")
    row_count: int
    features: list[DescribeFeatureStatistics]
    correlations: dict[str, dict[str, float | None]]


class PreviewTrainingDatasetResponse(Model):
    name: str
    version: int
    split: str | None = Field(description="None: every split, in order")
    num_rows: int = Field(description="rows in that split (or in all)")
    columns: list[DescribePreviewColumn]
    rows: list[dict[str, Any]] = Field(
        description="NaN and infinities as the strings 'NaN', 'Infinity', '-Infinity'"
    )


# ---- feature store: expectations and validations --------------------------------------------


class ValidationType(StrEnum):
    NONE = "NONE"
    STRICT = "STRICT"
    WARNING = "WARNING"
    ALL = "ALL"


class ValidationStatus(StrEnum):
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILURE = "FAILURE"


class ValidationRule(Model):
    """A Deequ rule as Hopsworks writes it (camelCase); ``min``/``max`` bound the measure."""

    model_config = ConfigDict(from_attributes=True, extra="forbid", populate_by_name=True)
    name: str = Field(description="HAS_MIN, HAS_COMPLETENESS, IS_CONTAINED_IN...")
    level: str = Field("ERROR", description="ERROR or WARNING")
    min: float | None = None
    max: float | None = None
    value: float | None = Field(
        None, description="the exact expected value; the quantile for HAS_APPROX_QUANTILE"
    )
    pattern: str | None = None
    accepted_type: str | None = Field(None, alias="acceptedType")
    legal_values: list[Any] | None = Field(None, alias="legalValues")


class CreateExpectation(Model):
    name: str
    description: str = ""
    features: list[str]
    rules: list[ValidationRule]


class DescribeExpectation(Model):
    name: str
    description: str
    features: list[str]
    rules: list[ValidationRule]
    creator: str | None = None
    created: datetime | None = None


class ListExpectationsResponse(Model):
    expectations: list[DescribeExpectation]


class AttachExpectation(Model):
    expectation: str = Field(description="the name of a saved expectation")


class SetValidationType(Model):
    validation_type: ValidationType


class FeatureGroupExpectationsResponse(Model):
    name: str
    version: int
    validation_type: ValidationType
    expectations: list[DescribeExpectation]


class DescribeRuleResult(Model):
    features: list[str]
    message: str
    rule: ValidationRule
    status: ValidationStatus
    value: float | None


class DescribeExpectationResult(Model):
    expectation: DescribeExpectation
    results: list[DescribeRuleResult]
    status: ValidationStatus


class ValidationCounts(Model):
    success: int
    warning: int
    failure: int


class ValidatedFeatureGroup(Model):
    name: str
    version: int | None


class DescribeValidation(Model):
    """A validation report, shaped like Hopsworks' FeatureGroupValidation (camelCase)."""

    model_config = ConfigDict(from_attributes=True, extra="forbid", populate_by_name=True)
    validation_id: int | None = Field(alias="validationId", description="None for a dry run")
    validation_time: datetime = Field(alias="validationTime")
    commit_time: datetime | None = Field(alias="commitTime")
    commit_id: int | None = Field(alias="commitId")
    feature_group: ValidatedFeatureGroup = Field(alias="featureGroup")
    validation_type: ValidationType | None = Field(alias="validationType")
    ingested: bool | None = Field(description="did the insert go ahead (None: a dry run)")
    row_count: int = Field(alias="rowCount")
    status: ValidationStatus
    summary: ValidationCounts
    expectation_results: list[DescribeExpectationResult] = Field(alias="expectationResults")


class ListValidationsResponse(Model):
    name: str
    version: int
    validations: list[DescribeValidation]


# ---- experiments ----------------------------------------------------------------------------


class DescribeTrialSummary(Model):
    trial_id: str
    params: dict[str, Any]
    state: str
    metrics: dict[str, Any] | None
    error: str = Field(description="the first line of the error of a failed trial")
    started: datetime | None
    finished: datetime | None


class DescribeExperimentSummary(Model):
    run_id: str
    name: str
    description: str
    kind: str = Field(description="launch, grid_search, random_search, mirrored, lagom...")
    state: str
    user: str
    metric_key: str | None
    direction: str | None
    metrics: dict[str, Any] | None
    best_trial: str | None
    trials: int
    started: datetime
    finished: datetime | None


class ListExperimentsResponse(Model):
    experiments: list[DescribeExperimentSummary]


class DescribeProducedModel(Model):
    name: str
    version: int
    trial_id: str | None
    metrics: dict[str, Any]


class DescribeExperiment(Model):
    run_id: str
    name: str
    description: str
    kind: str
    state: str
    user: str
    params: dict[str, Any]
    metric_key: str | None
    direction: str | None
    metrics: dict[str, Any] | None
    best_trial: str | None
    seed: int
    rerun_of: str | None
    error: str
    started: datetime
    finished: datetime | None
    location: str = Field(description="the run folder, relative to the project")
    environment: dict[str, Any]
    code: dict[str, Any]
    training_datasets: list[dict[str, Any]]
    models: list[DescribeProducedModel]
    trials: list[DescribeTrialSummary]
    curves: dict[str, dict[str, list[list[float | None]]]] = Field(
        description="per trial, per metric: [[step, value], ...] logged during training"
    )
    tags: dict[str, Any]
    tensorboard: str | None = Field(description="the URL of the run's TensorBoard if running")


class DescribeStep(Model):
    name: str
    step: int
    value: float | None
    time: float | None


class DescribeArtifact(Model):
    name: str
    size: int


class DescribeTrial(Model):
    run_id: str
    trial_id: str
    params: dict[str, Any]
    state: str
    metrics: dict[str, Any] | None
    error: str
    seed: int
    started: datetime | None
    finished: datetime | None
    history: list[DescribeStep]
    stdout: str = Field(description="the last ?tail= lines of the trial's stdout")
    stderr: str = Field(description="the last ?tail= lines of the trial's stderr")
    artifacts: list[DescribeArtifact]


class DescribeTensorBoard(Model):
    run_id: str
    url: str | None


# ---- model serving ----------------------------------------------------------------------------


class ServingStatus(StrEnum):
    starting = "Starting"
    running = "Running"
    stopping = "Stopping"
    stopped = "Stopped"
    failed = "Failed"


class ModelServerKind(StrEnum):
    tensorflow = "tensorflow"
    python = "python"


class BatchingSettings(Model):
    max_batch_size: int = 32
    batch_timeout_micros: int = 2000


class CreateOrUpdateServing(Model):
    model_name: str
    model_version: int | None = Field(None, description="None: the model's latest version")
    model_server: ModelServerKind = ModelServerKind.tensorflow
    instances: int = 1
    batching: BatchingSettings | bool = False
    inference_logging: bool = True
    topic: str | None = None
    log_sampling: float = Field(
        1.0, description="fraction in (0, 1] of successful requests logged; failures always are"
    )


class DescribeServingInstance(Model):
    index: int
    pid: int
    port: int | None
    status: ServingStatus
    model_version: int
    restarts: int
    started_at: str
    last_error: str
    missed_probes: int = Field(0, description="health probes missed in a row (out of rotation)")


class DescribeServing(Model):
    name: str
    model_name: str
    model_version: int
    model_server: ModelServerKind
    requested_instances: int
    available_instances: int
    batching: BatchingSettings | None
    inference_logging: bool
    log_sampling: float
    topic: str
    status: ServingStatus
    reason: str
    proxy_port: int | None
    endpoint: str | None = Field(description="TF-Serving base URL on the server's machine")
    inference_url: str = ""
    instances: list[DescribeServingInstance]
    created_by: str
    created_at: datetime
    updated_at: datetime


class ListServingsResponse(Model):
    servings: list[DescribeServing]


class DescribeInferenceRecord(Model):
    partition: int
    offset: int
    timestamp: datetime
    model_id: int
    model_name: str
    model_version: int
    request_timestamp: datetime
    response_http_code: int
    inference_request: str
    inference_response: str
    latency_ms: float
    instance: int


class ListInferenceLogResponse(Model):
    name: str
    topic: str
    records: list[DescribeInferenceRecord]


class DescribeServingLogs(Model):
    """The last lines of one of a serving's own log files (supervisor or an instance)."""

    serving: str
    sources: list[str] = Field(description="the log sources on disk: supervisor, instance-<i>")
    source: str
    lines: list[str]
    size_bytes: int
    truncated: bool = Field(description="the file holds lines before these")
    modified_at: datetime | None


class DescribeFeatureDrift(Model):
    input: str
    index: int | None = Field(description="the channel (image) or column (table) of the input")
    feature: str
    psi: float
    flagged: bool
    reference: list[dict[str, float]] = Field(description="reference bins: lower, upper, count")
    served: list[int] = Field(description="served values counted in the reference bins")


class DescribeMonitorReport(Model):
    """``MonitorReport.to_dict``: traffic, errors, latency, predictions and input drift."""

    serving: str
    requests: int
    window_start: datetime | None
    window_end: datetime | None
    request_rate: float = Field(description="requests per second over the window")
    error_rate: float
    errors: dict[str, int] = Field(description="count of each HTTP error code")
    latency_ms: dict[str, float] = Field(description="p50, p95, p99, mean")
    predictions: list[dict[str, float]] = Field(description="histogram bins: lower, upper, count")
    prediction_mean: float | None
    drift: list[DescribeFeatureDrift]
    threshold: float
    log_sampling: float = Field(1.0, description="request rate and error rate are estimated")
    drift_note: str = Field("", description="why drift was not computed")


class InferenceRequest(Model):
    """TF Serving's request body: ``instances`` (rows) or ``inputs`` (columns) for predict,
    ``examples`` (and ``context``) for classify and regress."""

    signature_name: str | None = None
    instances: Any = None
    inputs: Any = None
    context: dict[str, Any] | None = None
    examples: list[Any] | None = None


class TFServingError(Model):
    """TF Serving's error body, which every error of the inference routes uses."""

    error: str


class InferenceResponse(Model):
    """TF Serving's answer: ``predictions`` (rows), ``outputs`` (columns) or ``result``;
    errors are ``{"error": "…"}``."""

    predictions: Any = None
    outputs: Any = None
    result: Any = None
