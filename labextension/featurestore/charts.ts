/**
 * The Feature Store panel's drawings, in plain SVG (no chart library): a histogram of one
 * feature and a timeline of a feature group's commits. Colours come from CSS classes that use
 * JupyterLab's theme variables; text only ever becomes text nodes.
 */
import { IDescribeCommit, IHistogramBin } from '../api';
import { formatNumber, utcText } from './format';

const SVG_NS = 'http://www.w3.org/2000/svg';

type SvgAttrs = Record<string, string | number>;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: SvgAttrs = {}, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    el.setAttribute(key, String(value));
  }
  for (const child of children) {
    el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** A bar chart of a histogram; each bar's tooltip gives its range and count. */
export function histogramChart(bins: IHistogramBin[], width = 240, height = 64): SVGSVGElement {
  const axis = 12;
  const plot = height - axis;
  const top = Math.max(1, ...bins.map(b => b.count));
  const step = width / Math.max(1, bins.length);
  const chart = svg('svg', {
    class: 'eolab-fs-histogram',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `histogram of ${bins.length} bins`
  });
  bins.forEach((bin, i) => {
    const h = bin.count ? Math.max(1, (plot * bin.count) / top) : 0;
    const bar = svg(
      'rect',
      {
        class: 'eolab-fs-bar',
        x: round(i * step + 0.5),
        y: round(plot - h),
        width: round(Math.max(1, step - 1)),
        height: round(h),
        'data-count': bin.count
      },
      svg('title', {}, `[${formatNumber(bin.lower)}, ${formatNumber(bin.upper)}]: ${bin.count}`)
    );
    chart.appendChild(bar);
  });
  chart.appendChild(svg('line', { class: 'eolab-fs-axis', x1: 0, y1: plot + 0.5, x2: width, y2: plot + 0.5 }));
  if (bins.length) {
    const lo = svg('text', { class: 'eolab-fs-axis-label', x: 0, y: height - 1 }, formatNumber(bins[0].lower));
    const hi = svg(
      'text',
      { class: 'eolab-fs-axis-label', x: width, y: height - 1, 'text-anchor': 'end' },
      formatNumber(bins[bins.length - 1].upper)
    );
    chart.appendChild(lo);
    chart.appendChild(hi);
  }
  return chart;
}

export function commitSummary(c: IDescribeCommit): string {
  return `commit ${c.commit_id} · ${utcText(c.committed_on)} · ${c.rows_inserted} inserted, ${c.rows_updated} updated, ${c.rows_deleted} deleted`;
}

export interface ITimelineHandlers {
  /** The pointer is over a commit (null: left the chart). */
  hover(commit: IDescribeCommit | null): void;
  /** A commit was clicked. */
  select(commit: IDescribeCommit): void;
}

/**
 * One mark per commit, oldest on the left, evenly spaced (commits of one session are seconds
 * apart, commits of a project months): a stacked bar of inserted / updated / deleted rows
 * above a dot, the commit id below. `selected` is ringed.
 */
export function commitTimeline(
  commits: IDescribeCommit[],
  handlers: ITimelineHandlers,
  selected: number | null = null,
  height = 84
): SVGSVGElement {
  const ordered = [...commits].sort((a, b) => a.commit_id - b.commit_id);
  const pitch = 30;
  const pad = 16;
  const width = Math.max(240, pad * 2 + pitch * Math.max(0, ordered.length - 1));
  const base = height - 26;
  const plot = base - 8;
  const total = (c: IDescribeCommit) => c.rows_inserted + c.rows_updated + c.rows_deleted;
  const top = Math.max(1, ...ordered.map(total));
  const chart = svg('svg', {
    class: 'eolab-fs-timeline',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `${ordered.length} commits`
  });
  chart.appendChild(svg('line', { class: 'eolab-fs-axis', x1: pad / 2, y1: base, x2: width - pad / 2, y2: base }));
  const spacing = ordered.length > 1 ? Math.min(pitch * 3, (width - 2 * pad) / (ordered.length - 1)) : 0;
  ordered.forEach((commit, i) => {
    const x = round(ordered.length > 1 ? pad + i * spacing : width / 2);
    const mark = svg('g', {
      class: `eolab-fs-commit${commit.commit_id === selected ? ' eolab-fs-commit-selected' : ''}`,
      'data-commit-id': commit.commit_id,
      'data-committed-on': commit.committed_on,
      tabindex: 0
    });
    mark.appendChild(svg('title', {}, commitSummary(commit)));
    let y = base - 5;
    for (const [kind, count] of [
      ['inserted', commit.rows_inserted],
      ['updated', commit.rows_updated],
      ['deleted', commit.rows_deleted]
    ] as [string, number][]) {
      if (!count) {
        continue;
      }
      const h = Math.max(2, (plot * count) / top);
      y -= h;
      mark.appendChild(
        svg('rect', { class: `eolab-fs-${kind}`, x: round(x - 5), y: round(y), width: 10, height: round(h), 'data-rows': count })
      );
    }
    mark.appendChild(svg('circle', { class: 'eolab-fs-commit-dot', cx: x, cy: base, r: 4 }));
    mark.appendChild(svg('text', { class: 'eolab-fs-axis-label', x, y: base + 16, 'text-anchor': 'middle' }, String(commit.commit_id)));
    mark.addEventListener('mouseenter', () => handlers.hover(commit));
    mark.addEventListener('focus', () => handlers.hover(commit));
    mark.addEventListener('click', () => handlers.select(commit));
    mark.addEventListener('keydown', event => {
      if ((event as KeyboardEvent).key === 'Enter') {
        handlers.select(commit);
      }
    });
    chart.appendChild(mark);
  });
  chart.addEventListener('mouseleave', () => handlers.hover(null));
  return chart;
}
