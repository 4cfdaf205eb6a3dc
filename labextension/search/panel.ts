/** Search panel: a term and a scope; hits with type icons and highlights; a dataset hit opens it. */
import { Widget } from '@lumino/widgets';

import { api, errorMessage, ISearchHit, SearchScope } from '../api';
import { clear, h, highlighted, StatusLine } from '../dom';
import { IEolabPanel, IPanelContext } from '../sidebar/panels';

const SCOPES: [SearchScope, string][] = [
  ['everything', 'Everything'],
  ['projects', 'Projects'],
  ['datasets', 'Datasets'],
  ['featurestore', 'Feature store'],
  ['experiments', 'Experiments'],
  ['models', 'Models']
];

export class SearchPanel extends Widget implements IEolabPanel {
  private readonly input = h('input', { type: 'search', class: 'eolab-search-term', placeholder: 'Search…', 'aria-label': 'Search term' });
  private readonly scope = h('select', { class: 'eolab-search-scope', 'aria-label': 'Scope' });
  private readonly status = new StatusLine();
  private readonly results = h('ul', { class: 'eolab-search-results' });

  constructor(private readonly context: IPanelContext) {
    super();
    this.addClass('eolab-search');
    for (const [value, label] of SCOPES) {
      this.scope.appendChild(h('option', { value }, label));
    }
    const form = h('form', { class: 'eolab-search-form' }, this.input, this.scope, h('button', { type: 'submit', class: 'jp-Button eolab-search-go' }, 'Search'));
    form.addEventListener('submit', event => {
      event.preventDefault();
      void this.run();
    });
    this.node.appendChild(form);
    this.node.appendChild(this.status.node);
    this.node.appendChild(this.results);
  }

  projectChanged(): void {
    // search spans every project the user may see; nothing to reset
  }

  async run(): Promise<void> {
    clear(this.results);
    const term = this.input.value.trim();
    if (!term) {
      this.status.info('Type a word to search for.');
      return;
    }
    try {
      const response = await api.search(term, this.scope.value as SearchScope);
      this.status.info(`${response.total} hit${response.total === 1 ? '' : 's'}`);
      for (const hit of response.hits) {
        this.results.appendChild(this.hitRow(hit));
      }
    } catch (error) {
      this.status.error(errorMessage(error));
    }
  }

  private hitRow(hit: ISearchHit): HTMLLIElement {
    const byField = new Map(hit.highlights.map(x => [x.field, x]));
    const nameHl = byField.get('name');
    const li = h(
      'li',
      { class: `eolab-hit eolab-hit-${hit.kind}`, 'data-kind': hit.kind, 'data-ref': hit.ref },
      h('span', { class: `eolab-icon eolab-icon-${hit.kind === 'file' ? 'file' : hit.kind}`, title: hit.kind }),
      h('span', { class: 'eolab-hit-name' }, nameHl ? highlighted(nameHl.text, nameHl.spans) : hit.name),
      h('span', { class: 'eolab-hit-kind' }, hit.kind),
      hit.project ? h('span', { class: 'eolab-hit-project' }, hit.project) : null
    );
    for (const field of ['description', 'tags']) {
      const hl = byField.get(field);
      if (hl) {
        li.appendChild(h('div', { class: `eolab-hit-${field}` }, highlighted(hl.text, hl.spans)));
      } else if (field === 'description' && hit.description) {
        li.appendChild(h('div', { class: 'eolab-hit-description' }, hit.description));
      }
    }
    if ((hit.kind === 'dataset' || hit.kind === 'file') && hit.project) {
      li.classList.add('eolab-clickable');
      li.addEventListener('click', () => {
        const path = hit.ref.slice(hit.project!.length + 1);
        this.context.showPanel('datasets', { project: hit.project, path, kind: hit.kind });
      });
    }
    if ((hit.kind === 'featuregroup' || hit.kind === 'feature') && hit.project) {
      // ref: project/name/version[/feature]
      const [, name, version] = hit.ref.split('/');
      li.classList.add('eolab-clickable');
      li.addEventListener('click', () =>
        this.context.showPanel('featurestore', { project: hit.project, name, version: Number(version) })
      );
    }
    if (hit.kind === 'trainingdataset' && hit.project) {
      // ref: project/name/version
      const [, name, version] = hit.ref.split('/');
      li.classList.add('eolab-clickable');
      li.addEventListener('click', () =>
        this.context.showPanel('featurestore', { project: hit.project, kind: 'trainingdataset', name, version: Number(version) })
      );
    }
    if (hit.kind === 'experiment' && hit.project) {
      // ref: project/run_id
      const run = hit.ref.slice(hit.project.length + 1);
      li.classList.add('eolab-clickable');
      li.addEventListener('click', () => this.context.showPanel('experiments', { project: hit.project, run }));
    }
    return li;
  }
}
