/** The feature groups of a project, with a filter box; a click opens one. */
import { api, errorMessage, IDescribeFeatureGroupSummary } from '../api';
import { clear, h, StatusLine } from '../dom';
import { utcText } from './format';

export function badge(label: string, kind: string, title = ''): HTMLElement {
  return h('span', { class: `eolab-badge eolab-badge-${kind}`, title: title || undefined }, label);
}

export class FeatureGroupList {
  readonly node = h('div', { class: 'eolab-fs-list' });
  private readonly filter = h('input', {
    type: 'search',
    class: 'eolab-fs-filter',
    placeholder: 'Filter feature groups…',
    'aria-label': 'Filter feature groups'
  });
  private readonly status = new StatusLine();
  private readonly items = h('ul', { class: 'eolab-fs-groups' });
  private groups: IDescribeFeatureGroupSummary[] = [];
  private generation = 0;

  constructor(private readonly open: (name: string, version: number) => void) {
    this.filter.addEventListener('input', () => this.render());
    this.node.appendChild(this.filter);
    this.node.appendChild(this.status.node);
    this.node.appendChild(this.items);
  }

  async load(project: string | null): Promise<void> {
    const generation = ++this.generation;
    clear(this.items);
    this.groups = [];
    if (!project) {
      this.status.info('Select a project above.');
      return;
    }
    this.status.info('Loading feature groups…');
    try {
      const groups = await api.listFeatureGroups(project);
      if (generation !== this.generation) {
        return;
      }
      this.groups = groups;
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
    if (!this.groups.length) {
      this.items.appendChild(
        h('li', { class: 'eolab-empty' }, 'No feature groups yet: create one with fs.create_feature_group(…) and save(df).')
      );
      return;
    }
    const term = this.filter.value.trim().toLowerCase();
    const shown = this.groups.filter(
      g => !term || g.name.toLowerCase().includes(term) || g.description.toLowerCase().includes(term)
    );
    if (!shown.length) {
      this.items.appendChild(h('li', { class: 'eolab-empty' }, `No feature group matches “${this.filter.value}”.`));
    }
    for (const group of shown) {
      this.items.appendChild(this.row(group));
    }
  }

  private row(group: IDescribeFeatureGroupSummary): HTMLLIElement {
    const commit = group.latest_commit;
    const versions = group.versions.length === 1 ? `v${group.versions[0]}` : `${group.versions.length} versions`;
    const li = h(
      'li',
      { class: 'eolab-fs-group', 'data-name': group.name, tabindex: 0 },
      h('span', { class: 'eolab-icon eolab-icon-featuregroup' }),
      h('span', { class: 'eolab-fs-group-name' }, group.name),
      h('span', { class: 'eolab-meta eolab-fs-group-versions' }, versions),
      group.online_enabled ? badge('online', 'online', 'served from the online store') : null,
      h(
        'div',
        { class: 'eolab-fs-group-note' },
        group.description || '(no description)',
        commit ? h('span', { class: 'eolab-fs-group-commit' }, ` · last commit ${utcText(commit.committed_on)}`) : ''
      )
    );
    const open = () => this.open(group.name, group.latest_version);
    li.addEventListener('click', open);
    li.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        open();
      }
    });
    return li;
  }
}
