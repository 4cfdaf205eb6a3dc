/**
 * The Experiments home: the project's runs in a table, narrowed by name and state, sorted by any
 * column (every run metric has one); ticking two or more runs offers to compare them.
 */
import { errorMessage, experimentsApi, IDescribeExperimentSummary, RUN_STATES } from '../api';
import { clear, h, StatusLine } from '../dom';
import { formatNumber, utcText } from '../featurestore/format';

type SortKey = { kind: 'field'; name: 'name' | 'state' | 'started' } | { kind: 'metric'; name: string };

export function stateBadge(state: string): HTMLElement {
  return h('span', { class: `eolab-badge eolab-exp-state eolab-exp-state-${state.toLowerCase()}` }, state);
}

/** The numeric metrics of a run (what can be sorted and plotted). */
export function numericMetrics(metrics: Record<string, any> | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(metrics || {})) {
    if (typeof value === 'number' && isFinite(value)) {
      out[key] = value;
    }
  }
  return out;
}

export class RunsTable {
  readonly node: HTMLElement;
  private readonly status = new StatusLine();
  private readonly nameFilter = h('input', {
    type: 'search',
    class: 'eolab-exp-filter',
    placeholder: 'Filter runs by name…',
    'aria-label': 'Filter runs by name'
  });
  private readonly stateFilter = h(
    'select',
    { class: 'eolab-exp-state-filter', 'aria-label': 'Filter runs by state' },
    h('option', { value: '' }, 'any state'),
    ...RUN_STATES.map(s => h('option', { value: s }, s))
  );
  private readonly compareButton = h('button', { class: 'jp-Button eolab-button eolab-exp-compare', disabled: true }, 'Compare');
  private readonly table = h('table', { class: 'eolab-table eolab-exp-runs' });
  private runs: IDescribeExperimentSummary[] = [];
  private readonly selected = new Set<string>();
  private sort: SortKey = { kind: 'field', name: 'started' };
  private descending = true;
  private generation = 0;

  constructor(
    private readonly open: (runId: string) => void,
    private readonly compare: (runIds: string[]) => void
  ) {
    this.nameFilter.addEventListener('input', () => this.render());
    this.stateFilter.addEventListener('change', () => this.render());
    this.compareButton.addEventListener('click', () => this.compare(this.orderedSelection()));
    this.node = h(
      'div',
      { class: 'eolab-exp-home' },
      h('div', { class: 'eolab-exp-filters' }, this.nameFilter, this.stateFilter, this.compareButton),
      this.status.node,
      h('div', { class: 'eolab-exp-table-wrap' }, this.table)
    );
  }

  async load(project: string | null): Promise<void> {
    const generation = ++this.generation;
    this.runs = [];
    clear(this.table);
    if (!project) {
      this.status.info('Select a project above.');
      return;
    }
    this.status.info('Loading runs…');
    try {
      const runs = await experimentsApi.list(project);
      if (generation !== this.generation) {
        return;
      }
      this.runs = runs;
      for (const id of [...this.selected]) {
        if (!runs.some(r => r.run_id === id)) {
          this.selected.delete(id);
        }
      }
      this.status.clear();
      this.render();
    } catch (error) {
      if (generation === this.generation) {
        this.status.error(errorMessage(error));
      }
    }
  }

  /** Sort by a column: a field of the run or the name of a metric; again: the other way. */
  sortBy(key: SortKey): void {
    const same = key.kind === this.sort.kind && key.name === this.sort.name;
    this.descending = same ? !this.descending : key.kind === 'metric' || key.name === 'started';
    this.sort = key;
    this.render();
  }

  private orderedSelection(): string[] {
    return this.runs.filter(r => this.selected.has(r.run_id)).map(r => r.run_id);
  }

  private metricNames(): string[] {
    const names = new Set<string>();
    for (const run of this.runs) {
      Object.keys(numericMetrics(run.metrics)).forEach(n => names.add(n));
    }
    return [...names].sort();
  }

  private value(run: IDescribeExperimentSummary): number | string | null {
    if (this.sort.kind === 'metric') {
      return numericMetrics(run.metrics)[this.sort.name] ?? null;
    }
    return run[this.sort.name];
  }

  private sorted(runs: IDescribeExperimentSummary[]): IDescribeExperimentSummary[] {
    const sign = this.descending ? -1 : 1;
    return [...runs].sort((a, b) => {
      const [va, vb] = [this.value(a), this.value(b)];
      if (va === null || vb === null) {
        return va === vb ? 0 : va === null ? 1 : -1; // runs without the value last
      }
      return (va < vb ? -1 : va > vb ? 1 : 0) * sign;
    });
  }

  private header(label: string, key: SortKey): HTMLElement {
    const active = key.kind === this.sort.kind && key.name === this.sort.name;
    const th = h(
      'th',
      {
        class: `eolab-exp-sortable${active ? ' eolab-exp-sorted' : ''}`,
        'data-sort': `${key.kind}:${key.name}`,
        'aria-sort': active ? (this.descending ? 'descending' : 'ascending') : undefined,
        tabindex: 0,
        title: `Sort by ${label}`
      },
      label,
      active ? (this.descending ? ' ▾' : ' ▴') : ''
    );
    th.addEventListener('click', () => this.sortBy(key));
    return th;
  }

  private render(): void {
    clear(this.table);
    if (!this.runs.length) {
      this.status.info('No experiment runs yet: run experiment.launch(train_fn, …) or %%eo experiment.');
      return;
    }
    const term = this.nameFilter.value.trim().toLowerCase();
    const state = this.stateFilter.value;
    const shown = this.sorted(this.runs.filter(r => (!term || r.name.toLowerCase().includes(term)) && (!state || r.state === state)));
    const metrics = this.metricNames();
    this.table.appendChild(
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, ''),
          this.header('run', { kind: 'field', name: 'name' }),
          this.header('state', { kind: 'field', name: 'state' }),
          ...metrics.map(m => this.header(m, { kind: 'metric', name: m })),
          this.header('started', { kind: 'field', name: 'started' })
        )
      )
    );
    const body = h('tbody', {});
    for (const run of shown) {
      const box = h('input', { type: 'checkbox', class: 'eolab-exp-select', 'aria-label': `Select ${run.name} to compare`, checked: this.selected.has(run.run_id) });
      box.addEventListener('click', event => event.stopPropagation());
      box.addEventListener('change', () => {
        if (box.checked) {
          this.selected.add(run.run_id);
        } else {
          this.selected.delete(run.run_id);
        }
        this.updateCompare();
      });
      const values = numericMetrics(run.metrics);
      const row = h(
        'tr',
        { class: 'eolab-exp-run', 'data-run': run.run_id, 'data-name': run.name, tabindex: 0, title: run.description || run.run_id },
        h('td', {}, box),
        h(
          'td',
          { class: 'eolab-exp-run-name' },
          run.name,
          h('div', { class: 'eolab-meta' }, `${run.kind} · ${run.trials} trial${run.trials === 1 ? '' : 's'} · ${run.user}`)
        ),
        h('td', {}, stateBadge(run.state)),
        ...metrics.map(m => h('td', { class: 'eolab-num', 'data-metric': m }, m in values ? formatNumber(values[m]) : '')),
        h('td', { class: 'eolab-meta eolab-exp-started', title: utcText(run.started) }, utcText(run.started).slice(5, 16))
      );
      row.addEventListener('click', () => this.open(run.run_id));
      row.addEventListener('keydown', event => {
        if (event.key === 'Enter') {
          this.open(run.run_id);
        }
      });
      body.appendChild(row);
    }
    if (!shown.length) {
      body.appendChild(h('tr', {}, h('td', { class: 'eolab-empty', colspan: 4 + metrics.length }, 'No run matches the filter.')));
    }
    this.table.appendChild(body);
    this.updateCompare();
  }

  private updateCompare(): void {
    const count = this.selected.size;
    this.compareButton.disabled = count < 2;
    this.compareButton.textContent = count >= 2 ? `Compare ${count}` : 'Compare';
  }
}
