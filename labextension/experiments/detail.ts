/**
 * One run: its parameters and metrics, per-step curves (one line per trial), its trials (with a
 * parameter-against-metric scatter for searches), a trial's logs tail (refreshed while the run
 * runs), artifacts, environment, provenance (training datasets and the models it produced), and
 * a button that opens the run's TensorBoard.
 */
import { errorMessage, experimentsApi, IDescribeExperiment, IDescribeTrial } from '../api';
import { clear, formatSize, h, StatusLine } from '../dom';
import { formatNumber, utcText } from '../featurestore/format';
import { IScatterPoint, lineChart, scatterChart } from './charts';
import { numericMetrics, stateBadge } from './list';

export const LOG_REFRESH_MS = 2000;
const TAIL = 200;

export function valueText(value: any): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'number') {
    return formatNumber(value);
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function keyValueTable(values: Record<string, any>, cls: string, empty: string): HTMLElement {
  const entries = Object.entries(values);
  if (!entries.length) {
    return h('div', { class: `eolab-empty ${cls}` }, empty);
  }
  return h(
    'table',
    { class: `eolab-table eolab-exp-kv ${cls}` },
    h('tbody', {}, ...entries.map(([k, v]) => h('tr', { 'data-key': k }, h('th', {}, k), h('td', {}, valueText(v)))))
  );
}

function section(title: string, cls: string, ...children: (Node | null)[]): HTMLElement {
  return h('section', { class: `eolab-exp-section ${cls}` }, h('h4', {}, title), ...children);
}

/** Metric names that have per-step values in any trial, the run's metric first. */
export function curveMetrics(run: IDescribeExperiment): string[] {
  const names = new Set<string>();
  for (const curves of Object.values(run.curves)) {
    Object.keys(curves).forEach(n => names.add(n));
  }
  return [...names].sort((a, b) => (a === run.metric_key ? -1 : b === run.metric_key ? 1 : a.localeCompare(b)));
}

export class RunDetail {
  readonly node = h('div', { class: 'eolab-exp-detail' });
  current: IDescribeExperiment | null = null;
  private project: string | null = null;
  private trialId: string | null = null;
  private timer: number | null = null;
  private generation = 0;
  private readonly status = new StatusLine();
  private readonly logs = h('div', { class: 'eolab-exp-logs-body' });

  constructor(private readonly openDataset: (name: string, version: number) => void) {}

  async load(project: string, runId: string): Promise<void> {
    const generation = ++this.generation;
    this.stopRefresh();
    this.project = project;
    clear(this.node);
    this.node.appendChild(this.status.node);
    this.status.info('Loading the run…');
    try {
      const run = await experimentsApi.describe(project, runId);
      if (generation !== this.generation) {
        return;
      }
      this.current = run;
      this.trialId = run.best_trial || run.trials[0]?.trial_id || null;
      this.status.clear();
      this.render(run);
      await this.loadLogs(generation);
    } catch (error) {
      if (generation === this.generation) {
        this.status.error(errorMessage(error));
      }
    }
  }

  /** Stop refreshing (the detail was left). */
  hide(): void {
    ++this.generation;
    this.stopRefresh();
  }

  private stopRefresh(): void {
    if (this.timer !== null) {
      window.clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private render(run: IDescribeExperiment): void {
    const tensorboard = h('button', { class: 'jp-Button eolab-button eolab-exp-tensorboard' }, 'Open TensorBoard');
    tensorboard.addEventListener('click', () => void this.openTensorBoard(run));
    this.node.appendChild(
      h(
        'div',
        { class: 'eolab-exp-header' },
        h('span', { class: 'eolab-exp-title' }, run.name),
        stateBadge(run.state),
        h('span', { class: 'eolab-meta' }, `${run.kind} · ${run.user} · ${utcText(run.started)}${run.finished ? ` → ${utcText(run.finished)}` : ''}`),
        tensorboard
      )
    );
    this.node.appendChild(h('div', { class: 'eolab-meta eolab-exp-runid' }, `${run.run_id} · ${run.location} · seed ${run.seed}`));
    if (run.description) {
      this.node.appendChild(h('p', { class: 'eolab-exp-description' }, run.description));
    }
    if (run.error) {
      this.node.appendChild(h('pre', { class: 'eolab-exp-error' }, run.error));
    }
    this.node.appendChild(section('Parameters', 'eolab-exp-params', keyValueTable(run.params, 'eolab-exp-params-table', 'No parameters.')));
    const metricTitle = run.metric_key ? `Metrics (${run.metric_key}, ${run.direction ?? 'max'}${run.best_trial ? `, best ${run.best_trial}` : ''})` : 'Metrics';
    this.node.appendChild(section(metricTitle, 'eolab-exp-metrics', keyValueTable(run.metrics || {}, 'eolab-exp-metrics-table', 'No metrics.')));
    this.node.appendChild(this.curvesSection(run));
    this.node.appendChild(this.trialsSection(run));
    if (run.trials.length > 1) {
      this.node.appendChild(this.searchSection(run));
    }
    this.node.appendChild(section('Logs and artifacts', 'eolab-exp-logs', this.trialPicker(run), this.logs));
    this.node.appendChild(this.provenanceSection(run));
    this.node.appendChild(this.environmentSection(run));
  }

  private curvesSection(run: IDescribeExperiment): HTMLElement {
    const metrics = curveMetrics(run);
    if (!metrics.length) {
      return section('Curves', 'eolab-exp-curves-section', h('div', { class: 'eolab-empty' }, 'No per-step metrics: log them with experiment.log_metric or KerasCallback.'));
    }
    const picker = h('select', { class: 'eolab-exp-curve-metric', 'aria-label': 'Metric to draw' }, ...metrics.map(m => h('option', { value: m }, m)));
    const holder = h('div', {});
    const draw = () => {
      clear(holder);
      const metric = picker.value;
      holder.appendChild(
        lineChart(
          run.trials.map(t => ({ label: t.trial_id, points: run.curves[t.trial_id]?.[metric] || [] })),
          metric
        )
      );
    };
    picker.addEventListener('change', draw);
    draw();
    return section('Curves', 'eolab-exp-curves-section', picker, holder);
  }

  private trialsSection(run: IDescribeExperiment): HTMLElement {
    const params = [...new Set(run.trials.flatMap(t => Object.keys(t.params)))];
    const metrics = [...new Set(run.trials.flatMap(t => Object.keys(numericMetrics(t.metrics))))].sort();
    const table = h(
      'table',
      { class: 'eolab-table eolab-exp-trials' },
      h('thead', {}, h('tr', {}, h('th', {}, 'trial'), ...params.map(p => h('th', {}, p)), h('th', {}, 'state'), ...metrics.map(m => h('th', {}, m)), h('th', {}, 'error')))
    );
    const body = h('tbody', {});
    for (const trial of run.trials) {
      const values = numericMetrics(trial.metrics);
      const row = h(
        'tr',
        { class: `eolab-exp-trial${trial.trial_id === run.best_trial ? ' eolab-exp-best' : ''}`, 'data-trial': trial.trial_id, tabindex: 0 },
        h('td', {}, trial.trial_id),
        ...params.map(p => h('td', {}, valueText(trial.params[p]))),
        h('td', {}, stateBadge(trial.state)),
        ...metrics.map(m => h('td', { class: 'eolab-num' }, m in values ? formatNumber(values[m]) : '')),
        h('td', { class: 'eolab-exp-trial-error' }, trial.error)
      );
      row.addEventListener('click', () => this.selectTrial(trial.trial_id));
      body.appendChild(row);
    }
    table.appendChild(body);
    return section(`Trials (${run.trials.length})`, 'eolab-exp-trials-section', h('div', { class: 'eolab-exp-table-wrap' }, table));
  }

  /** The parallel-search view: a parameter (chosen) against the run's metric, one dot a trial. */
  private searchSection(run: IDescribeExperiment): HTMLElement {
    const params = [...new Set(run.trials.flatMap(t => Object.keys(t.params).filter(p => typeof t.params[p] === 'number')))];
    const metrics = [...new Set(run.trials.flatMap(t => Object.keys(numericMetrics(t.metrics))))];
    const metric = run.metric_key && metrics.includes(run.metric_key) ? run.metric_key : metrics[0];
    if (!params.length || !metric) {
      return section('Search', 'eolab-exp-search', h('div', { class: 'eolab-empty' }, 'No numeric parameter and metric to plot.'));
    }
    const picker = h('select', { class: 'eolab-exp-search-param', 'aria-label': 'Parameter on the x axis' }, ...params.map(p => h('option', { value: p }, p)));
    const holder = h('div', {});
    const draw = () => {
      clear(holder);
      const param = picker.value;
      const points: IScatterPoint[] = [];
      for (const t of run.trials) {
        const y = numericMetrics(t.metrics)[metric];
        const x = t.params[param];
        if (typeof x === 'number' && y !== undefined) {
          points.push({ x, y, label: t.trial_id, best: t.trial_id === run.best_trial });
        }
      }
      holder.appendChild(scatterChart(points, param, metric));
    };
    picker.addEventListener('change', draw);
    draw();
    return section(`Search: ${metric} by parameter`, 'eolab-exp-search', picker, holder);
  }

  private trialPicker(run: IDescribeExperiment): HTMLElement {
    const picker = h(
      'select',
      { class: 'eolab-exp-log-trial', 'aria-label': 'Trial whose logs to show' },
      ...run.trials.map(t => h('option', { value: t.trial_id, selected: t.trial_id === this.trialId }, `${t.trial_id} (${t.state})`))
    );
    picker.addEventListener('change', () => this.selectTrial(picker.value));
    return picker;
  }

  private selectTrial(trialId: string): void {
    this.trialId = trialId;
    const picker = this.node.querySelector<HTMLSelectElement>('.eolab-exp-log-trial');
    if (picker) {
      picker.value = trialId;
    }
    this.node.querySelectorAll('.eolab-exp-trial').forEach(row => row.classList.toggle('eolab-exp-selected', row.getAttribute('data-trial') === trialId));
    this.stopRefresh();
    void this.loadLogs(this.generation);
  }

  private async loadLogs(generation: number): Promise<void> {
    const run = this.current;
    if (!run || !this.project || !this.trialId) {
      clear(this.logs);
      this.logs.appendChild(h('div', { class: 'eolab-empty' }, 'No trial.'));
      return;
    }
    let trial: IDescribeTrial;
    try {
      trial = await experimentsApi.trial(this.project, run.run_id, this.trialId, TAIL);
    } catch (error) {
      if (generation === this.generation) {
        clear(this.logs);
        this.logs.appendChild(h('div', { class: 'eolab-status eolab-status-error' }, errorMessage(error)));
      }
      return;
    }
    if (generation !== this.generation || trial.trial_id !== this.trialId) {
      return;
    }
    this.renderLogs(trial);
    if (trial.state === 'RUNNING' || run.state === 'RUNNING') {
      this.timer = window.setTimeout(() => {
        this.timer = null;
        void this.refreshRunning(generation);
      }, LOG_REFRESH_MS);
    }
  }

  /** While running: the logs again, and the run itself once it has ended. */
  private async refreshRunning(generation: number): Promise<void> {
    if (generation !== this.generation || !this.project || !this.current) {
      return;
    }
    const run = await experimentsApi.describe(this.project, this.current.run_id).catch(() => null);
    if (generation !== this.generation) {
      return;
    }
    if (run && run.state !== 'RUNNING') {
      await this.load(this.project, run.run_id);
      return;
    }
    await this.loadLogs(generation);
  }

  private renderLogs(trial: IDescribeTrial): void {
    clear(this.logs);
    const live = trial.state === 'RUNNING' ? h('span', { class: 'eolab-badge eolab-exp-live' }, 'live') : null;
    this.logs.appendChild(h('div', { class: 'eolab-meta' }, `${trial.trial_id} · params ${JSON.stringify(trial.params)} · seed ${trial.seed} `, live));
    if (trial.error) {
      this.logs.appendChild(h('pre', { class: 'eolab-exp-error eolab-exp-trial-traceback' }, trial.error));
    }
    this.logs.appendChild(h('div', { class: 'eolab-exp-log-title' }, `stdout (last ${TAIL} lines)`));
    this.logs.appendChild(h('pre', { class: 'eolab-exp-log eolab-exp-stdout' }, trial.stdout || '(empty)'));
    this.logs.appendChild(h('div', { class: 'eolab-exp-log-title' }, 'stderr'));
    this.logs.appendChild(h('pre', { class: 'eolab-exp-log eolab-exp-stderr' }, trial.stderr || '(empty)'));
    this.logs.appendChild(h('div', { class: 'eolab-exp-log-title' }, 'artifacts'));
    this.logs.appendChild(
      trial.artifacts.length
        ? h('ul', { class: 'eolab-exp-artifacts' }, ...trial.artifacts.map(a => h('li', { 'data-name': a.name }, a.name, h('span', { class: 'eolab-meta' }, ` ${formatSize(a.size)}`))))
        : h('div', { class: 'eolab-empty eolab-exp-artifacts' }, 'No artifacts.')
    );
  }

  private provenanceSection(run: IDescribeExperiment): HTMLElement {
    const datasets = run.training_datasets.length
      ? h(
          'ul',
          { class: 'eolab-exp-datasets' },
          ...run.training_datasets.map(d => {
            const link = h('a', { href: '#', class: 'eolab-exp-dataset', 'data-name': d.name, 'data-version': d.version }, `${d.name} v${d.version}`);
            link.addEventListener('click', event => {
              event.preventDefault();
              this.openDataset(d.name, d.version);
            });
            return h('li', {}, link, d.commit_ids ? h('span', { class: 'eolab-meta' }, ` commits ${JSON.stringify(d.commit_ids)}`) : '');
          })
        )
      : h('div', { class: 'eolab-empty eolab-exp-datasets' }, 'No training datasets logged.');
    const models = run.models.length
      ? h(
          'ul',
          { class: 'eolab-exp-models' },
          ...run.models.map(m =>
            h('li', { 'data-name': m.name, 'data-version': m.version }, `${m.name} v${m.version}`, h('span', { class: 'eolab-meta' }, ` ${m.trial_id ?? ''} ${JSON.stringify(m.metrics)}`))
          )
        )
      : h('div', { class: 'eolab-empty eolab-exp-models' }, 'No models exported by this run.');
    return section('Provenance', 'eolab-exp-provenance', h('div', { class: 'eolab-exp-log-title' }, 'training datasets'), datasets, h('div', { class: 'eolab-exp-log-title' }, 'models'), models);
  }

  private environmentSection(run: IDescribeExperiment): HTMLElement {
    const shown: Record<string, any> = {};
    for (const [key, value] of Object.entries(run.environment)) {
      shown[key] = Array.isArray(value) ? `${value.length} entries` : value;
    }
    const code: Record<string, any> = { function: run.code.function, module: run.code.module, launcher: run.code.launcher };
    return section(
      'Environment and code',
      'eolab-exp-environment',
      keyValueTable(shown, 'eolab-exp-env-table', 'No environment recorded.'),
      keyValueTable(code, 'eolab-exp-code-table', '')
    );
  }

  private async openTensorBoard(run: IDescribeExperiment): Promise<void> {
    if (!this.project) {
      return;
    }
    this.status.info('Starting TensorBoard…');
    try {
      const started = await experimentsApi.startTensorBoard(this.project, run.run_id);
      if (started.url) {
        this.status.info(`TensorBoard: ${started.url}`);
        window.open(started.url, '_blank', 'noopener');
      }
    } catch (error) {
      this.status.error(errorMessage(error));
    }
  }
}
