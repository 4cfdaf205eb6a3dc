/**
 * The Logs section of a serving's detail: the last lines of its own log files (the supervisor's
 * and each instance's, `GET servings/{name}/logs`), like `kubectl logs` of a predictor. It
 * follows the file every few seconds while the serving starts or runs and is on screen.
 */
import { errorMessage, requestAPI, servingPath, ServingStatus } from '../api';
import { clear, h } from '../dom';

export const LOG_FILE_TAILS = [50, 200, 1000];
export const LOG_FILE_REFRESH_MS = 3000;
const FOLLOWED: ServingStatus[] = ['Starting', 'Running'];

/** Mirrors `DescribeServingLogs` of eolab/server/models.py. */
export interface IDescribeServingLogs {
  serving: string;
  sources: string[];
  source: string;
  lines: string[];
  size_bytes: number;
  truncated: boolean;
  modified_at: string | null;
}

export function fetchServingLogs(project: string, name: string, source: string, tail: number): Promise<IDescribeServingLogs> {
  return requestAPI<IDescribeServingLogs>(servingPath(project, name, 'logs'), { query: { source, tail } });
}

export class ServingLogs {
  readonly node = h('div', { class: 'eolab-sv-logs-section' });
  private readonly source = h('select', { class: 'eolab-sv-logs-source', 'aria-label': 'log source' },
    h('option', { value: 'supervisor' }, 'supervisor'));
  private readonly tail = h('select', { class: 'eolab-sv-logs-tail', 'aria-label': 'lines' },
    ...LOG_FILE_TAILS.map(n => h('option', { value: n, selected: n === 200 }, `last ${n} lines`)));
  private readonly note = h('div', { class: 'eolab-sv-note eolab-sv-logs-note' });
  private readonly text = h('pre', { class: 'eolab-sv-logs' });
  private project: string | null = null;
  private name: string | null = null;
  private timer: number | null = null;

  constructor() {
    const refresh = h('button', { class: 'jp-Button eolab-button eolab-sv-logs-refresh' }, 'Refresh');
    refresh.addEventListener('click', () => void this.refresh());
    this.source.addEventListener('change', () => void this.refresh());
    this.tail.addEventListener('change', () => void this.refresh());
    this.node.append(
      h('h4', {}, 'Logs'),
      h('div', { class: 'eolab-sv-row-tools eolab-sv-logs-tools' }, this.source, this.tail, refresh),
      this.note,
      this.text
    );
  }

  /** Show the serving's logs, and follow them while it is Starting or Running. */
  async load(project: string, name: string, status: ServingStatus): Promise<void> {
    if (this.project !== project || this.name !== name) {
      this.project = project;
      this.name = name;
      clear(this.source);
      this.source.appendChild(h('option', { value: 'supervisor' }, 'supervisor'));
      this.text.textContent = '';
    }
    this.stop();
    await this.refresh();
    if (FOLLOWED.includes(status)) {
      this.timer = window.setInterval(() => this.tick(), LOG_FILE_REFRESH_MS);
    }
  }

  stop(): void {
    if (this.timer !== null) {
      window.clearInterval(this.timer);
      this.timer = null;
    }
  }

  private tick(): void {
    if (!this.node.isConnected) {
      this.stop(); // the panel is gone
    } else if (this.node.offsetParent !== null) {
      void this.refresh(); // on screen
    }
  }

  async refresh(): Promise<void> {
    if (!this.project || !this.name) {
      return;
    }
    const [project, name] = [this.project, this.name];
    let got: IDescribeServingLogs;
    try {
      got = await fetchServingLogs(project, name, this.source.value, Number(this.tail.value));
    } catch (error) {
      this.note.textContent = errorMessage(error);
      this.text.textContent = '';
      return;
    }
    if (project !== this.project || name !== this.name) {
      return; // another serving was opened meanwhile
    }
    this.renderSources(got.sources, got.source);
    const more = got.truncated ? 'last ' : '';
    this.note.textContent = `${more}${got.lines.length} lines of ${got.size_bytes} bytes`;
    // Follow the end unless the reader scrolled up.
    const atEnd = this.text.scrollTop + this.text.clientHeight >= this.text.scrollHeight - 4;
    this.text.textContent = got.lines.join('\n');
    if (atEnd) {
      this.text.scrollTop = this.text.scrollHeight;
    }
  }

  private renderSources(sources: string[], selected: string): void {
    const shown = Array.from(this.source.options).map(o => o.value);
    if (shown.join() === sources.join()) {
      return;
    }
    clear(this.source);
    for (const s of sources.includes(selected) ? sources : [selected, ...sources]) {
      this.source.appendChild(h('option', { value: s, selected: s === selected }, s));
    }
  }
}
