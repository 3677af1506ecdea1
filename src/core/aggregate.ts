/**
 * Bucketed aggregation of a time series, shared by every store backend so that SQLite and
 * InfluxDB answer the same query with the same numbers.
 *
 * `delta` is the consumption of a cumulative counter within each bucket: the sum of the
 * increases between consecutive readings whose later reading falls in the bucket (the
 * reading before the bucket, if any, is the baseline). A drop to less than half of the
 * previous value (typically to zero) is a meter reset: the new value counts from zero.
 * A smaller drop is jitter or a regression: it adds nothing and the higher value stays the
 * baseline, so 110 -> 109.9 -> 110.5 counts 0.5, not 0.6.
 */
import { DateTime } from 'luxon';
import type { ReadingValue } from './model.js';

export const AGGREGATES = ['mean', 'min', 'max', 'sum', 'count', 'first', 'last', 'delta'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export interface Point {
  ts: number;
  value: ReadingValue;
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export interface Every {
  n: number;
  unit: keyof typeof UNIT_MS;
  ms: number;
}

export function parseEvery(text: string): Every | undefined {
  const m = /^([1-9]\d{0,6})([smhd])$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] as keyof typeof UNIT_MS;
  return { n, unit, ms: n * UNIT_MS[unit] };
}

export function isValidZone(tz: string): boolean {
  return DateTime.now().setZone(tz).isValid;
}

/** Start of the bucket holding `ts`: UTC-aligned, or aligned to local midnight / local hours in `tz`. */
export function bucketStarter(every: Every, tz?: string): (ts: number) => number {
  if (!tz || tz === 'UTC') return (ts) => Math.floor(ts / every.ms) * every.ms;
  if (every.unit === 'd') {
    // calendar days in the zone (DST-correct); multi-day buckets count days from 1970-01-01 local
    const epochDay = DateTime.fromObject({ year: 1970, month: 1, day: 1 }, { zone: tz });
    return (ts) => {
      const day = DateTime.fromMillis(ts, { zone: tz }).startOf('day');
      if (every.n === 1) return day.toMillis();
      const idx = Math.floor(day.diff(epochDay, 'days').days);
      return day.minus({ days: ((idx % every.n) + every.n) % every.n }).toMillis();
    };
  }
  return (ts) => {
    const offMs = DateTime.fromMillis(ts, { zone: tz }).offset * 60_000;
    return Math.floor((ts + offMs) / every.ms) * every.ms - offMs;
  };
}

function num(v: ReadingValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

export function counterIncrease(prev: number, cur: number): { inc: number; baseline: number } {
  if (cur >= prev) return { inc: cur - prev, baseline: cur };
  if (cur < prev / 2) return { inc: cur, baseline: cur }; // reset: counted up from zero to cur
  return { inc: 0, baseline: prev }; // jitter / regression: ignore, keep the higher baseline
}

interface Acc { start: number; n: number; sum: number; min: number; max: number; first: ReadingValue; last: ReadingValue; delta: number }

/**
 * Aggregates ascending points. `previous` is the last point before the range (for delta).
 * Buckets without points are omitted.
 */
export function aggregate(points: Iterable<Point>, opts: { every: Every; agg: Aggregate; tz?: string; previous?: Point }): Point[] {
  const start = bucketStarter(opts.every, opts.tz);
  const out: Point[] = [];
  let acc: Acc | undefined;
  let baseline = opts.previous ? num(opts.previous.value) : undefined;
  const emit = (a: Acc) => {
    let value: ReadingValue;
    switch (opts.agg) {
      case 'mean': value = a.n ? a.sum / a.n : NaN; break;
      case 'min': value = a.min; break;
      case 'max': value = a.max; break;
      case 'sum': value = a.sum; break;
      case 'count': value = a.n; break;
      case 'first': value = a.first; break;
      case 'last': value = a.last; break;
      case 'delta': value = a.delta; break;
    }
    if (typeof value === 'number' && !Number.isFinite(value)) return;
    out.push({ ts: a.start, value: typeof value === 'number' ? Math.round(value * 1e9) / 1e9 : value });
  };
  for (const p of points) {
    const b = start(p.ts);
    if (!acc || acc.start !== b) {
      if (acc) emit(acc);
      acc = { start: b, n: 0, sum: 0, min: Infinity, max: -Infinity, first: p.value, last: p.value, delta: 0 };
    }
    const v = num(p.value);
    acc.last = p.value;
    if (opts.agg === 'count' || opts.agg === 'first' || opts.agg === 'last') { acc.n++; continue; }
    if (v === undefined) continue;
    acc.n++;
    acc.sum += v;
    if (v < acc.min) acc.min = v;
    if (v > acc.max) acc.max = v;
    if (baseline !== undefined) {
      const { inc, baseline: next } = counterIncrease(baseline, v);
      acc.delta += inc;
      baseline = next;
    } else {
      baseline = v;
    }
  }
  if (acc) emit(acc);
  return out;
}
