import type { DeadLetter, DeviceEventRecord, Reading } from '../core/types.js';
import type { ReadingValue } from '../core/model.js';

/** Everything one group commit makes durable. */
export interface WriteBatch {
  readings: Reading[];
  events: DeviceEventRecord[];
  deadLetters: DeadLetter[];
  /** device id -> latest receive time in this batch */
  seen: Map<string, number>;
}

export interface StoredPoint {
  ts: number;
  value: ReadingValue;
  quality: 'ok' | 'out_of_range';
}

export interface SeriesQuery {
  deviceId: string;
  metric: string;
  from: number;
  to: number;
}

export interface LatestValue {
  value: ReadingValue;
  ts: number;
  quality: 'ok' | 'out_of_range';
}

export interface EventQuery {
  deviceId?: string;
  deviceIds?: string[];
  type?: string;
  from: number;
  to: number;
  limit: number;
  /** desc (default): newest first */
  order?: 'asc' | 'desc';
  /** keyset continuation: the events after this one in `order` */
  after?: { ts: number; id: string };
}

export interface StoredEvent extends DeviceEventRecord {
  id: string;
}

export type RollupPeriod = '1h' | '1d';

/** One rollup bucket of the good readings of a numeric metric. */
export interface RollupPoint {
  ts: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  mean: number;
  first: number;
  last: number;
  /** times of the first and last reading, where the store keeps them (merging history) */
  firstTs?: number;
  lastTs?: number;
}

export interface RollupQuery extends SeriesQuery {
  period: RollupPeriod;
  limit: number;
}

export interface Readiness {
  ok: boolean;
  degraded?: boolean;
  reason?: string;
}

/**
 * A time-series backend. commit() resolves only when the batch is durable (committed, or
 * spooled to disk when the backend is unreachable): the QoS 1 PUBACK waits for it.
 */
export interface TelemetryStore {
  readonly name: string;
  start(): Promise<void>;
  commit(batch: WriteBatch): Promise<void>;
  /**
   * Settles a commit that has already finished elsewhere (a writer thread) without waiting
   * for its message to be dispatched; cheap enough to call for every message received.
   */
  poll?(): void;
  /** points in [from, to), ascending, at most `limit` */
  series(q: SeriesQuery & { limit: number }): Promise<StoredPoint[]>;
  /** iterates all points in [from, to), ascending (for aggregation) */
  scan(q: SeriesQuery): AsyncIterable<StoredPoint> | Iterable<StoredPoint>;
  /** the last point before `before` */
  previous(deviceId: string, metric: string, before: number): Promise<StoredPoint | undefined>;
  latest(deviceId: string): Promise<Map<string, LatestValue>>;
  latestMany(deviceIds: string[], metrics: string[]): Promise<Map<string, Map<string, LatestValue>>>;
  events(q: EventQuery): Promise<StoredEvent[]>;
  /** hourly / daily rollups with bucket start in [from, to), ascending */
  rollups(q: RollupQuery): Promise<RollupPoint[]>;
  readiness(): Readiness;
  stop(): Promise<void>;
}

/**
 * The store refused the batch for what is in it (a column's type, a constraint, a value too
 * big), not because it cannot write: the committer bisects the batch and dead-letters the
 * refused entries. Any other commit error means the store cannot write at all.
 */
export class StoreDataError extends Error {
  readonly storeDataError = true;
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

export function isStoreDataError(err: unknown): err is StoreDataError {
  return typeof err === 'object' && err !== null && (err as { storeDataError?: unknown }).storeDataError === true;
}

/**
 * SQLite result codes that are about the data of a statement; SQLITE_FULL, _IOERR, _BUSY,
 * _LOCKED, _READONLY, _CORRUPT, _NOMEM, _CANTOPEN are about the store. A TypeError or
 * RangeError before any SQL ran (a value better-sqlite3 cannot bind) is data too.
 */
export function isSqliteDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) return /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code);
  return err instanceof TypeError || err instanceof RangeError;
}
