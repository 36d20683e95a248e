/**
 * Live traffic as the panel shows it: a short history of each version's figures
 * and the sparkline of its requests per second. Pure functions over what the
 * server reports (`GET cellserve/services/<name>/traffic`).
 */

import type { ITraffic, ITrafficFigures } from '../tokens';

/** How many windows the panel keeps per version (5 s windows: the last five minutes). */
export const HISTORY_LENGTH = 60;

/** Figures by version number, oldest first. */
export type TrafficHistory = Record<string, ITrafficFigures[]>;

/**
 * The history with one more reading: each version's figures appended, at most
 * `HISTORY_LENGTH` kept; versions no longer running are dropped.
 */
export function addReading(
  history: TrafficHistory,
  reading: ITraffic,
  keep = HISTORY_LENGTH
): TrafficHistory {
  const next: TrafficHistory = {};
  for (const [version, figures] of Object.entries(reading.versions)) {
    next[version] = [...(history[version] ?? []), figures].slice(-keep);
  }
  return next;
}

/** `12.3 req/s · p50 8 ms · p99 20 ms · 0 % errors · 1 replica`, or why there is nothing to show. */
export function trafficSummary(figures: ITrafficFigures): string {
  const replicas =
    figures.replicas === null
      ? 'replicas not reported yet'
      : `${figures.replicas} ${figures.replicas === 1 ? 'replica' : 'replicas'}`;
  if (!figures.traffic) {
    return `No traffic in the last ${formatNumber(figures.window_s)} s · ${replicas}`;
  }
  const parts = [
    `${formatNumber(figures.requests_per_s)} req/s`,
    figures.p50_ms === null ? null : `p50 ${formatNumber(figures.p50_ms)} ms`,
    figures.p99_ms === null ? null : `p99 ${formatNumber(figures.p99_ms)} ms`,
    `${formatNumber(figures.error_rate * 100)} % errors`,
    replicas
  ];
  return parts.filter(part => part !== null).join(' · ');
}

/** Up to three significant digits, no trailing zeros: 12.3, 0.5, 1234. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) {
    return '–';
  }
  if (Math.abs(value) >= 100) {
    return String(Math.round(value));
  }
  return String(Number(value.toPrecision(3)));
}

/**
 * An SVG path (`M x y L x y …`) through `values`, scaled to `width` × `height`
 * with 0 at the bottom; the newest value at the right edge. Empty for no value.
 */
export function sparklinePath(values: number[], width: number, height: number): string {
  if (values.length === 0) {
    return '';
  }
  const top = Math.max(...values, 0);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const y = (value: number): number =>
    top > 0 ? height - (Math.max(value, 0) / top) * height : height;
  const x = (index: number): number => (values.length > 1 ? index * step : width);
  return values
    .map(
      (value, index) =>
        `${index === 0 ? 'M' : 'L'}${round(x(index))} ${round(y(value))}`
    )
    .join(' ');
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** A share (0–1) as the panel shows it: `10 %`, `2.5 %`. */
export function percent(share: number): string {
  const value = Math.round(share * 1000) / 10;
  return `${value} %`;
}

/** A logged body in one line, shortened to `most` characters; a body not kept says its size. */
export function bodyLine(text: string | null, bytes: number, most = 80): string {
  if (text === null) {
    return `(${bytes} bytes, not kept)`;
  }
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= most ? line : `${line.slice(0, most - 1)}…`;
}
