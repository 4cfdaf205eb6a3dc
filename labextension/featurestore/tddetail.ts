/**
 * One training dataset version: version picker, format badge, facts, its splits drawn as one
 * proportional bar with their sizes, provenance (links that open each feature group at the
 * version and commit it was read at), features with their shapes, statistics and a preview of
 * the chosen split, and tags (editable). Clicking a split on the bar, or picking it, moves the
 * statistics and the preview to it.
 */
import {
  api,
  errorMessage,
  IDescribeProvenance,
  IDescribeSplit,
  IDescribeTrainingDataset,
  IDescribeTrainingDatasetVersion
} from '../api';
import { clear, h } from '../dom';
import { trainingDatasetTags, TagEditor } from '../tags/tagform';
import { tagSection } from './detail';
import { formatNumber, formatPercent, utcText } from './format';
import { badge } from './list';
import { previewTable } from './preview';
import { StatisticsView } from './statistics';

const ROWS = 20;

function section(title: string, cls: string, ...children: (Node | null)[]): HTMLElement {
  return h('section', { class: `eolab-fs-section ${cls}` }, h('h4', {}, title), ...children);
}

function splitLabel(split: IDescribeSplit): string {
  return split.name || 'all rows';
}

function shapeText(shape: number[] | null): string {
  return shape && shape.length ? `(${shape.join(', ')})` : 'scalar';
}

/**
 * The splits as one bar, each segment as wide as its share of the rows written; a legend
 * below gives each split's rows, share and the fraction asked for.
 */
export function splitBar(splits: IDescribeSplit[], selected: string, choose: (name: string) => void): HTMLElement {
  const total = splits.reduce((sum, s) => sum + s.size, 0);
  const bar = h('div', { class: 'eolab-fs-splitbar', role: 'img', 'aria-label': `${splits.length} splits` });
  const legend = h('ul', { class: 'eolab-fs-split-legend' });
  splits.forEach((split, i) => {
    const share = total ? split.size / total : 1 / splits.length;
    const asked = split.fraction === null ? '' : `, asked ${formatPercent(split.fraction)}`;
    const tip = `${splitLabel(split)}: ${formatNumber(split.size)} rows (${formatPercent(share)}${asked})`;
    const segment = h(
      'div',
      {
        class: `eolab-fs-split eolab-fs-split-${i % 4}${split.name === selected ? ' eolab-selected' : ''}`,
        style: `flex-grow: ${share}`,
        'data-split': split.name,
        'data-size': split.size,
        'data-share': share,
        title: tip
      },
      h('span', { class: 'eolab-fs-split-text' }, `${splitLabel(split)} ${formatNumber(split.size)}`)
    );
    segment.addEventListener('click', () => choose(split.name));
    bar.appendChild(segment);
    const item = h(
      'li',
      { class: 'eolab-fs-split-item', 'data-split': split.name },
      h('span', { class: `eolab-fs-key eolab-fs-split-${i % 4}` }),
      h('span', { class: 'eolab-fs-split-name' }, splitLabel(split)),
      h('span', { class: 'eolab-fs-split-size' }, ` ${formatNumber(split.size)} rows`),
      h('span', { class: 'eolab-meta' }, ` (${formatPercent(share)}${asked})`)
    );
    item.addEventListener('click', () => choose(split.name));
    legend.appendChild(item);
  });
  return h('div', { class: 'eolab-fs-splits-chart' }, bar, legend);
}

export class TrainingDatasetDetail {
  readonly node = h('div', { class: 'eolab-fs-td-detail' });
  private readonly statistics = new StatisticsView();
  private readonly preview = h('section', { class: 'eolab-fs-section eolab-fs-td-preview' });
  private readonly splitsSlot = h('div', { class: 'eolab-fs-splits-slot' });
  private readonly picker = h('select', { class: 'eolab-fs-td-split', 'aria-label': 'Split' });
  private project = '';
  private name = '';
  private version = 0;
  private td: IDescribeTrainingDataset | null = null;
  private split = '';
  private generation = 0;
  private previewGeneration = 0;

  /**
   * `openFeatureGroup` follows a provenance link; `onError` shows why a training dataset
   * could not be loaded.
   */
  constructor(
    private readonly openFeatureGroup: (name: string, version: number, commitId: number | null) => void,
    private readonly onError: (message: string) => void
  ) {
    this.picker.addEventListener('change', () => this.choose(this.picker.value));
  }

  get current(): { name: string; version: number } | null {
    return this.name ? { name: this.name, version: this.version } : null;
  }

  async load(project: string, name: string, version?: number): Promise<void> {
    const generation = ++this.generation;
    this.project = project;
    this.name = name;
    clear(this.node);
    this.node.appendChild(h('div', { class: 'eolab-loading' }, `Loading ${name}…`));
    try {
      const versions = await api.trainingDatasetVersions(project, name);
      const chosen = version && versions.some(v => v.version === version) ? version : versions[versions.length - 1].version;
      const td = await api.describeTrainingDataset(project, name, chosen);
      if (generation !== this.generation) {
        return;
      }
      this.version = chosen;
      this.td = td;
      this.split = td.splits[0].name;
      this.render(td, versions);
    } catch (error) {
      if (generation === this.generation) {
        clear(this.node);
        this.onError(errorMessage(error));
      }
    }
  }

  private render(td: IDescribeTrainingDataset, versions: IDescribeTrainingDatasetVersion[]): void {
    clear(this.node);
    const picker = h('select', { class: 'eolab-fs-version eolab-fs-td-version', 'aria-label': 'Version' });
    for (const v of versions) {
      picker.appendChild(h('option', { value: String(v.version) }, `version ${v.version}`));
    }
    picker.value = String(td.version);
    picker.addEventListener('change', () => void this.load(this.project, this.name, Number(picker.value)));
    const fact = (label: string, value: string, cls = '') => (value ? [h('dt', {}, label), h('dd', { class: cls }, value)] : []);
    this.node.appendChild(
      h(
        'header',
        { class: 'eolab-fs-header' },
        h(
          'div',
          { class: 'eolab-fs-title' },
          h('span', { class: 'eolab-fs-name' }, td.name),
          picker,
          badge(td.data_format, 'format', 'file format of its splits')
        ),
        td.description ? h('p', { class: 'eolab-fs-description' }, td.description) : null,
        h(
          'dl',
          { class: 'eolab-fs-facts' },
          ...fact('rows', formatNumber(td.row_count), 'eolab-fs-row-count'),
          ...fact('label', td.label.join(', '), 'eolab-fs-label'),
          ...fact('split by', td.primary_key.length ? td.primary_key.join(', ') : 'the whole row'),
          ...fact('seed', String(td.seed), 'eolab-fs-seed'),
          ...fact('created', `${utcText(td.created)}${td.creator ? ' by ' + td.creator : ''}`),
          ...fact('location', td.location || '', 'eolab-fs-location')
        )
      )
    );
    this.node.appendChild(section('Splits', 'eolab-fs-splits', this.splitsSlot));
    this.node.appendChild(section('Built from', 'eolab-fs-provenance', this.provenance(td.provenance)));
    this.node.appendChild(section('Features', 'eolab-fs-td-features', this.features(td)));
    clear(this.picker);
    for (const split of td.splits) {
      this.picker.appendChild(h('option', { value: split.name }, splitLabel(split)));
    }
    this.node.appendChild(
      h('div', { class: 'eolab-fs-td-split-controls', hidden: td.splits.length < 2 }, h('label', {}, 'Split ', this.picker))
    );
    this.node.appendChild(this.statistics.node);
    this.node.appendChild(this.preview);
    this.node.appendChild(
      tagSection(new TagEditor(trainingDatasetTags(this.project, td.name, td.version), 'No tags yet.'), 'eolab-fs-tags')
    );
    this.choose(this.split);
  }

  private provenance(sources: IDescribeProvenance[]): HTMLElement {
    if (!sources.length) {
      return h('div', { class: 'eolab-empty' }, 'Built from a DataFrame: no feature group recorded.');
    }
    return h(
      'ul',
      { class: 'eolab-fs-provenance-list' },
      ...sources.map(p => {
        const at = p.commit_id === null ? '' : ` @ commit ${p.commit_id}`;
        const link = h(
          'a',
          {
            href: '#',
            class: 'eolab-fs-provenance-link',
            'data-name': p.name,
            'data-version': p.version,
            'data-commit-id': p.commit_id ?? '',
            title: `Open feature group ${p.name} version ${p.version}${at}`
          },
          h('span', { class: 'eolab-icon eolab-icon-featuregroup' }),
          ` ${p.name} v${p.version}${at}`
        );
        link.addEventListener('click', event => {
          event.preventDefault();
          this.openFeatureGroup(p.name, p.version, p.commit_id);
        });
        return h('li', {}, link);
      })
    );
  }

  private features(td: IDescribeTrainingDataset): HTMLElement {
    return h(
      'table',
      { class: 'eolab-table eolab-fs-schema' },
      h('thead', {}, h('tr', {}, h('th', {}, 'feature'), h('th', {}, 'type'), h('th', {}, 'shape'))),
      h(
        'tbody',
        {},
        ...td.features.map(f =>
          h(
            'tr',
            { class: 'eolab-fs-feature', 'data-feature': f.name },
            h('td', {}, h('span', { class: 'eolab-fs-feature-name' }, f.name), ' ', f.label ? badge('label', 'label') : null),
            h('td', { class: 'eolab-fs-feature-type' }, f.type),
            h('td', { class: 'eolab-fs-feature-shape' }, shapeText(f.shape))
          )
        )
      )
    );
  }

  /** Show `split`'s statistics and preview, and mark it on the bar. */
  private choose(split: string): void {
    const td = this.td;
    if (!td) {
      return;
    }
    this.split = split;
    this.picker.value = split;
    clear(this.splitsSlot);
    this.splitsSlot.appendChild(splitBar(td.splits, split, name => this.choose(name)));
    const label = split || 'all rows';
    void this.statistics.show(async () => {
      const stats = await api.trainingDatasetStatistics(this.project, td.name, td.version, split);
      return { caption: `${formatNumber(stats.row_count)} rows · split ${label}`, features: stats.features };
    });
    void this.loadPreview(td, split);
  }

  private async loadPreview(td: IDescribeTrainingDataset, split: string): Promise<void> {
    const generation = ++this.previewGeneration;
    clear(this.preview);
    this.preview.appendChild(h('h4', {}, 'Data preview'));
    const body = h('div', { class: 'eolab-fs-section-body' }, h('div', { class: 'eolab-loading' }, 'Loading rows…'));
    this.preview.appendChild(body);
    try {
      const preview = await api.previewTrainingDataset(this.project, td.name, td.version, split, ROWS);
      if (generation !== this.previewGeneration) {
        return;
      }
      clear(body);
      body.appendChild(
        h(
          'div',
          { class: 'eolab-meta eolab-fs-preview-caption' },
          `${preview.rows.length} of ${formatNumber(preview.num_rows)} rows · split ${split || 'all rows'}`
        )
      );
      body.appendChild(preview.rows.length ? previewTable(preview.columns, preview.rows) : h('div', { class: 'eolab-empty' }, 'No rows.'));
    } catch (error) {
      if (generation === this.previewGeneration) {
        clear(body);
        body.appendChild(h('div', { class: 'eolab-status eolab-status-error' }, errorMessage(error)));
      }
    }
  }
}
