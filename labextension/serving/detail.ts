/**
 * One serving in the Serving panel: its endpoints, ports and instances (with their last errors),
 * its own log files (`logs.ts`), a live tail of its inference log, a request tester (JSON body
 * in, TF Serving's answer out) and its monitoring (latency, request rate, prediction histogram,
 * drift flags).
 */
import { errorMessage, IDescribeInferenceRecord, IDescribeServing, servingApi } from '../api';
import { clear, h, StatusLine } from '../dom';
import { histogramChart } from '../featurestore/charts';
import { formatNumber, formatPercent, utcText } from '../featurestore/format';
import { driftChart, latencyChart } from './charts';
import { ServingLogs } from './logs';

export const LOG_TAIL = 20;
export const LOG_REFRESH_MS = 3000;
const SHOWN_CHARS = 120;

function short(text: string): string {
  return text.length <= SHOWN_CHARS ? text : text.slice(0, SHOWN_CHARS - 1) + '…';
}

/** HH:MM:SS of an ISO time (UTC): the log's column is narrow, its tooltip has the date. */
function clockTime(iso: string): string {
  const match = /T(\d\d:\d\d:\d\d)/.exec(iso);
  return match ? match[1] : iso;
}

function properties(rows: [string, string][]): HTMLTableElement {
  return h(
    'table',
    { class: 'eolab-sv-props' },
    h('tbody', {}, ...rows.map(([key, value]) => h('tr', { 'data-key': key }, h('th', {}, key), h('td', {}, value))))
  );
}

export class ServingDetail {
  readonly node = h('div', { class: 'eolab-sv-detail' });
  private readonly status = new StatusLine();
  private readonly summary = h('div', { class: 'eolab-sv-summary' });
  private readonly logBody = h('tbody', {});
  private readonly logNote = h('div', { class: 'eolab-sv-note' });
  private readonly body = h('textarea', { class: 'eolab-sv-body', rows: 4, spellcheck: 'false', 'aria-label': 'request body' });
  private readonly verb = h('select', { class: 'eolab-sv-verb', 'aria-label': 'verb' },
    h('option', { value: 'predict' }, ':predict'), h('option', { value: 'classify' }, ':classify'),
    h('option', { value: 'regress' }, ':regress'));
  private readonly response = h('pre', { class: 'eolab-sv-response' });
  private readonly reference = h('input', { class: 'eolab-sv-reference', placeholder: 'reference training dataset (optional)' });
  private readonly monitorView = h('div', { class: 'eolab-sv-monitor' });
  private readonly logs = new ServingLogs();
  private project: string | null = null;
  current: IDescribeServing | null = null;
  private timer: number | null = null;

  constructor() {
    const send = h('button', { class: 'jp-Button eolab-button eolab-sv-send' }, 'Send');
    send.addEventListener('click', () => void this.send());
    const monitor = h('button', { class: 'jp-Button eolab-button eolab-sv-monitor-button' }, 'Monitor');
    monitor.addEventListener('click', () => void this.monitor());
    this.node.append(
      this.status.node,
      this.summary,
      this.logs.node,
      h('h4', {}, 'Inference log'),
      this.logNote,
      h('table', { class: 'eolab-sv-log' },
        h('thead', {}, h('tr', {}, ...['time', 'code', 'ms', 'inst.', 'request', 'response'].map(c => h('th', { class: `eolab-sv-c-${c.replace('.', '')}` }, c)))),
        this.logBody),
      h('h4', {}, 'Request tester'),
      h('div', { class: 'eolab-sv-tester' }, this.body, h('div', { class: 'eolab-sv-row-tools' }, this.verb, send), this.response),
      h('h4', {}, 'Monitoring'),
      h('div', { class: 'eolab-sv-row-tools' }, this.reference, monitor),
      this.monitorView
    );
  }

  async load(project: string, name: string): Promise<void> {
    const changed = this.project !== project || this.current?.name !== name;
    this.project = project;
    if (changed) {
      this.current = null;
      clear(this.summary);
      clear(this.logBody);
      clear(this.monitorView);
      this.response.textContent = '';
      this.body.value = '{"instances": [[1.0, 2.0, 3.0, 4.0]]}';
    }
    try {
      this.current = await servingApi.describe(project, name);
      this.status.clear();
    } catch (error) {
      this.status.error(errorMessage(error));
      return;
    }
    this.renderSummary(this.current);
    await Promise.all([this.refreshLog(), this.logs.load(project, name, this.current.status)]);
    this.startTail();
  }

  hide(): void {
    this.logs.stop();
    if (this.timer !== null) {
      window.clearInterval(this.timer);
      this.timer = null;
    }
  }

  private startTail(): void {
    this.hide();
    this.timer = window.setInterval(() => {
      if (!this.node.isConnected || this.node.hidden || this.node.offsetParent === null) {
        return; // not on screen: no polling
      }
      void this.refreshLog();
    }, LOG_REFRESH_MS);
  }

  private renderSummary(s: IDescribeServing): void {
    clear(this.summary);
    const batching = s.batching ? `max ${s.batching.max_batch_size} rows, ${s.batching.batch_timeout_micros} µs` : 'off';
    this.summary.append(
      h('div', { class: 'eolab-sv-header' },
        h('span', { class: 'eolab-sv-title' }, s.name),
        h('span', { class: `eolab-sv-status eolab-sv-${s.status.toLowerCase()}` }, s.status)),
      properties([
        ['model', `${s.model_name} v${s.model_version} (${s.model_server})`],
        ['instances', `${s.available_instances}/${s.requested_instances}`],
        ['batching', batching],
        ['inference log', !s.inference_logging ? 'off'
          : s.log_sampling < 1 ? `topic ${s.topic}, ${formatPercent(s.log_sampling)} of successful requests sampled`
            : `topic ${s.topic}`],
        ['REST endpoint', s.inference_url],
        ['TF-Serving endpoint', s.endpoint || '(not running)'],
        ['proxy port', s.proxy_port === null ? '' : String(s.proxy_port)],
        ['created', `${utcText(s.created_at)} by ${s.created_by}`]
      ])
    );
    if (s.reason) {
      this.summary.appendChild(h('div', { class: 'eolab-sv-error' }, s.reason));
    }
    if (s.instances.length) {
      this.summary.appendChild(
        h('table', { class: 'eolab-sv-instances' },
          h('thead', {}, h('tr', {}, ...['#', 'status', 'health', 'pid', 'port', 'version', 'restarts', 'last error'].map(c => h('th', {}, c)))),
          h('tbody', {}, ...s.instances.map(i =>
            h('tr', { 'data-instance': i.index },
              h('td', {}, String(i.index)), h('td', {}, i.status),
              h('td', { class: i.missed_probes ? 'eolab-sv-bad eolab-sv-health' : 'eolab-sv-health' },
                i.missed_probes ? `${i.missed_probes} probe(s) missed, out of rotation` : 'ok'),
              h('td', {}, String(i.pid)),
              h('td', {}, i.port === null ? '' : String(i.port)), h('td', {}, `v${i.model_version}`),
              h('td', {}, String(i.restarts)), h('td', { class: 'eolab-sv-last-error' }, i.last_error)))))
      );
    }
  }

  async refreshLog(): Promise<void> {
    if (!this.project || !this.current) {
      return;
    }
    let records: IDescribeInferenceRecord[];
    try {
      records = await servingApi.log(this.project, this.current.name, LOG_TAIL);
    } catch (error) {
      this.logNote.textContent = errorMessage(error);
      return;
    }
    this.logNote.textContent = records.length ? `last ${records.length} request(s), newest first` : 'no requests logged yet';
    clear(this.logBody);
    for (const r of [...records].reverse()) {
      this.logBody.appendChild(
        h('tr', { class: 'eolab-sv-record', 'data-offset': `${r.partition}:${r.offset}` },
          h('td', { title: utcText(r.request_timestamp) }, clockTime(r.request_timestamp)),
          h('td', { class: r.response_http_code >= 400 ? 'eolab-sv-bad' : '' }, String(r.response_http_code)),
          h('td', {}, formatNumber(r.latency_ms)),
          h('td', {}, String(r.instance)),
          h('td', { title: r.inference_request }, short(r.inference_request)),
          h('td', { title: r.inference_response }, short(r.inference_response)))
      );
    }
  }

  async send(): Promise<void> {
    if (!this.project || !this.current) {
      return;
    }
    try {
      JSON.parse(this.body.value);
    } catch (error) {
      this.response.dataset.status = 'invalid';
      this.response.textContent = `The body is not JSON: ${String(error)}`;
      return;
    }
    this.response.textContent = 'sending…';
    try {
      const answer = await servingApi.infer(this.project, this.current.name, this.body.value, this.verb.value);
      this.response.dataset.status = String(answer.status);
      this.response.textContent = `${answer.status}\n${typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body, null, 1)}`;
    } catch (error) {
      this.response.dataset.status = 'error';
      this.response.textContent = errorMessage(error);
    }
    await this.refreshLog();
  }

  async monitor(): Promise<void> {
    if (!this.project || !this.current) {
      return;
    }
    clear(this.monitorView);
    let report;
    try {
      report = await servingApi.monitoring(this.project, this.current.name, this.reference.value.trim());
    } catch (error) {
      this.monitorView.appendChild(h('div', { class: 'eolab-sv-error' }, errorMessage(error)));
      return;
    }
    const errors = Object.entries(report.errors).map(([code, n]) => `${code}×${n}`).join(', ');
    this.monitorView.append(
      properties([
        ['requests', `${report.requests} logged (${formatNumber(report.request_rate)}/s${report.log_sampling < 1 ? `, estimated from a ${formatPercent(report.log_sampling)} sample` : ''})`],
        ['window', report.window_start ? `${utcText(report.window_start)} .. ${utcText(report.window_end)}` : 'no requests'],
        ['error rate', `${formatPercent(report.error_rate)} ${errors}`.trim()],
        ['prediction mean', report.prediction_mean === null ? '' : formatNumber(report.prediction_mean)]
      ]),
      h('div', { class: 'eolab-sv-chart' }, h('div', { class: 'eolab-sv-caption' }, 'latency'), latencyChart(report.latency_ms)),
      h('div', { class: 'eolab-sv-chart' }, h('div', { class: 'eolab-sv-caption' }, 'predictions'), histogramChart(report.predictions, 260, 64))
    );
    if (report.drift.length) {
      this.monitorView.append(
        h('div', { class: 'eolab-sv-chart' },
          h('div', { class: 'eolab-sv-caption' }, `input drift (PSI, flagged above ${report.threshold})`),
          driftChart(report.drift, report.threshold)),
        h('table', { class: 'eolab-sv-drift' },
          h('thead', {}, h('tr', {}, ...['input', 'feature', 'PSI', 'flag'].map(c => h('th', {}, c)))),
          h('tbody', {}, ...report.drift.map(d =>
            h('tr', { 'data-feature': d.feature },
              h('td', {}, d.index === null ? d.input : `${d.input}[${d.index}]`), h('td', {}, d.feature),
              h('td', {}, formatNumber(d.psi)),
              h('td', { class: d.flagged ? 'eolab-sv-bad' : 'eolab-sv-good' }, d.flagged ? 'DRIFT' : 'ok')))))
      );
    } else if (report.drift_note) {
      this.monitorView.appendChild(h('div', { class: 'eolab-sv-note eolab-sv-drift-note' }, `input drift ${report.drift_note}`));
    } else if (this.reference.value.trim()) {
      this.monitorView.appendChild(h('div', { class: 'eolab-sv-note' }, 'no input matched a reference feature'));
    }
  }
}
