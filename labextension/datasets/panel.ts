/**
 * Datasets panel: the current project's datasets and their folders (with a breadcrumb),
 * chunked uploads by button or drag-and-drop with a progress bar per file, download, new
 * folder, delete with confirmation, a preview pane and the tags of the selected item.
 */
import { Dialog, InputDialog, showDialog } from '@jupyterlab/apputils';
import { deleteIcon, downloadIcon, fileIcon, folderIcon, LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { api, errorMessage, IDescribeFile, IPreviewResponse, uploadFile } from '../api';
import { clear, formatSize, h, StatusLine } from '../dom';
import { IEolabPanel, IPanelContext } from '../sidebar/panels';
import { eolabIcon } from '../icons';
import { datasetTags, TagEditor } from '../tags/tagform';

function icon(which: LabIcon, cls: string): HTMLElement {
  return which.element({ tag: 'span', className: cls, height: '16px', width: '16px' });
}

export class DatasetsPanel extends Widget implements IEolabPanel {
  private readonly status = new StatusLine();
  private readonly crumbs = h('nav', { class: 'eolab-breadcrumb', 'aria-label': 'Location' });
  private readonly toolbar = h('div', { class: 'eolab-toolbar' });
  private readonly list = h('ul', { class: 'eolab-file-list' });
  private readonly uploads = h('ul', { class: 'eolab-uploads' });
  private readonly details = h('div', { class: 'eolab-details' });
  private readonly fileInput = h('input', { type: 'file', multiple: true, class: 'eolab-file-input' });
  private project: string | null = null;
  /** '' is the list of datasets; otherwise 'dataset/folder/...'. */
  private path = '';
  private selected: string | null = null;
  /** Bumped by every refresh: a slower, older refresh must not render over a newer one. */
  private generation = 0;

  constructor(readonly context: IPanelContext) {
    super();
    this.addClass('eolab-datasets');
    this.buildToolbar();
    const drop = h('div', { class: 'eolab-dropzone' }, this.list);
    drop.addEventListener('dragover', event => {
      event.preventDefault();
      drop.classList.add('eolab-dragover');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('eolab-dragover'));
    drop.addEventListener('drop', event => {
      event.preventDefault();
      drop.classList.remove('eolab-dragover');
      if (event.dataTransfer?.files.length) {
        void this.upload(Array.from(event.dataTransfer.files));
      }
    });
    this.fileInput.addEventListener('change', () => {
      void this.upload(Array.from(this.fileInput.files || []));
      this.fileInput.value = '';
    });
    for (const node of [this.toolbar, this.crumbs, this.status.node, drop, this.uploads, this.details]) {
      this.node.appendChild(node);
    }
  }

  projectChanged(project: string | null): void {
    this.project = project;
    this.path = '';
    this.selected = null;
    void this.refresh();
  }

  reveal(args: Record<string, any>): void {
    if (typeof args.path === 'string') {
      const parts = args.path.split('/');
      const isFile = args.kind === 'file' && parts.length > 1;
      this.path = isFile ? parts.slice(0, -1).join('/') : args.path;
      this.selected = isFile ? args.path : null;
      void this.refresh();
    }
  }

  private button(label: string, cls: string, title: string, onClick: () => void): HTMLButtonElement {
    const b = h('button', { class: `jp-Button eolab-button ${cls}`, title }, label);
    b.addEventListener('click', onClick);
    return b;
  }

  private buildToolbar(): void {
    this.toolbar.appendChild(
      this.button('Upload', 'eolab-upload', 'Upload files into this folder', () => this.fileInput.click())
    );
    this.toolbar.appendChild(
      this.button('New folder', 'eolab-new-folder', 'Create a folder here', () => void this.newFolder())
    );
    this.toolbar.appendChild(
      this.button('New dataset', 'eolab-new-dataset', 'Create a dataset', () => void this.newDataset())
    );
    this.toolbar.appendChild(this.button('↻', 'eolab-refresh-files', 'Refresh', () => void this.refresh()));
    this.toolbar.appendChild(this.fileInput);
  }

  private updateToolbar(): void {
    const inDataset = this.path !== '';
    (this.toolbar.querySelector('.eolab-upload') as HTMLButtonElement).disabled = !inDataset;
    (this.toolbar.querySelector('.eolab-new-folder') as HTMLButtonElement).disabled = !inDataset;
    (this.toolbar.querySelector('.eolab-new-dataset') as HTMLButtonElement).hidden = inDataset;
  }

  private renderCrumbs(): void {
    clear(this.crumbs);
    const go = (path: string, label: string) => {
      const a = h('a', { href: '#', class: 'eolab-crumb', 'data-path': path }, label);
      a.addEventListener('click', event => {
        event.preventDefault();
        this.navigate(path);
      });
      return a;
    };
    this.crumbs.appendChild(go('', this.project || '(no project)'));
    const parts = this.path ? this.path.split('/') : [];
    parts.forEach((part, i) => {
      this.crumbs.appendChild(document.createTextNode(' › '));
      this.crumbs.appendChild(go(parts.slice(0, i + 1).join('/'), part));
    });
  }

  navigate(path: string): void {
    this.path = path;
    this.selected = null;
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const generation = ++this.generation;
    this.renderCrumbs();
    this.updateToolbar();
    clear(this.list);
    clear(this.details);
    if (!this.project) {
      this.list.appendChild(h('li', { class: 'eolab-empty' }, 'Select a project above.'));
      return;
    }
    try {
      if (this.path === '') {
        const datasets = await api.listDatasets(this.project);
        if (generation !== this.generation) {
          return;
        }
        if (!datasets.length) {
          this.list.appendChild(h('li', { class: 'eolab-empty' }, 'No datasets yet.'));
        }
        for (const ds of datasets) {
          this.list.appendChild(this.row(ds.name, ds.name, true, ds.description, null));
        }
      } else {
        const listing = await api.listFiles(this.project, this.path);
        if (generation !== this.generation) {
          return;
        }
        if (!listing.files.length) {
          this.list.appendChild(h('li', { class: 'eolab-empty' }, 'Empty folder: drop files here.'));
        }
        for (const f of listing.files) {
          this.list.appendChild(this.row(f.name, f.path, f.is_dir, '', f));
        }
      }
      this.status.clear();
      await this.showDetails();
    } catch (error) {
      if (generation === this.generation) {
        this.status.error(errorMessage(error));
      }
    }
  }

  private row(name: string, path: string, isDir: boolean, note: string, file: IDescribeFile | null): HTMLLIElement {
    const isDataset = !path.includes('/');
    const li = h(
      'li',
      {
        class: `eolab-file ${isDir ? 'eolab-dir' : ''} ${path === this.selected ? 'eolab-selected' : ''}`,
        'data-path': path,
        'data-name': name
      },
      icon(isDataset ? eolabIcon : isDir ? folderIcon : fileIcon, `eolab-icon-${isDataset ? 'dataset' : isDir ? 'folder' : 'file'}`),
      h('span', { class: 'eolab-name', title: path }, name),
      h('span', { class: 'eolab-meta' }, file && !isDir ? formatSize(file.size) : note)
    );
    li.addEventListener('click', () => {
      if (isDir) {
        this.navigate(path);
      } else {
        this.selected = path;
        this.list.querySelectorAll('.eolab-selected').forEach(e => e.classList.remove('eolab-selected'));
        li.classList.add('eolab-selected');
        void this.showDetails();
      }
    });
    const actions = h('span', { class: 'eolab-actions' });
    if (!isDir && this.project) {
      const link = h('a', { class: 'eolab-download', href: api.downloadUrl(this.project, path), download: name, title: `Download ${name}` }, icon(downloadIcon, 'eolab-action-icon'));
      link.addEventListener('click', event => event.stopPropagation());
      actions.appendChild(link);
    }
    const del = h('button', { class: 'eolab-delete', title: `Delete ${name}`, 'aria-label': `Delete ${name}` }, icon(deleteIcon, 'eolab-action-icon'));
    del.addEventListener('click', event => {
      event.stopPropagation();
      void this.remove(path, isDataset);
    });
    actions.appendChild(del);
    li.appendChild(actions);
    return li;
  }

  private detailsGeneration = 0;

  private async showDetails(): Promise<void> {
    const generation = ++this.detailsGeneration;
    clear(this.details);
    if (!this.project) {
      return;
    }
    const target = this.selected || (this.path && !this.path.includes('/') ? this.path : null);
    if (!target) {
      return;
    }
    const pane = h('div', { class: 'eolab-preview' }, h('h4', {}, 'Preview'));
    const tags = new TagEditor(datasetTags(this.project, target));
    if (this.selected) {
      this.details.appendChild(pane);
    }
    this.details.appendChild(tags.node);
    const quicklook = this.selected ? api.downloadUrl(this.project, this.selected) + '?quicklook=1&band=1' : '';
    const preview = this.selected ? api.preview(this.project, this.selected) : null;
    const tagsLoaded = tags.load();
    if (preview) {
      try {
        const result = await preview;
        if (generation === this.detailsGeneration) {
          renderPreview(pane, result, quicklook);
        }
      } catch (error) {
        if (generation === this.detailsGeneration) {
          pane.appendChild(h('div', { class: 'eolab-status eolab-status-error' }, errorMessage(error)));
        }
      }
    }
    await tagsLoaded;
  }

  private async upload(files: File[]): Promise<void> {
    if (!this.project || !this.path) {
      this.status.error('Open a dataset first, then upload into it.');
      return;
    }
    const project = this.project;
    const folder = this.path;
    await Promise.all(
      files.map(async file => {
        const bar = h('progress', { max: 1, value: 0 });
        const label = h('span', { class: 'eolab-upload-state' }, 'uploading');
        const item = h('li', { class: 'eolab-upload-item', 'data-name': file.name }, h('span', {}, file.name), bar, label);
        this.uploads.appendChild(item);
        try {
          await uploadFile(project, `${folder}/${file.name}`, file, fraction => (bar.value = fraction));
          label.textContent = 'done';
          item.classList.add('eolab-upload-done');
          window.setTimeout(() => item.remove(), 4000);
        } catch (error) {
          label.textContent = errorMessage(error);
          item.classList.add('eolab-upload-failed');
        }
      })
    );
    await this.refresh();
  }

  private async newFolder(): Promise<void> {
    if (!this.project || !this.path) {
      return;
    }
    const result = await InputDialog.getText({ title: 'New folder', placeholder: 'name' });
    if (!result.button.accept || !result.value) {
      return;
    }
    try {
      await api.fileOperation(this.project, `${this.path}/${result.value}`, 'mkdir');
      await this.refresh();
    } catch (error) {
      this.status.error(errorMessage(error));
    }
  }

  private async newDataset(): Promise<void> {
    if (!this.project) {
      return;
    }
    const result = await InputDialog.getText({ title: 'New dataset', placeholder: 'name' });
    if (!result.button.accept || !result.value) {
      return;
    }
    try {
      await api.createDataset(this.project, result.value);
      await this.refresh();
    } catch (error) {
      this.status.error(errorMessage(error));
    }
  }

  private async remove(path: string, isDataset: boolean): Promise<void> {
    if (!this.project) {
      return;
    }
    const what = isDataset ? `dataset ${path} and all its files` : path;
    const answer = await showDialog({
      title: 'Delete',
      body: `Delete ${what}? This cannot be undone.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    if (!answer.button.accept) {
      return;
    }
    try {
      if (isDataset) {
        await api.deleteDataset(this.project, path);
      } else {
        await api.removeFile(this.project, path);
      }
      if (this.selected === path) {
        this.selected = null;
      }
      await this.refresh();
    } catch (error) {
      this.status.error(errorMessage(error));
    }
  }
}

function table(columns: string[], rows: any[][]): HTMLTableElement {
  return h(
    'table',
    { class: 'eolab-table' },
    h('thead', {}, h('tr', {}, ...columns.map(c => h('th', {}, c)))),
    h('tbody', {}, ...rows.map(r => h('tr', {}, ...r.map(v => h('td', {}, typeof v === 'string' ? v : JSON.stringify(v))))))
  );
}

export function renderPreview(pane: HTMLElement, preview: IPreviewResponse, quicklookUrl?: string): void {
  pane.appendChild(h('div', { class: 'eolab-preview-kind' }, `${preview.kind} · ${formatSize(preview.size)}`));
  if (preview.kind === 'text') {
    pane.appendChild(h('pre', { class: 'eolab-preview-text' }, (preview.lines || []).join('\n')));
  } else if (preview.kind === 'raster') {
    if (quicklookUrl) {
      pane.appendChild(
        h('img', { class: 'eolab-quicklook', src: quicklookUrl, alt: 'quick-look of band 1', width: 256 })
      );
    }
    const facts = ['driver', 'width', 'height', 'bands', 'dtypes', 'crs', 'bounds', 'nodata', 'descriptions'];
    pane.appendChild(table(['property', 'value'], facts.map(f => [f, preview[f] ?? ''])));
  } else if (preview.kind === 'parquet') {
    pane.appendChild(h('div', {}, `${preview.num_rows} rows`));
    pane.appendChild(table(['column', 'type'], (preview.schema || []).map(c => [c.name, c.type])));
    const rows = preview.rows || [];
    if (rows.length) {
      const columns = Object.keys(rows[0]);
      pane.appendChild(table(columns, rows.map(r => columns.map(c => r[c]))));
    }
  } else {
    pane.appendChild(h('div', { class: 'eolab-empty' }, 'Binary file: no preview.'));
  }
}
