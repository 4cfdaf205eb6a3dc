/** The eolab JupyterLab extension: one sidebar icon, a project picker and the eolab panels. */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';

import { DatasetsPanel } from './datasets/panel';
import { ExperimentsPanel } from './experiments/panel';
import { FeatureStorePanel } from './featurestore/panel';
import { SearchPanel } from './search/panel';
import { ServingPanel } from './serving/panel';
import { registerPanel } from './sidebar/panels';
import { EolabSidebar } from './sidebar/sidebar';

export { registerPanel } from './sidebar/panels';

registerPanel({ id: 'datasets', label: 'Datasets', rank: 10, create: context => new DatasetsPanel(context) });
registerPanel({ id: 'search', label: 'Search', rank: 20, create: context => new SearchPanel(context) });
registerPanel({ id: 'featurestore', label: 'Feature Store', rank: 30, create: context => new FeatureStorePanel(context) });
registerPanel({ id: 'experiments', label: 'Experiments', rank: 40, create: context => new ExperimentsPanel(context) });
registerPanel({ id: 'serving', label: 'Serving', rank: 50, create: context => new ServingPanel(context) });

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'eolab:sidebar',
  description: 'The eolab sidebar: datasets, search and the rest of the EO pipeline.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (app: JupyterFrontEnd, restorer: ILayoutRestorer | null, palette: ICommandPalette | null) => {
    const sidebar = new EolabSidebar();
    app.shell.add(sidebar, 'left', { rank: 250 });
    restorer?.add(sidebar, 'eolab-sidebar');
    app.commands.addCommand('eolab:open-sidebar', {
      label: 'Open the eolab sidebar',
      execute: () => app.shell.activateById(sidebar.id)
    });
    app.commands.addCommand('eolab:open-dataset', {
      label: 'Open a dataset in the eolab sidebar',
      execute: args => {
        app.shell.activateById(sidebar.id);
        return sidebar.showPanel('datasets', args as Record<string, any>);
      }
    });
    app.commands.addCommand('eolab:open-featuregroup', {
      label: 'Open a feature group in the eolab Feature Store',
      execute: args => {
        app.shell.activateById(sidebar.id);
        return sidebar.showPanel('featurestore', args as Record<string, any>);
      }
    });
    app.commands.addCommand('eolab:open-trainingdataset', {
      label: 'Open a training dataset in the eolab Feature Store',
      execute: args => {
        app.shell.activateById(sidebar.id);
        return sidebar.showPanel('featurestore', { ...(args as Record<string, any>), kind: 'trainingdataset' });
      }
    });
    app.commands.addCommand('eolab:open-experiment', {
      label: 'Open an experiment run in the eolab Experiments panel',
      execute: args => {
        app.shell.activateById(sidebar.id);
        return sidebar.showPanel('experiments', args as Record<string, any>);
      }
    });
    app.commands.addCommand('eolab:open-serving', {
      label: 'Open a serving in the eolab Serving panel',
      execute: args => {
        app.shell.activateById(sidebar.id);
        return sidebar.showPanel('serving', args as Record<string, any>);
      }
    });
    palette?.addItem({ command: 'eolab:open-sidebar', category: 'eolab' });
  }
};

export default plugin;
