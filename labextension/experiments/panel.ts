/**
 * Experiments panel: the project's runs (filter, sort by any metric, pick runs to compare), one
 * run in detail, or a comparison of several. `reveal({run})` (a search hit, a command) opens a
 * run; `reveal({compare: [ids]})` compares runs.
 */
import { Widget } from '@lumino/widgets';

import { h, StatusLine } from '../dom';
import { IEolabPanel, IPanelContext } from '../sidebar/panels';
import { RunComparison } from './compare';
import { RunDetail } from './detail';
import { RunsTable } from './list';

type View = 'list' | 'run' | 'compare';

export class ExperimentsPanel extends Widget implements IEolabPanel {
  private readonly status = new StatusLine();
  private readonly crumbs = h('nav', { class: 'eolab-breadcrumb eolab-exp-crumbs', 'aria-label': 'Location' });
  private readonly runs = new RunsTable(
    runId => void this.openRun(runId),
    runIds => void this.compare(runIds)
  );
  private readonly detail = new RunDetail((name, version) =>
    this.context.showPanel('featurestore', { kind: 'trainingdataset', name, version })
  );
  private readonly comparison = new RunComparison(runId => void this.openRun(runId));
  private project: string | null = null;
  private view: View = 'list';
  private shown: string[] = [];

  constructor(readonly context: IPanelContext) {
    super();
    this.addClass('eolab-experiments');
    const refresh = h('button', { class: 'jp-Button eolab-button eolab-exp-refresh', title: 'Refresh' }, '↻');
    refresh.addEventListener('click', () => void this.refresh());
    this.node.appendChild(h('div', { class: 'eolab-toolbar eolab-exp-toolbar' }, this.crumbs, refresh));
    this.node.appendChild(this.status.node);
    this.node.appendChild(this.runs.node);
    this.node.appendChild(this.detail.node);
    this.node.appendChild(this.comparison.node);
    this.showView('list', []);
  }

  projectChanged(project: string | null): void {
    if (project === this.project) {
      return;
    }
    this.project = project;
    this.showView('list', []);
    void this.runs.load(project);
  }

  reveal(args: Record<string, any>): void {
    if (Array.isArray(args.compare) && args.compare.length >= 2) {
      void this.compare(args.compare.map(String));
    } else if (typeof args.run === 'string' && args.run) {
      void this.openRun(args.run);
    }
  }

  private renderCrumbs(): void {
    while (this.crumbs.firstChild) {
      this.crumbs.removeChild(this.crumbs.firstChild);
    }
    const home = h('a', { href: '#', class: 'eolab-crumb', 'data-path': '' }, 'Experiments');
    home.addEventListener('click', event => {
      event.preventDefault();
      this.showView('list', []);
      void this.runs.load(this.project);
    });
    this.crumbs.appendChild(home);
    if (this.view !== 'list') {
      this.crumbs.appendChild(document.createTextNode(' › '));
      const label = this.view === 'run' ? this.detail.current?.name ?? this.shown[0] : `compare ${this.shown.length} runs`;
      this.crumbs.appendChild(h('span', { class: 'eolab-crumb-current', 'data-path': this.shown.join(',') }, label));
    }
  }

  private showView(view: View, ids: string[]): boolean {
    if (view !== 'list' && !this.project) {
      this.status.error('Select a project above.');
      return false;
    }
    this.view = view;
    this.shown = ids;
    this.status.clear();
    if (view !== 'run') {
      this.detail.hide();
    }
    this.runs.node.hidden = view !== 'list';
    this.detail.node.hidden = view !== 'run';
    this.comparison.node.hidden = view !== 'compare';
    this.renderCrumbs();
    return true;
  }

  async openRun(runId: string): Promise<void> {
    if (this.showView('run', [runId])) {
      await this.detail.load(this.project!, runId);
      this.renderCrumbs();
    }
  }

  async compare(runIds: string[]): Promise<void> {
    if (this.showView('compare', runIds)) {
      await this.comparison.load(this.project!, runIds);
    }
  }

  async refresh(): Promise<void> {
    if (this.view === 'run') {
      await this.openRun(this.shown[0]);
    } else if (this.view === 'compare') {
      await this.compare(this.shown);
    } else {
      await this.runs.load(this.project);
    }
  }
}
