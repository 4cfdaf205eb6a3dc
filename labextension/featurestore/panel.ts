/**
 * Feature Store panel: the project's feature groups and training datasets (one filter for
 * both), one feature group in detail (versions, schema, commits timeline, statistics with
 * histograms, data preview, expectations and validations, tags) or one training dataset
 * (format, splits, provenance, features, statistics and preview per split, tags).
 * A search hit or the `eolab:open-featuregroup` / `eolab:open-trainingdataset` command opens
 * one with `reveal`.
 */
import { Widget } from '@lumino/widgets';

import { h, StatusLine } from '../dom';
import { IEolabPanel, IPanelContext } from '../sidebar/panels';
import { FeatureGroupDetail } from './detail';
import { FeatureGroupList, TrainingDatasetList } from './list';
import { TrainingDatasetDetail } from './tddetail';

type Kind = 'featuregroup' | 'trainingdataset';

export class FeatureStorePanel extends Widget implements IEolabPanel {
  private readonly status = new StatusLine();
  private readonly crumbs = h('nav', { class: 'eolab-breadcrumb eolab-fs-crumbs', 'aria-label': 'Location' });
  private readonly filter = h('input', {
    type: 'search',
    class: 'eolab-fs-filter',
    placeholder: 'Filter feature groups and training datasets…',
    'aria-label': 'Filter feature groups and training datasets'
  });
  private readonly groups = new FeatureGroupList((name, version) => void this.open(name, version), this.filter);
  private readonly datasets = new TrainingDatasetList((name, version) => void this.openTrainingDataset(name, version), this.filter);
  private readonly home = h(
    'div',
    { class: 'eolab-fs-home' },
    this.filter,
    h('section', { class: 'eolab-fs-home-section eolab-fs-groups-section' }, h('h4', {}, 'Feature groups'), this.groups.node),
    h('section', { class: 'eolab-fs-home-section eolab-fs-tds-section' }, h('h4', {}, 'Training datasets'), this.datasets.node)
  );
  private readonly detail = new FeatureGroupDetail(message => this.status.error(message));
  private readonly tdDetail = new TrainingDatasetDetail(
    (name, version, commitId) => void this.open(name, version, commitId ?? undefined),
    message => this.status.error(message)
  );
  private project: string | null = null;

  constructor(readonly context: IPanelContext) {
    super();
    this.addClass('eolab-featurestore');
    const refresh = h('button', { class: 'jp-Button eolab-button eolab-fs-refresh', title: 'Refresh' }, '↻');
    refresh.addEventListener('click', () => void this.refresh());
    this.node.appendChild(h('div', { class: 'eolab-toolbar eolab-fs-toolbar' }, this.crumbs, refresh));
    this.node.appendChild(this.status.node);
    this.node.appendChild(this.home);
    this.node.appendChild(this.detail.node);
    this.node.appendChild(this.tdDetail.node);
    this.showList();
  }

  projectChanged(project: string | null): void {
    if (project === this.project) {
      return;
    }
    this.project = project;
    this.showList();
    void this.loadLists();
  }

  /**
   * Open `{project, name, version}`: a feature group (with `commit`, at that commit), or a
   * training dataset when `kind` is 'trainingdataset'. Version: the latest when absent.
   */
  reveal(args: Record<string, any>): void {
    if (typeof args.name !== 'string' || !args.name) {
      return;
    }
    const version = Number(args.version);
    const v = Number.isInteger(version) && version > 0 ? version : undefined;
    if (args.kind === 'trainingdataset') {
      void this.openTrainingDataset(args.name, v);
    } else {
      const commit = Number(args.commit);
      void this.open(args.name, v, args.commit !== undefined && Number.isInteger(commit) ? commit : undefined);
    }
  }

  private loadLists(): Promise<unknown> {
    return Promise.all([this.groups.load(this.project), this.datasets.load(this.project)]);
  }

  private renderCrumbs(kind: Kind | null, name: string | null): void {
    while (this.crumbs.firstChild) {
      this.crumbs.removeChild(this.crumbs.firstChild);
    }
    const home = h('a', { href: '#', class: 'eolab-crumb', 'data-path': '' }, 'Feature Store');
    home.addEventListener('click', event => {
      event.preventDefault();
      this.showList();
      void this.loadLists();
    });
    this.crumbs.appendChild(home);
    if (kind && name) {
      this.crumbs.appendChild(document.createTextNode(' › '));
      const what = kind === 'trainingdataset' ? 'training dataset' : 'feature group';
      this.crumbs.appendChild(h('span', { class: 'eolab-crumb-current', 'data-path': name, 'data-kind': kind, title: what }, name));
    }
  }

  private showList(): void {
    this.status.clear();
    this.renderCrumbs(null, null);
    this.home.hidden = false;
    this.detail.node.hidden = true;
    this.tdDetail.node.hidden = true;
  }

  private showDetail(kind: Kind, name: string): boolean {
    if (!this.project) {
      this.status.error('Select a project above.');
      return false;
    }
    this.status.clear();
    this.renderCrumbs(kind, name);
    this.home.hidden = true;
    this.detail.node.hidden = kind !== 'featuregroup';
    this.tdDetail.node.hidden = kind !== 'trainingdataset';
    return true;
  }

  /** Open a feature group (at `commitId` when given). */
  async open(name: string, version?: number, commitId?: number): Promise<void> {
    if (this.showDetail('featuregroup', name)) {
      await this.detail.load(this.project!, name, version, commitId);
    }
  }

  async openTrainingDataset(name: string, version?: number): Promise<void> {
    if (this.showDetail('trainingdataset', name)) {
      await this.tdDetail.load(this.project!, name, version);
    }
  }

  async refresh(): Promise<void> {
    const group = this.detail.current;
    const dataset = this.tdDetail.current;
    if (!this.detail.node.hidden && group) {
      await this.open(group.name, group.version);
    } else if (!this.tdDetail.node.hidden && dataset) {
      await this.openTrainingDataset(dataset.name, dataset.version);
    } else {
      await this.loadLists();
    }
  }
}
