/**
 * Serving panel: a form that creates or updates a serving, the project's servings with their
 * status and start/stop, and one serving in detail (`detail.ts`). `reveal({serving})` opens one.
 */
import { Widget } from '@lumino/widgets';

import { errorMessage, IDescribeServing, ModelServerKind, servingApi } from '../api';
import { clear, h, StatusLine } from '../dom';
import { IEolabPanel, IPanelContext } from '../sidebar/panels';
import { ServingDetail } from './detail';

export class ServingPanel extends Widget implements IEolabPanel {
  private readonly status = new StatusLine();
  private readonly crumbs = h('nav', { class: 'eolab-breadcrumb eolab-sv-crumbs', 'aria-label': 'Location' });
  private readonly listView = h('div', { class: 'eolab-sv-list-view' });
  private readonly rows = h('tbody', {});
  private readonly form = {
    name: h('input', { class: 'eolab-sv-f-name', placeholder: 'serving name', 'aria-label': 'serving name' }),
    model: h('input', { class: 'eolab-sv-f-model', placeholder: 'registered model', 'aria-label': 'model' }),
    version: h('input', { class: 'eolab-sv-f-version', type: 'number', min: 1, placeholder: 'latest', 'aria-label': 'model version' }),
    server: h('select', { class: 'eolab-sv-f-server', 'aria-label': 'model server' },
      h('option', { value: 'tensorflow' }, 'tensorflow'), h('option', { value: 'python' }, 'python')),
    instances: h('input', { class: 'eolab-sv-f-instances', type: 'number', min: 1, value: 1, 'aria-label': 'instances' }),
    batching: h('input', { class: 'eolab-sv-f-batching', type: 'checkbox' }),
    logging: h('input', { class: 'eolab-sv-f-logging', type: 'checkbox', checked: true }),
    sampling: h('input', {
      class: 'eolab-sv-f-sampling', type: 'number', min: 0.01, max: 1, step: 0.05, value: 1,
      'aria-label': 'log sampling', title: 'fraction of successful requests logged (failures always are)'
    })
  };
  private readonly detail = new ServingDetail();
  private project: string | null = null;
  private shown: string | null = null;

  constructor(readonly context: IPanelContext) {
    super();
    this.addClass('eolab-serving');
    const refresh = h('button', { class: 'jp-Button eolab-button eolab-sv-refresh', title: 'Refresh' }, '↻');
    refresh.addEventListener('click', () => void this.refresh());
    const save = h('button', { class: 'jp-Button eolab-button eolab-sv-save' }, 'Create / update');
    save.addEventListener('click', () => void this.save());
    const f = this.form;
    const field = (label: string, input: HTMLElement) => h('label', { class: 'eolab-sv-field' }, h('span', {}, label), input);
    this.listView.append(
      h('fieldset', { class: 'eolab-sv-form' },
        h('legend', {}, 'Create or update a serving'),
        field('name', f.name), field('model', f.model), field('version', f.version), field('server', f.server),
        field('instances', f.instances), field('batching', f.batching), field('inference logging', f.logging),
        field('log sampling', f.sampling), save),
      h('table', { class: 'eolab-sv-servings' },
        h('thead', {}, h('tr', {}, ...['serving', 'model', 'status', 'instances', ''].map(c => h('th', {}, c)))),
        this.rows)
    );
    this.node.append(
      h('div', { class: 'eolab-toolbar eolab-sv-toolbar' }, this.crumbs, refresh),
      this.status.node,
      this.listView,
      this.detail.node
    );
    this.showList();
  }

  projectChanged(project: string | null): void {
    if (project === this.project) {
      return;
    }
    this.project = project;
    this.showList();
    void this.loadList();
  }

  reveal(args: Record<string, any>): void {
    if (typeof args.serving === 'string' && args.serving) {
      void this.open(args.serving);
    }
  }

  private renderCrumbs(): void {
    clear(this.crumbs);
    const home = h('a', { href: '#', class: 'eolab-crumb' }, 'Servings');
    home.addEventListener('click', event => {
      event.preventDefault();
      this.showList();
      void this.loadList();
    });
    this.crumbs.appendChild(home);
    if (this.shown) {
      this.crumbs.append(' › ', h('span', { class: 'eolab-crumb-current' }, this.shown));
    }
  }

  private showList(): void {
    this.shown = null;
    this.detail.hide();
    this.listView.hidden = false;
    this.detail.node.hidden = true;
    this.renderCrumbs();
  }

  async open(name: string): Promise<void> {
    if (!this.project) {
      this.status.error('Select a project above.');
      return;
    }
    this.shown = name;
    this.listView.hidden = true;
    this.detail.node.hidden = false;
    this.status.clear();
    this.renderCrumbs();
    await this.detail.load(this.project, name);
  }

  async refresh(): Promise<void> {
    if (this.shown) {
      await this.open(this.shown);
    } else {
      await this.loadList();
    }
  }

  async loadList(): Promise<void> {
    clear(this.rows);
    if (!this.project) {
      this.status.info('Select a project above.');
      return;
    }
    let servings: IDescribeServing[];
    try {
      servings = await servingApi.list(this.project);
    } catch (error) {
      this.status.error(errorMessage(error));
      return;
    }
    if (!servings.length) {
      this.status.info('No servings yet: create one with the form above.');
    }
    clear(this.rows);
    for (const s of servings) {
      this.rows.appendChild(this.row(s));
    }
  }

  private row(s: IDescribeServing): HTMLTableRowElement {
    const name = h('a', { href: '#', class: 'eolab-sv-open' }, s.name);
    name.addEventListener('click', event => {
      event.preventDefault();
      void this.open(s.name);
    });
    const running = s.status === 'Running' || s.status === 'Starting';
    const toggle = h('button', { class: `jp-Button eolab-button ${running ? 'eolab-sv-stop' : 'eolab-sv-start'}` }, running ? 'Stop' : 'Start');
    toggle.addEventListener('click', () => void this.act(s.name, running ? 'stop' : 'start', toggle));
    const edit = h('button', { class: 'jp-Button eolab-button eolab-sv-edit', title: 'Edit in the form' }, 'Edit');
    edit.addEventListener('click', () => this.fill(s));
    const remove = h('button', { class: 'jp-Button eolab-button eolab-sv-delete', title: 'Stop and delete' }, '✕');
    remove.addEventListener('click', () => void this.remove(s.name));
    return h('tr', { class: 'eolab-sv-serving', 'data-serving': s.name },
      h('td', {}, name),
      h('td', {}, `${s.model_name} v${s.model_version}`),
      h('td', { class: `eolab-sv-status eolab-sv-${s.status.toLowerCase()}`, title: s.reason }, s.status),
      h('td', { class: 'eolab-sv-count' }, `${s.available_instances}/${s.requested_instances}`),
      h('td', { class: 'eolab-sv-actions' }, toggle, edit, remove));
  }

  private fill(s: IDescribeServing): void {
    const f = this.form;
    f.name.value = s.name;
    f.model.value = s.model_name;
    f.version.value = String(s.model_version);
    f.server.value = s.model_server;
    f.instances.value = String(s.requested_instances);
    f.batching.checked = s.batching !== null;
    f.logging.checked = s.inference_logging;
    f.sampling.value = String(s.log_sampling);
  }

  private async act(name: string, action: 'start' | 'stop', button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    this.status.info(`${action === 'start' ? 'Starting' : 'Stopping'} ${name}…`);
    try {
      await servingApi.action(this.project!, name, action);
      this.status.clear();
    } catch (error) {
      this.status.error(errorMessage(error));
    }
    await this.loadList();
  }

  private async remove(name: string): Promise<void> {
    try {
      await servingApi.remove(this.project!, name);
      this.status.info(`Deleted ${name}.`);
    } catch (error) {
      this.status.error(errorMessage(error));
    }
    await this.loadList();
  }

  async save(): Promise<void> {
    const f = this.form;
    if (!this.project) {
      this.status.error('Select a project above.');
      return;
    }
    const name = f.name.value.trim();
    const model = f.model.value.trim();
    if (!name || !model) {
      this.status.error('A serving needs a name and a registered model.');
      return;
    }
    const instances = Number(f.instances.value || '1');
    try {
      await servingApi.createOrUpdate(this.project, name, {
        model_name: model,
        model_version: f.version.value ? Number(f.version.value) : null,
        model_server: f.server.value as ModelServerKind,
        instances,
        batching: f.batching.checked,
        inference_logging: f.logging.checked,
        log_sampling: f.sampling.value ? Number(f.sampling.value) : 1
      });
      this.status.info(`Saved ${name}.`);
    } catch (error) {
      this.status.error(errorMessage(error));
      return;
    }
    await this.loadList();
  }
}
