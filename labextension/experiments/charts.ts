/**
 * The Experiments panel's drawings in plain SVG: metric curves (one line per trial or run,
 * overlaid) and a scatter of a parameter against a metric. Colours are CSS classes; labels
 * only ever become text nodes.
 */
import { h } from '../dom';
import { formatNumber } from '../featurestore/format';

const SVG_NS = 'http://www.w3.org/2000/svg';
export const PALETTE_SIZE = 8;

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

export interface ISeries {
  label: string;
  points: [number, number | null][];
}

interface IFrame {
  x(value: number): number;
  y(value: number): number;
  chart: SVGSVGElement;
}

/** An SVG with axes and min/max labels for the given ranges. */
function frame(
  xs: number[],
  ys: number[],
  cls: string,
  label: string,
  width: number,
  height: number,
  xTitle: string,
  yTitle: string
): IFrame {
  const left = 44;
  const bottom = 22;
  const pad = 8;
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const xSpan = x1 - x0 || 1;
  const ySpan = y1 - y0 || 1;
  const chart = svg('svg', { class: cls, viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label });
  const x = (v: number) => round(left + ((v - x0) / xSpan) * (width - left - pad));
  const y = (v: number) => round(pad + (1 - (v - y0) / ySpan) * (height - bottom - pad));
  chart.appendChild(svg('line', { class: 'eolab-exp-axis', x1: left, y1: height - bottom, x2: width - pad, y2: height - bottom }));
  chart.appendChild(svg('line', { class: 'eolab-exp-axis', x1: left, y1: pad, x2: left, y2: height - bottom }));
  const text = (tx: number, ty: number, value: string, anchor = 'start') =>
    chart.appendChild(svg('text', { class: 'eolab-exp-axis-label', x: tx, y: ty, 'text-anchor': anchor }, value));
  text(left - 3, pad + 8, formatNumber(y1), 'end');
  text(left - 3, height - bottom, formatNumber(y0), 'end');
  text(left, height - 6, formatNumber(x0));
  text(width - pad, height - 6, formatNumber(x1), 'end');
  text((left + width) / 2, height - 6, xTitle, 'middle');
  chart.appendChild(
    svg('text', { class: 'eolab-exp-axis-label', x: 10, y: (height - bottom) / 2, transform: `rotate(-90 10 ${(height - bottom) / 2})`, 'text-anchor': 'middle' }, yTitle)
  );
  return { x, y, chart };
}

/** Lines of `series` (each its colour), with a legend below; points without a value are gaps. */
export function lineChart(series: ISeries[], metric: string, width = 320, height = 150): HTMLElement {
  const drawn = series.filter(s => s.points.some(p => p[1] !== null));
  const box = h('div', { class: 'eolab-exp-chart', 'data-metric': metric });
  if (!drawn.length) {
    box.appendChild(h('div', { class: 'eolab-empty' }, `No per-step values of ${metric}.`));
    return box;
  }
  const xs = drawn.flatMap(s => s.points.filter(p => p[1] !== null).map(p => p[0]));
  const ys = drawn.flatMap(s => s.points.filter(p => p[1] !== null).map(p => p[1] as number));
  const f = frame(xs, ys, 'eolab-exp-curves', `${metric} per step`, width, height, 'step', metric);
  const legend = h('ul', { class: 'eolab-exp-legend' });
  drawn.forEach((s, i) => {
    const colour = `eolab-exp-series-${i % PALETTE_SIZE}`;
    const pieces: string[] = [];
    let path = '';
    for (const [step, value] of s.points) {
      if (value === null) {
        if (path) {
          pieces.push(path);
        }
        path = '';
        continue;
      }
      path += `${path ? ' L' : 'M'}${f.x(step)} ${f.y(value)}`;
    }
    if (path) {
      pieces.push(path);
    }
    const line = svg(
      'path',
      { class: `eolab-exp-line ${colour}`, d: pieces.join(' '), 'data-series': s.label, 'data-points': s.points.length },
      svg('title', {}, `${s.label}: ${s.points.length} steps`)
    );
    f.chart.appendChild(line);
    if (s.points.length === 1) {
      const [step, value] = s.points[0];
      f.chart.appendChild(svg('circle', { class: `eolab-exp-dot ${colour}`, cx: f.x(step), cy: f.y(value as number), r: 3 }));
    }
    legend.appendChild(h('li', { class: 'eolab-exp-legend-item' }, h('span', { class: `eolab-exp-swatch ${colour}` }), s.label));
  });
  box.appendChild(f.chart);
  box.appendChild(legend);
  return box;
}

export interface IScatterPoint {
  x: number;
  y: number;
  label: string;
  best?: boolean;
}

/** One dot per trial: a parameter on x, the metric on y; the best trial is ringed. */
export function scatterChart(points: IScatterPoint[], xTitle: string, yTitle: string, width = 320, height = 150): HTMLElement {
  const box = h('div', { class: 'eolab-exp-chart eolab-exp-scatter-box' });
  if (!points.length) {
    box.appendChild(h('div', { class: 'eolab-empty' }, `No finished trial has a numeric ${xTitle} and ${yTitle}.`));
    return box;
  }
  const f = frame(
    points.map(p => p.x),
    points.map(p => p.y),
    'eolab-exp-scatter',
    `${yTitle} against ${xTitle}`,
    width,
    height,
    xTitle,
    yTitle
  );
  for (const p of points) {
    f.chart.appendChild(
      svg(
        'circle',
        { class: `eolab-exp-point${p.best ? ' eolab-exp-point-best' : ''}`, cx: f.x(p.x), cy: f.y(p.y), r: p.best ? 5 : 4, 'data-trial': p.label },
        svg('title', {}, `${p.label}: ${xTitle}=${formatNumber(p.x)}, ${yTitle}=${formatNumber(p.y)}`)
      )
    );
  }
  box.appendChild(f.chart);
  return box;
}
