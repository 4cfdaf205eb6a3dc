/**
 * Per-feature statistics (of a feature group commit or a training dataset split): the numbers
 * and the histogram of each feature.
 */
import { api, EolabApiError, errorMessage, IDescribeFeatureStatistics } from '../api';
import { clear, h } from '../dom';
import { histogramChart } from './charts';
import { formatNumber, formatPercent, utcText } from './format';

function feature(stat: IDescribeFeatureStatistics): HTMLElement {
  const facts: [string, string, any][] = [
    ['count', formatNumber(stat.count), stat.count],
    ['complete', formatPercent(stat.completeness), stat.completeness],
    ['distinct≈', formatNumber(stat.approx_num_distinct_values), stat.approx_num_distinct_values],
    ['min', formatNumber(stat.min), stat.min],
    ['max', formatNumber(stat.max), stat.max],
    ['mean', formatNumber(stat.mean), stat.mean],
    ['stddev', formatNumber(stat.stddev), stat.stddev]
  ];
  const card = h(
    'div',
    { class: 'eolab-fs-stat', 'data-feature': stat.name },
    h('div', { class: 'eolab-fs-stat-head' }, h('span', { class: 'eolab-fs-stat-name' }, stat.name), h('span', { class: 'eolab-meta' }, stat.type)),
    h(
      'dl',
      // times and dates are long: one fact per line for them
      { class: `eolab-fs-stat-facts${typeof stat.min === 'string' ? ' eolab-fs-stat-facts-wide' : ''}` },
      ...facts.flatMap(([label, text, raw]) => [
        h('dt', {}, label),
        h('dd', { 'data-stat': label, title: raw === null || raw === undefined ? undefined : String(raw) }, text)
      ])
    )
  );
  if (stat.histogram && stat.histogram.length) {
    const chart = h('div', { class: 'eolab-fs-stat-chart' });
    chart.appendChild(histogramChart(stat.histogram));
    card.appendChild(chart);
  } else if (stat.type.startsWith('array')) {
    card.appendChild(h('div', { class: 'eolab-empty eolab-fs-stat-note' }, 'statistics of the array elements'));
  }
  return card;
}

/** What one statistics view shows: a caption line and the per-feature statistics. */
export interface IStatisticsData {
  caption: string;
  features: IDescribeFeatureStatistics[];
}

/** Statistics of a feature group commit (`load`) or of anything else (`show`). */
export class StatisticsView {
  readonly node = h('section', { class: 'eolab-fs-section eolab-fs-statistics' });
  private generation = 0;

  async load(project: string, name: string, version: number, commitTime?: string): Promise<void> {
    await this.show(async () => {
      const stats = await api.featureGroupStatistics(project, name, version, commitTime);
      return {
        caption: `${formatNumber(stats.row_count)} rows · commit ${stats.commit_id}${stats.commit_time ? ' · ' + utcText(stats.commit_time) : ''}`,
        features: stats.features
      };
    });
  }

  /** Show what `fetch` returns; a 404 (no statistics computed) is a note, not an error. */
  async show(fetch: () => Promise<IStatisticsData>): Promise<void> {
    const generation = ++this.generation;
    clear(this.node);
    this.node.appendChild(h('h4', {}, 'Statistics'));
    const body = h('div', { class: 'eolab-fs-section-body' }, h('div', { class: 'eolab-loading' }, 'Loading statistics…'));
    this.node.appendChild(body);
    try {
      const stats = await fetch();
      if (generation !== this.generation) {
        return;
      }
      clear(body);
      body.appendChild(h('div', { class: 'eolab-meta eolab-fs-stat-caption' }, stats.caption));
      const grid = h('div', { class: 'eolab-fs-stat-grid' });
      for (const stat of stats.features) {
        grid.appendChild(feature(stat));
      }
      body.appendChild(grid);
    } catch (error) {
      if (generation !== this.generation) {
        return;
      }
      clear(body);
      if (error instanceof EolabApiError && error.status === 404) {
        body.appendChild(h('div', { class: 'eolab-empty' }, error.message));
      } else {
        body.appendChild(h('div', { class: 'eolab-status eolab-status-error' }, errorMessage(error)));
      }
    }
  }
}
