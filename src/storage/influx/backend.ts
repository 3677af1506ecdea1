/** What the Influx store needs of a server version: write lines, run the REST API's queries. */
import type { ReadingValue } from '../../core/model.js';
import { DateTime } from 'luxon';
import { metricDef } from '../../core/vocabulary.js';
import type { LatestValue, RollupPeriod, RollupPoint, RollupQuery, StoredPoint } from '../telemetry-store.js';

/** A write the server refused for the data itself (HTTP 400): retrying cannot help. */
export class RejectedWrite extends Error {}

export interface RetentionSettings {
  rawDays: number;
  hourlyDays: number;
  dailyDays: number;
  /** offset of local midnight from UTC, e.g. '-8h' for Asia/Shanghai (daily rollups) */
  dayOffset: string;
  /** IANA zone of the daily rollups (v2 tasks use it as their location) */
  timezone: string;
}

export interface InfluxBackend {
  /** what /readyz and logs call it, e.g. "InfluxDB 1.x at http://…/telemetry" */
  readonly label: string;
  /** create the database / retention policies / rollup queries when missing */
  setup(retention: RetentionSettings, numericMetrics: string[]): Promise<void>;
  /** resolves when the server acknowledged the lines; RejectedWrite on a 4xx for the data */
  write(lines: string): Promise<void>;
  series(q: { deviceId: string; metric: string; from: number; to: number; limit: number }): Promise<StoredPoint[]>;
  previous(q: { deviceId: string; metric: string; before: number }): Promise<StoredPoint | undefined>;
  latest(deviceId: string): Promise<Map<string, LatestValue>>;
  latestMany(deviceIds: string[], metrics: string[]): Promise<Map<string, Map<string, LatestValue>>>;
  rollups(q: RollupQuery): Promise<RollupPoint[]>;
  /** rollup points (line protocol, one per bucket) straight into the period's retention policy / bucket: history beyond the raw retention */
  writeRollups(period: RollupPeriod, lines: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * GROUP BY time offset that puts daily buckets at local midnight: '-8h' for UTC+8. The
 * offset of now; zones with daylight saving get buckets an hour off for half the year.
 */
export function dayOffset(zone: string, at = Date.now()): string {
  const minutes = DateTime.fromMillis(at, { zone }).offset;
  if (minutes === 0) return '0s';
  return `${-minutes}m`;
}

/** A value read back in the metric's vocabulary type (so REST answers match the SQLite store's). */
export function typedValue(metric: string, v: unknown): ReadingValue {
  const type = metricDef(metric)?.type;
  if (type === 'boolean') return v === true || v === 1 || v === 'true';
  if (type === 'string') return String(v);
  return typeof v === 'number' ? v : Number(v);
}

export function point(metric: string, ts: number, value: unknown, quality: unknown): StoredPoint {
  return { ts, value: typedValue(metric, value), quality: Number(quality) === 1 ? 'out_of_range' : 'ok' };
}

export const ROLLUP_FIELDS = ['count', 'sum', 'min', 'max', 'mean', 'first', 'last'] as const;

export function rollupPoint(ts: number, r: Record<string, unknown>): RollupPoint {
  const p: RollupPoint = { ts, count: Number(r.count), sum: Number(r.sum), min: Number(r.min), max: Number(r.max), mean: Number(r.mean), first: Number(r.first), last: Number(r.last) };
  // written by the gateway with merged history (storage/backfill.ts); the CQs / tasks do not write them
  if (typeof r.first_ts === 'number') p.firstTs = r.first_ts;
  if (typeof r.last_ts === 'number') p.lastTs = r.last_ts;
  return p;
}

/** fetch with a deadline; a timeout is an Error like a refused connection */
export async function timedFetch(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
}

/** Classifies a write response: ok, rejected data (do not retry), or a failure to retry. */
export async function checkWrite(res: Response, label: string): Promise<void> {
  if (res.status === 204 || res.status === 200) return;
  const body = (await res.text()).slice(0, 500);
  // 400: the lines themselves (type conflict, parse error): InfluxDB wrote the valid ones
  if (res.status === 400) throw new RejectedWrite(`${label} rejected the write: ${body}`);
  throw new Error(`${label} answered ${res.status}: ${body}`);
}
