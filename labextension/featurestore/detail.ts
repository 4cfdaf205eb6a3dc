/**
 * One feature group version: version picker, online/offline badges, facts, schema with key
 * badges, the commits timeline, statistics of the chosen commit, a data preview as of that
 * commit, expectations and validations, and tags (editable). Choosing a commit (on the
 * timeline or in the preview's picker) moves the statistics and the preview to it.
 */
import {
  api,
  errorMessage,
  IDescribeCommit,
  IDescribeFeatureGroup,
  IDescribeFeatureGroupVersion
} from '../api';
import { clear, h } from '../dom';
import { commitSummary, commitTimeline } from './charts';
import { formatNumber, utcText } from './format';
import { featureGroupTags, TagEditor } from '../tags/tagform';
import { badge } from './list';
import { PreviewView } from './preview';
import { StatisticsView } from './statistics';
import { ValidationView } from './validation';

const COMMITS = 50;

function section(title: string, cls: string, ...children: (Node | null)[]): HTMLElement {
  return h('section', { class: `eolab-fs-section ${cls}` }, h('h4', {}, title), ...children);
}

function schemaTable(fg: IDescribeFeatureGroup): HTMLTableElement {
  return h(
    'table',
    { class: 'eolab-table eolab-fs-schema' },
    h('thead', {}, h('tr', {}, h('th', {}, 'feature'), h('th', {}, 'type'))),
    h(
      'tbody',
      {},
      ...fg.features.map(f =>
        h(
          'tr',
          { class: 'eolab-fs-feature', 'data-feature': f.name },
          h(
            'td',
            {},
            h('span', { class: 'eolab-fs-feature-name' }, f.name),
            ' ',
            f.primary ? badge('primary key', 'primary') : null,
            f.partition ? badge('partition', 'partition') : null,
            f.event_time ? badge('event time', 'event-time') : null
          ),
          h('td', { class: 'eolab-fs-feature-type' }, f.type)
        )
      )
    )
  );
}

/** The tag editor of an object, in a section of the detail view. */
export function tagSection(editor: TagEditor, cls: string): HTMLElement {
  void editor.load();
  return h('div', { class: `eolab-fs-section ${cls}` }, editor.node);
}

export class FeatureGroupDetail {
  readonly node = h('div', { class: 'eolab-fs-detail' });
  private readonly statistics = new StatisticsView();
  private readonly preview = new PreviewView(commit => this.choose(commit));
  private readonly validation = new ValidationView();
  private project = '';
  private name = '';
  private version = 0;
  private fg: IDescribeFeatureGroup | null = null;
  private commits: IDescribeCommit[] = [];
  private selected: IDescribeCommit | null = null;
  private timelineSlot = h('div', { class: 'eolab-fs-timeline-slot' });
  private readonly hoverLine = h('div', { class: 'eolab-meta eolab-fs-commit-caption' });
  private generation = 0;

  /** `onError` shows why a feature group could not be loaded. */
  constructor(private readonly onError: (message: string) => void) {}

  get current(): { name: string; version: number } | null {
    return this.name ? { name: this.name, version: this.version } : null;
  }

  /** Show `name` at `version` (the latest when absent), with `commitId` chosen if given. */
  async load(project: string, name: string, version?: number, commitId?: number): Promise<void> {
    const generation = ++this.generation;
    this.project = project;
    this.name = name;
    this.selected = null;
    clear(this.node);
    this.node.appendChild(h('div', { class: 'eolab-loading' }, `Loading ${name}…`));
    try {
      const versions = await api.featureGroupVersions(project, name);
      const chosen = version && versions.some(v => v.version === version) ? version : versions[versions.length - 1].version;
      const [fg, commits] = await Promise.all([
        api.describeFeatureGroup(project, name, chosen),
        api.featureGroupCommits(project, name, chosen, COMMITS)
      ]);
      if (generation !== this.generation) {
        return;
      }
      this.version = chosen;
      this.fg = fg;
      this.commits = commits;
      this.render(fg, versions);
      if (commitId !== undefined && commitId !== null) {
        const commit = commits.find(c => c.commit_id === commitId);
        if (commit) {
          this.choose(commit === commits[0] ? null : commit);
        } else {
          this.onError(`${name} version ${chosen} shows its last ${COMMITS} commits; commit ${commitId} is not among them.`);
        }
      }
    } catch (error) {
      if (generation === this.generation) {
        clear(this.node);
        this.onError(errorMessage(error));
      }
    }
  }

  private render(fg: IDescribeFeatureGroup, versions: IDescribeFeatureGroupVersion[]): void {
    clear(this.node);
    const picker = h('select', { class: 'eolab-fs-version', 'aria-label': 'Version' });
    for (const v of versions) {
      picker.appendChild(h('option', { value: String(v.version) }, `version ${v.version}`));
    }
    picker.value = String(fg.version);
    picker.addEventListener('change', () => void this.load(this.project, this.name, Number(picker.value)));
    const keys = (label: string, names: string[]) => (names.length ? [h('dt', {}, label), h('dd', {}, names.join(', '))] : []);
    this.node.appendChild(
      h(
        'header',
        { class: 'eolab-fs-header' },
        h(
          'div',
          { class: 'eolab-fs-title' },
          h('span', { class: 'eolab-fs-name' }, fg.name),
          picker,
          badge('offline', 'offline', 'Delta Lake table with time travel'),
          fg.online_enabled ? badge('online', 'online', 'latest row per key in the online store') : null
        ),
        fg.description ? h('p', { class: 'eolab-fs-description' }, fg.description) : null,
        h(
          'dl',
          { class: 'eolab-fs-facts' },
          h('dt', {}, 'rows'),
          h('dd', { class: 'eolab-fs-row-count' }, formatNumber(fg.row_count)),
          ...keys('primary key', fg.primary_key),
          ...keys('event time', fg.event_time ? [fg.event_time] : []),
          ...keys('partition key', fg.partition_key),
          h('dt', {}, 'created'),
          h('dd', {}, `${utcText(fg.created)}${fg.creator ? ' by ' + fg.creator : ''}`),
          h('dt', {}, 'location'),
          h('dd', { class: 'eolab-fs-location' }, fg.location || '')
        )
      )
    );
    this.node.appendChild(section('Schema', 'eolab-fs-schema-section', schemaTable(fg)));
    this.node.appendChild(section('Commits', 'eolab-fs-commits', this.timelineSlot, this.hoverLine));
    this.renderTimeline();
    this.node.appendChild(this.validation.node);
    this.node.appendChild(this.statistics.node);
    this.node.appendChild(this.preview.node);
    this.node.appendChild(
      tagSection(new TagEditor(featureGroupTags(this.project, fg.name, fg.version), 'No tags yet.'), 'eolab-fs-tags')
    );
    void this.validation.load(this.project, fg.name, fg.version);
    void this.statistics.load(this.project, fg.name, fg.version);
    void this.preview.load(this.previewTarget(fg), this.commits, null);
  }

  private previewTarget(fg: IDescribeFeatureGroup) {
    return { project: this.project, name: fg.name, version: fg.version, onlineEnabled: fg.online_enabled };
  }

  private renderTimeline(): void {
    clear(this.timelineSlot);
    if (!this.commits.length) {
      this.timelineSlot.appendChild(h('div', { class: 'eolab-empty' }, 'No commits yet.'));
      return;
    }
    const latest = this.commits[0];
    const shown = this.selected || latest;
    this.hoverLine.textContent = commitSummary(shown);
    this.timelineSlot.appendChild(
      commitTimeline(
        this.commits,
        {
          hover: commit => (this.hoverLine.textContent = commitSummary(commit || this.selected || latest)),
          select: commit => this.choose(commit === latest ? null : commit)
        },
        shown.commit_id
      )
    );
    this.timelineSlot.appendChild(
      h(
        'div',
        { class: 'eolab-fs-legend' },
        h('span', { class: 'eolab-fs-key eolab-fs-key-inserted' }),
        'inserted ',
        h('span', { class: 'eolab-fs-key eolab-fs-key-updated' }),
        'updated ',
        h('span', { class: 'eolab-fs-key eolab-fs-key-deleted' }),
        'deleted'
      )
    );
  }

  /** Move statistics and preview to `commit` (null: the latest). */
  private choose(commit: IDescribeCommit | null): void {
    if (!this.fg) {
      return;
    }
    this.selected = commit;
    this.renderTimeline();
    void this.statistics.load(this.project, this.fg.name, this.fg.version, commit ? commit.committed_on : undefined);
    void this.preview.load(this.previewTarget(this.fg), this.commits, commit);
  }
}
