/**
 * Readings older than the raw retention (a meter uploading last season's history, a
 * gateway's backlog after months offline) go straight into the hourly and daily rollups
 * instead of the raw series: InfluxDB drops them from its raw retention policy ("points
 * beyond retention policy dropped") and the SQLite retention job would prune them before
 * rolling them up. Both stores merge them into the buckets they already hold, so the
 * answers of /api/v1/telemetry/rollups are the same whichever store keeps them.
 *
 * A rollup has no per-reading identity: the same old reading sent again after it was
 * merged counts again. Redeliveries within one batch are merged once.
 */
import { DateTime } from 'luxon';
import type { Reading } from '../core/types.js';
import { metricDef } from '../core/vocabulary.js';
import type { RollupPeriod } from './telemetry-store.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

export interface HistorySettings {
  rawDays: number;
  /** rollups older than these are pruned (InfluxDB: refused by the retention policy): such buckets are not written */
  hourlyDays?: number;
  dailyDays?: number;
  /** IANA zone of the daily buckets (retention.timezone) */
  timezone: string;
  clock: () => number;
}

/** one bucket's aggregate with the times of its first and last reading (to merge first/last) */
export interface RollupAcc {
  deviceId: string; metric: string; period: RollupPeriod; bucket: number;
  count: number; sum: number; min: number; max: number; first: number; last: number; firstTs: number; lastTs: number;
}

export function bucketOf(period: RollupPeriod, ts: number, timezone: string): number {
  if (period === '1h') return Math.floor(ts / HOUR) * HOUR;
  return DateTime.fromMillis(ts, { zone: timezone }).startOf('day').toMillis();
}

/**
 * Readings the raw series no longer keeps: older than rawDays, less an hour so that a
 * reading at the edge is not sent to a retention policy that drops it on arrival.
 */
export function splitHistory(readings: Reading[], s: HistorySettings): { recent: Reading[]; history: Reading[] } {
  const cutoff = s.clock() - s.rawDays * DAY + HOUR;
  let any = false;
  for (const r of readings) if (r.ts < cutoff) { any = true; break; }
  if (!any) return { recent: readings, history: [] };
  const recent: Reading[] = [];
  const history: Reading[] = [];
  for (const r of readings) (r.ts < cutoff ? history : recent).push(r);
  return { recent, history };
}

/** the good numeric readings of `history` as hourly and daily buckets (a redelivered duplicate once), within the rollups' own retention */
export function accumulate(history: Reading[], timezone: string, s?: Pick<HistorySettings, 'hourlyDays' | 'dailyDays' | 'clock'>): RollupAcc[] {
  const now = s?.clock() ?? Date.now();
  // an hour's margin, as for the raw cut-off: a bucket at the edge would be dropped on arrival
  const oldest = { '1h': s?.hourlyDays ? now - s.hourlyDays * DAY + HOUR : -Infinity, '1d': s?.dailyDays ? now - s.dailyDays * DAY + DAY : -Infinity };
  const seen = new Set<string>();
  const accs = new Map<string, RollupAcc>();
  const sorted = history.filter((r) => r.quality === 'ok' && typeof r.value === 'number' && metricDef(r.metric)?.type === 'number').sort((a, b) => a.ts - b.ts);
  for (const r of sorted) {
    const id = `${r.deviceId}\u0000${r.metric}\u0000${r.ts}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const v = r.value as number;
    for (const period of ['1h', '1d'] as const) {
      const bucket = bucketOf(period, r.ts, timezone);
      if (bucket < oldest[period]) continue;
      const key = `${period}\u0000${r.deviceId}\u0000${r.metric}\u0000${bucket}`;
      const a = accs.get(key);
      if (!a) accs.set(key, { deviceId: r.deviceId, metric: r.metric, period, bucket, count: 1, sum: v, min: v, max: v, first: v, last: v, firstTs: r.ts, lastTs: r.ts });
      else merge(a, { count: 1, sum: v, min: v, max: v, first: v, last: v, firstTs: r.ts, lastTs: r.ts });
    }
  }
  return [...accs.values()];
}

type Agg = Pick<RollupAcc, 'count' | 'sum' | 'min' | 'max' | 'first' | 'last'> & { firstTs: number | null; lastTs: number | null };

/** into `a` (mutated): counts and sums add, first/last by time; a side without times keeps its first/last only when the other has none */
export function merge(a: Agg, b: Agg): void {
  a.count += b.count;
  a.sum += b.sum;
  a.min = Math.min(a.min, b.min);
  a.max = Math.max(a.max, b.max);
  if (b.firstTs !== null && (a.firstTs === null || b.firstTs < a.firstTs)) { a.first = b.first; a.firstTs = b.firstTs; }
  if (b.lastTs !== null && (a.lastTs === null || b.lastTs > a.lastTs)) { a.last = b.last; a.lastTs = b.lastTs; }
}
