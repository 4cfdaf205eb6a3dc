/**
 * A tiny DOM builder. User-provided strings only ever become text nodes, never HTML,
 * so nothing a user names (datasets, files, tags) can inject markup.
 */
export type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | number | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) {
      continue;
    }
    if (key === 'class') {
      el.className = String(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

export function clear(el: HTMLElement): void {
  while (el.firstChild) {
    el.removeChild(el.firstChild);
  }
}

/** `text` with the [start, end) spans wrapped in <mark>, as text nodes only. */
export function highlighted(text: string, spans: [number, number][]): DocumentFragment {
  const fragment = document.createDocumentFragment();
  let at = 0;
  for (const [start, end] of [...spans].sort((a, b) => a[0] - b[0])) {
    if (start < at) {
      continue;
    }
    fragment.appendChild(document.createTextNode(text.slice(at, start)));
    fragment.appendChild(h('mark', {}, text.slice(start, end)));
    at = end;
  }
  fragment.appendChild(document.createTextNode(text.slice(at)));
  return fragment;
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A message line: errors stay visible until the next action replaces them. */
export class StatusLine {
  readonly node = h('div', { class: 'eolab-status', role: 'status' });

  error(message: string): void {
    this.node.className = 'eolab-status eolab-status-error';
    this.node.textContent = message;
  }

  info(message: string): void {
    this.node.className = 'eolab-status eolab-status-info';
    this.node.textContent = message;
  }

  clear(): void {
    this.node.className = 'eolab-status';
    this.node.textContent = '';
  }
}
