/**
 * The Feature Store's home: the project's feature groups and training datasets, both narrowed
 * by one filter box; a click opens one.
 */
import {
  api,
  errorMessage,
  IDescribeFeatureGroupSummary,
  IDescribeTrainingDatasetSummary
} from '../api';
import { clear, h, StatusLine } from '../dom';
import { formatNumber, utcText } from './format';

export function badge(label: string, kind: string, title = ''): HTMLElement {
  return h('span', { class: `eolab-badge eolab-badge-${kind}`, title: title || undefined }, label);
}

/** How one kind of item is fetched, matched and drawn. */
interface IListSpec<T> {
  /** class of the <ul> */
  listClass: string;
  what: string;
  empty: string;
  fetch(project: string): Promise<T[]>;
  /** the text the filter matches (lower-cased) */
  text(item: T): string;
  row(item: T): HTMLElement;
}

/** A list that loads its items for a project and shows those matching the shared filter. */
class FilteredList<T> {
  readonly node: HTMLElement;
  private readonly status = new StatusLine();
  private readonly items: HTMLUListElement;
  private all: T[] = [];
  private generation = 0;

  constructor(
    private readonly spec: IListSpec<T>,
    private readonly filter: HTMLInputElement,
    cls: string
  ) {
    this.items = h('ul', { class: spec.listClass });
    this.node = h('div', { class: cls }, this.status.node, this.items);
    filter.addEventListener('input', () => this.render());
  }

  async load(project: string | null): Promise<void> {
    const generation = ++this.generation;
    clear(this.items);
    this.all = [];
    if (!project) {
      this.status.info('Select a project above.');
      return;
    }
    this.status.info(`Loading ${this.spec.what}…`);
    try {
      const items = await this.spec.fetch(project);
      if (generation !== this.generation) {
        return;
      }
      this.all = items;
      this.status.clear();
      this.render();
    } catch (error) {
      if (generation === this.generation) {
        this.status.error(errorMessage(error));
      }
    }
  }

  private render(): void {
    clear(this.items);
    if (!this.all.length) {
      this.items.appendChild(h('li', { class: 'eolab-empty' }, this.spec.empty));
      return;
    }
    const term = this.filter.value.trim().toLowerCase();
    const shown = this.all.filter(item => !term || this.spec.text(item).includes(term));
    if (!shown.length) {
      this.items.appendChild(h('li', { class: 'eolab-empty' }, `No ${this.spec.what.replace(/s$/, '')} matches “${this.filter.value}”.`));
    }
    for (const item of shown) {
      this.items.appendChild(this.spec.row(item));
    }
  }
}

function clickable(li: HTMLElement, open: () => void): HTMLElement {
  li.addEventListener('click', open);
  li.addEventListener('keydown', event => {
    if (event.key === 'Enter') {
      open();
    }
  });
  return li;
}

function versionsText(versions: number[]): string {
  return versions.length === 1 ? `v${versions[0]}` : `${versions.length} versions`;
}

export class FeatureGroupList extends FilteredList<IDescribeFeatureGroupSummary> {
  constructor(open: (name: string, version: number) => void, filter: HTMLInputElement) {
    super(
      {
        listClass: 'eolab-fs-groups',
        what: 'feature groups',
        empty: 'No feature groups yet: create one with fs.create_feature_group(…) and save(df).',
        fetch: project => api.listFeatureGroups(project),
        text: g => `${g.name} ${g.description}`.toLowerCase(),
        row: group => {
          const commit = group.latest_commit;
          const li = h(
            'li',
            { class: 'eolab-fs-group', 'data-name': group.name, tabindex: 0 },
            h('span', { class: 'eolab-icon eolab-icon-featuregroup' }),
            h('span', { class: 'eolab-fs-group-name' }, group.name),
            h('span', { class: 'eolab-meta eolab-fs-group-versions' }, versionsText(group.versions)),
            group.online_enabled ? badge('online', 'online', 'served from the online store') : null,
            h(
              'div',
              { class: 'eolab-fs-group-note' },
              group.description || '(no description)',
              commit ? h('span', { class: 'eolab-fs-group-commit' }, ` · last commit ${utcText(commit.committed_on)}`) : ''
            )
          );
          return clickable(li, () => open(group.name, group.latest_version));
        }
      },
      filter,
      'eolab-fs-list'
    );
  }
}

export class TrainingDatasetList extends FilteredList<IDescribeTrainingDatasetSummary> {
  constructor(open: (name: string, version: number) => void, filter: HTMLInputElement) {
    super(
      {
        listClass: 'eolab-fs-tds',
        what: 'training datasets',
        empty: 'No training datasets yet: create one with fs.create_training_dataset(…) and save(query).',
        fetch: project => api.listTrainingDatasets(project),
        text: t => `${t.name} ${t.description} ${t.data_format}`.toLowerCase(),
        row: td => {
          const li = h(
            'li',
            { class: 'eolab-fs-td', 'data-name': td.name, tabindex: 0 },
            h('span', { class: 'eolab-icon eolab-icon-trainingdataset' }),
            h('span', { class: 'eolab-fs-group-name' }, td.name),
            h('span', { class: 'eolab-meta eolab-fs-group-versions' }, versionsText(td.versions)),
            badge(td.data_format, 'format', 'file format'),
            h(
              'div',
              { class: 'eolab-fs-group-note' },
              td.description || '(no description)',
              ` · ${formatNumber(td.row_count)} rows`,
              td.created ? ` · created ${utcText(td.created)}` : ''
            )
          );
          return clickable(li, () => open(td.name, td.latest_version));
        }
      },
      filter,
      'eolab-fs-td-list'
    );
  }
}
