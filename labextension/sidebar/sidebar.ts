/** The eolab sidebar: a project picker above a tab per registered panel. */
import { Panel, TabPanel, Widget } from '@lumino/widgets';

import { api, errorMessage } from '../api';
import { h, StatusLine } from '../dom';
import { eolabIcon } from '../icons';
import { IEolabPanel, IPanelContext, registeredPanels } from './panels';


const PROJECT_KEY = 'eolab:project';

export class EolabSidebar extends Panel {
  private readonly picker = h('select', { class: 'eolab-project-picker', 'aria-label': 'Project' });
  private readonly status = new StatusLine();
  private readonly tabs = new TabPanel();
  private readonly panels = new Map<string, IEolabPanel>();
  private current: string | null = null;

  constructor() {
    super();
    this.id = 'eolab-sidebar';
    this.addClass('eolab-sidebar');
    this.title.icon = eolabIcon;
    this.title.caption = 'eolab';
    const header = h(
      'div',
      { class: 'eolab-sidebar-header' },
      h('span', { class: 'eolab-sidebar-title' }, 'eolab'),
      h('label', {}, 'Project ', this.picker),
      h('button', { class: 'eolab-refresh jp-Button', title: 'Reload projects' }, '↻'),
      this.status.node
    );
    header.querySelector('button')!.addEventListener('click', () => void this.loadProjects());
    this.picker.addEventListener('change', () => this.selectProject(this.picker.value || null));
    this.addWidget(new Widget({ node: header }));
    this.tabs.addClass('eolab-tabs');
    this.tabs.tabBar.addClass('eolab-tabbar');
    const context: IPanelContext = {
      project: () => this.current,
      showPanel: (id, args) => void this.showPanel(id, args)
    };
    for (const spec of registeredPanels()) {
      const panel = spec.create(context);
      panel.id = `eolab-panel-${spec.id}`;
      panel.title.label = spec.label;
      panel.addClass('eolab-panel');
      panel.node.dataset.panel = spec.id;
      this.panels.set(spec.id, panel);
      this.tabs.addWidget(panel);
    }
    this.addWidget(this.tabs);
    void this.loadProjects();
  }

  get project(): string | null {
    return this.current;
  }

  async showPanel(id: string, args: Record<string, any> = {}): Promise<void> {
    const panel = this.panels.get(id);
    if (!panel) {
      return;
    }
    if (args.project && args.project !== this.current) {
      if (!Array.from(this.picker.options).some(o => o.value === args.project)) {
        await this.loadProjects(); // a project made since the sidebar loaded its list
      }
      this.picker.value = args.project;
      this.selectProject(args.project);
    }
    this.tabs.currentWidget = panel;
    panel.reveal?.(args);
  }

  async loadProjects(): Promise<void> {
    this.status.clear();
    try {
      const projects = await api.listProjects();
      while (this.picker.firstChild) {
        this.picker.removeChild(this.picker.firstChild);
      }
      if (!projects.length) {
        this.picker.appendChild(h('option', { value: '' }, '(no project)'));
        this.status.info('No project yet: create one with eolab.connect(project=…, create=True).');
        this.selectProject(null);
        return;
      }
      for (const p of projects) {
        this.picker.appendChild(h('option', { value: p.name }, p.name));
      }
      const stored = window.localStorage.getItem(PROJECT_KEY);
      const chosen = projects.find(p => p.name === (this.current || stored)) || projects[0];
      this.picker.value = chosen.name;
      this.selectProject(chosen.name);
    } catch (error) {
      this.status.error(errorMessage(error));
    }
  }

  private selectProject(project: string | null): void {
    this.current = project;
    if (project) {
      window.localStorage.setItem(PROJECT_KEY, project);
    }
    for (const panel of this.panels.values()) {
      panel.projectChanged(project);
    }
  }
}
