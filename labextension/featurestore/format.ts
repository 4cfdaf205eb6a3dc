/** How the Feature Store panel writes times, numbers and preview cells. */
import { IArrayCell } from '../api';

const COMPACT = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 });

/** An ISO time (UTC on the wire) as 'YYYY-MM-DD HH:MM:SS UTC'. */
export function utcText(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`;
  const date = new Date(withZone);
  if (isNaN(date.getTime())) {
    return iso;
  }
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A statistic: integers as they are, other numbers with four significant digits. */
export function formatNumber(value: any): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value !== 'number') {
    return String(value);
  }
  if (Number.isInteger(value)) {
    return Math.abs(value) < 1e6 ? value.toLocaleString('en-US') : COMPACT.format(value);
  }
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(3) : String(Number(value.toPrecision(4)));
}

export function formatPercent(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`;
}

function isArrayCell(value: any): value is IArrayCell {
  return value !== null && typeof value === 'object' && typeof value.length === 'number' && Array.isArray(value.head);
}

/** A preview cell: arrays as '[length] first, values, …', null as an empty cell. */
export function cellText(value: any): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (isArrayCell(value)) {
    const head = value.head.map(cellText).join(', ');
    return `[${value.length}] ${head}${value.length > value.head.length ? ', …' : ''}`;
  }
  if (typeof value === 'number') {
    return formatNumber(value);
  }
  if (typeof value === 'object') {
    return JSON.stringify(value);
  }
  return String(value);
}
