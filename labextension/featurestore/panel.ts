/**
 * Feature Store panel: the project's feature groups (filterable), and one group in detail
 * (versions, schema, commits timeline, statistics with histograms, data preview, tags).
 * A search hit or the `eolab:open-featuregroup` command opens a group with `reveal`.
 */
import { Widget } from '@lumino/widgets';

import { h, StatusLine } from '../dom';
import { IEolabPanel, IPanelContext } from '../sidebar/panels';
import { FeatureGroupDetail } from './detail';
import { FeatureGroupList } from './list';

export class FeatureStorePanel extends Widget implements IEolabPanel {
  private readonly status = new StatusLine();
  private readonly crumbs = h('nav', { class: 'eolab-breadcrumb eolab-fs-crumbs', 'aria-label': 'Location' });
  private readonly list = new FeatureGroupList((name, version) => void this.open(name, version));
  private readonly detail = new FeatureGroupDetail(message => this.status.error(message));
  private project: string | null = null;

  constructor(readonly context: IPanelContext) {
    super();
    this.addClass('eolab-featurestore');
    const refresh = h('button', { class: 'jp-Button eolab-button eolab-fs-refresh', title: 'Refresh' }, '↻');
    refresh.addEventListener('click', () => void this.refresh());
    this.node.appendChild(h('div', { class: 'eolab-toolbar eolab-fs-toolbar' }, this.crumbs, refresh));
    this.node.appendChild(this.status.node);
    this.node.appendChild(this.list.node);
    this.node.appendChild(this.detail.node);
    this.showList();
  }

  projectChanged(project: string | null): void {
    if (project === this.project) {
      return;
    }
    this.project = project;
    this.showList();
    void this.list.load(project);
  }

  /** Open a feature group: `{project, name, version}` (version: the latest when absent). */
  reveal(args: Record<string, any>): void {
    if (typeof args.name === 'string' && args.name) {
      const version = Number(args.version);
      void this.open(args.name, Number.isInteger(version) && version > 0 ? version : undefined);
    }
  }

  private renderCrumbs(name: string | null): void {
    while (this.crumbs.firstChild) {
      this.crumbs.removeChild(this.crumbs.firstChild);
    }
    const home = h('a', { href: '#', class: 'eolab-crumb', 'data-path': '' }, 'Feature groups');
    home.addEventListener('click', event => {
      event.preventDefault();
      this.showList();
      void this.list.load(this.project);
    });
    this.crumbs.appendChild(home);
    if (name) {
      this.crumbs.appendChild(document.createTextNode(' › '));
      this.crumbs.appendChild(h('span', { class: 'eolab-crumb-current', 'data-path': name }, name));
    }
  }

  private showList(): void {
    this.status.clear();
    this.renderCrumbs(null);
    this.list.node.hidden = false;
    this.detail.node.hidden = true;
  }

  async open(name: string, version?: number): Promise<void> {
    if (!this.project) {
      this.status.error('Select a project above.');
      return;
    }
    this.status.clear();
    this.renderCrumbs(name);
    this.list.node.hidden = true;
    this.detail.node.hidden = false;
    await this.detail.load(this.project, name, version);
  }

  async refresh(): Promise<void> {
    const current = this.detail.current;
    if (!this.detail.node.hidden && current) {
      await this.open(current.name, current.version);
    } else {
      await this.list.load(this.project);
    }
  }
}
