/** The first rows of a feature group: offline as of a commit, or from the online store. */
import { api, errorMessage, IDescribeCommit, IPreviewColumn } from '../api';
import { clear, h } from '../dom';
import { cellText, formatNumber, utcText } from './format';

const ROWS = 20;

/** The rows of a preview as a scrolling table; array cells as '[length] first values, …'. */
export function previewTable(columns: IPreviewColumn[], rows: Record<string, any>[]): HTMLElement {
  const table = h(
    'table',
    { class: 'eolab-table eolab-fs-preview-table' },
    h('thead', {}, h('tr', {}, ...columns.map(c => h('th', { title: c.type }, c.name)))),
    h(
      'tbody',
      {},
      ...rows.map(row =>
        h(
          'tr',
          { class: 'eolab-fs-preview-row' },
          ...columns.map(c => {
            const text = cellText(row[c.name]);
            return h('td', { class: c.array ? 'eolab-fs-array' : '', title: text, 'data-column': c.name }, text);
          })
        )
      )
    )
  );
  return h('div', { class: 'eolab-fs-scroll' }, table);
}

export interface IPreviewTarget {
  project: string;
  name: string;
  version: number;
  onlineEnabled: boolean;
}

export class PreviewView {
  readonly node = h('section', { class: 'eolab-fs-section eolab-fs-preview' });
  private readonly asOf = h('select', { class: 'eolab-fs-as-of', 'aria-label': 'As of commit' });
  private readonly online = h('input', { type: 'checkbox', class: 'eolab-fs-online' });
  private readonly onlineLabel = h('label', { class: 'eolab-fs-online-label' }, this.online, ' online store');
  private readonly body = h('div', { class: 'eolab-fs-section-body' });
  private target: IPreviewTarget | null = null;
  private commits: IDescribeCommit[] = [];
  private generation = 0;

  /** `changed(commit)`: the user picked a commit (null: the latest) in the as-of picker. */
  constructor(private readonly changed: (commit: IDescribeCommit | null) => void) {
    this.asOf.addEventListener('change', () => {
      const id = this.asOf.value;
      this.changed(id === '' ? null : this.commits.find(c => String(c.commit_id) === id) || null);
    });
    this.online.addEventListener('change', () => void this.reload());
    this.node.appendChild(h('h4', {}, 'Data preview'));
    this.node.appendChild(h('div', { class: 'eolab-fs-preview-controls' }, h('label', { class: 'eolab-fs-as-of-label' }, 'As of ', this.asOf), this.onlineLabel));
    this.node.appendChild(this.body);
  }

  /** Show `target`'s rows as of `selected` (null: the latest snapshot). */
  async load(target: IPreviewTarget, commits: IDescribeCommit[], selected: IDescribeCommit | null): Promise<void> {
    this.target = target;
    this.commits = commits;
    clear(this.asOf);
    this.asOf.appendChild(h('option', { value: '' }, 'latest'));
    for (const c of commits) {
      this.asOf.appendChild(h('option', { value: String(c.commit_id) }, `commit ${c.commit_id} · ${utcText(c.committed_on)}`));
    }
    this.asOf.value = selected ? String(selected.commit_id) : '';
    this.onlineLabel.hidden = !target.onlineEnabled;
    if (!target.onlineEnabled) {
      this.online.checked = false;
    }
    await this.reload();
  }

  private selectedCommit(): IDescribeCommit | null {
    return this.commits.find(c => String(c.commit_id) === this.asOf.value) || null;
  }

  async reload(): Promise<void> {
    const target = this.target;
    if (!target) {
      return;
    }
    const generation = ++this.generation;
    const online = this.online.checked;
    const commit = online ? null : this.selectedCommit();
    this.asOf.disabled = online;
    clear(this.body);
    this.body.appendChild(h('div', { class: 'eolab-loading' }, 'Loading rows…'));
    try {
      const preview = await api.previewFeatureGroup(target.project, target.name, target.version, {
        n: ROWS,
        asOf: commit ? commit.committed_on : undefined,
        online
      });
      if (generation !== this.generation) {
        return;
      }
      clear(this.body);
      const where =
        preview.storage === 'online'
          ? 'online store'
          : preview.commit_id === null
            ? 'no commit yet'
            : `commit ${preview.commit_id}${preview.as_of ? ' (as of ' + utcText(preview.as_of) + ')' : ''}`;
      this.body.appendChild(
        h(
          'div',
          { class: 'eolab-meta eolab-fs-preview-caption' },
          `${preview.rows.length} of ${formatNumber(preview.num_rows)} rows · ${where}`
        )
      );
      if (!preview.rows.length) {
        this.body.appendChild(h('div', { class: 'eolab-empty' }, 'No rows.'));
        return;
      }
      this.body.appendChild(previewTable(preview.columns, preview.rows));
    } catch (error) {
      if (generation === this.generation) {
        clear(this.body);
        this.body.appendChild(h('div', { class: 'eolab-status eolab-status-error' }, errorMessage(error)));
      }
    }
  }
}
