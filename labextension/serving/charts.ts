/**
 * The Serving panel's monitoring drawings in plain SVG: latency percentiles as bars, and the
 * input drift of each feature (PSI against the flag threshold). Text only becomes text nodes.
 */
import { IDescribeFeatureDrift } from '../api';
import { formatNumber } from '../featurestore/format';

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: (Node | string)[]
): SVGElementTagNameMap[K] {
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

export const PERCENTILES = ['p50', 'p95', 'p99'];

/** Horizontal bars of p50, p95, p99 latency (ms), each labelled with its value. */
export function latencyChart(latency: Record<string, number>, width = 260): SVGSVGElement {
  const row = 18;
  const label = 36;
  const value = 64;
  const height = row * PERCENTILES.length + 4;
  const top = Math.max(1e-9, ...PERCENTILES.map(p => latency[p] || 0));
  const chart = svg('svg', {
    class: 'eolab-sv-latency',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': 'latency percentiles'
  });
  PERCENTILES.forEach((p, i) => {
    const ms = latency[p] || 0;
    const y = 2 + i * row;
    const bar = round(((width - label - value) * ms) / top);
    chart.appendChild(svg('text', { x: 0, y: y + 12, class: 'eolab-sv-axis' }, p));
    chart.appendChild(
      svg('rect', { x: label, y, width: Math.max(1, bar), height: row - 4, class: 'eolab-sv-bar', 'data-percentile': p },
        svg('title', {}, `${p}: ${formatNumber(ms)} ms`))
    );
    chart.appendChild(svg('text', { x: label + bar + 4, y: y + 12, class: 'eolab-sv-axis' }, `${formatNumber(ms)} ms`));
  });
  return chart;
}

/** One bar per drift entry: its PSI against a dashed threshold line; flagged bars are red. */
export function driftChart(drift: IDescribeFeatureDrift[], threshold: number, width = 260): SVGSVGElement {
  const row = 18;
  const label = 90;
  const height = row * drift.length + 4;
  const top = Math.max(threshold * 2, ...drift.map(d => d.psi));
  const scale = (psi: number) => round(((width - label - 8) * Math.min(psi, top)) / top);
  const chart = svg('svg', {
    class: 'eolab-sv-drift-chart',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `input drift of ${drift.length} feature(s)`
  });
  drift.forEach((d, i) => {
    const y = 2 + i * row;
    const name = d.index === null ? d.input : `${d.input}[${d.index}]`;
    chart.appendChild(svg('text', { x: 0, y: y + 12, class: 'eolab-sv-axis' }, name.slice(0, 14)));
    chart.appendChild(
      svg('rect', {
        x: label, y, width: Math.max(1, scale(d.psi)), height: row - 4,
        class: d.flagged ? 'eolab-sv-bar eolab-sv-flagged' : 'eolab-sv-bar',
        'data-feature': d.feature
      }, svg('title', {}, `${name} vs ${d.feature}: PSI ${formatNumber(d.psi)}${d.flagged ? ' (drift)' : ''}`))
    );
  });
  const x = label + scale(threshold);
  chart.appendChild(svg('line', { x1: x, x2: x, y1: 0, y2: height, class: 'eolab-sv-threshold' }));
  return chart;
}
