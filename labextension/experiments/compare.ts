/**
 * Two or more runs side by side: parameters and metrics in one table (rows that differ are
 * marked), and one metric's curves overlaid, one line per run (its best trial, else its first).
 */
import { errorMessage, experimentsApi, IDescribeExperiment } from '../api';
import { clear, h, StatusLine } from '../dom';
import { ISeries, lineChart } from './charts';
import { curveMetrics, valueText } from './detail';

/** The rows of the comparison: every parameter, then every metric, with each run's value. */
export function comparisonRows(runs: IDescribeExperiment[]): { key: string; kind: 'param' | 'metric'; values: string[] }[] {
  const params = [...new Set(runs.flatMap(r => Object.keys(r.params)))].sort();
  const metrics = [...new Set(runs.flatMap(r => Object.keys(r.metrics || {})))].sort();
  return [
    ...params.map(key => ({ key, kind: 'param' as const, values: runs.map(r => valueText(r.params[key])) })),
    ...metrics.map(key => ({ key, kind: 'metric' as const, values: runs.map(r => valueText((r.metrics || {})[key])) }))
  ];
}

function runTrial(run: IDescribeExperiment): string | null {
  return run.best_trial || run.trials[0]?.trial_id || null;
}

export class RunComparison {
  readonly node = h('div', { class: 'eolab-exp-compare-view' });
  private readonly status = new StatusLine();
  private generation = 0;

  constructor(private readonly open: (runId: string) => void) {}

  async load(project: string, runIds: string[]): Promise<void> {
    const generation = ++this.generation;
    clear(this.node);
    this.node.appendChild(this.status.node);
    this.status.info(`Loading ${runIds.length} runs…`);
    try {
      const runs = await Promise.all(runIds.map(id => experimentsApi.describe(project, id)));
      if (generation !== this.generation) {
        return;
      }
      this.status.clear();
      this.render(runs);
    } catch (error) {
      if (generation === this.generation) {
        this.status.error(errorMessage(error));
      }
    }
  }

  private render(runs: IDescribeExperiment[]): void {
    const head = h(
      'tr',
      {},
      h('th', {}, ''),
      ...runs.map(r => {
        const link = h('a', { href: '#', class: 'eolab-exp-compare-run', 'data-run': r.run_id, title: r.run_id }, r.name);
        link.addEventListener('click', event => {
          event.preventDefault();
          this.open(r.run_id);
        });
        return h('th', {}, link);
      })
    );
    const body = h('tbody', {});
    for (const row of comparisonRows(runs)) {
      const differs = new Set(row.values).size > 1;
      body.appendChild(
        h(
          'tr',
          { class: `eolab-exp-compare-row eolab-exp-compare-${row.kind}${differs ? ' eolab-exp-diff' : ''}`, 'data-key': row.key, 'data-kind': row.kind },
          h('th', {}, row.kind === 'param' ? row.key : `${row.key} (metric)`),
          ...row.values.map(v => h('td', {}, v))
        )
      );
    }
    this.node.appendChild(
      h('section', { class: 'eolab-exp-section' }, h('h4', {}, 'Parameters and metrics'), h('div', { class: 'eolab-exp-table-wrap' }, h('table', { class: 'eolab-table eolab-exp-compare-table' }, h('thead', {}, head), body)))
    );
    const metrics = [...new Set(runs.flatMap(curveMetrics))].sort();
    const holder = h('div', {});
    if (!metrics.length) {
      holder.appendChild(h('div', { class: 'eolab-empty' }, 'None of these runs logged per-step metrics.'));
      this.node.appendChild(h('section', { class: 'eolab-exp-section' }, h('h4', {}, 'Curves'), holder));
      return;
    }
    const picker = h('select', { class: 'eolab-exp-compare-metric', 'aria-label': 'Metric to overlay' }, ...metrics.map(m => h('option', { value: m }, m)));
    const draw = () => {
      clear(holder);
      const series: ISeries[] = runs.map(r => {
        const trial = runTrial(r);
        return { label: `${r.name} (${trial ?? '—'})`, points: (trial && r.curves[trial]?.[picker.value]) || [] };
      });
      holder.appendChild(lineChart(series, picker.value));
    };
    picker.addEventListener('change', draw);
    draw();
    this.node.appendChild(h('section', { class: 'eolab-exp-section eolab-exp-compare-curves' }, h('h4', {}, 'Curves'), picker, holder));
  }
}
