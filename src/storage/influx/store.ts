/**
 * Readings in InfluxDB (1.x or 2.x); events, dead letters and last-seen in the embedded
 * store beside the registry and alerts. A commit resolves, and its PUBACKs go out, only
 * when its readings are in InfluxDB or in the on-disk spool:
 *
 *   spool empty      -> write to InfluxDB; on failure append the lines to the spool
 *   spool not empty  -> append to the spool (never overtake what waits there)
 *
 * A background drain writes the spool to InfluxDB oldest first and deletes what was taken.
 * A reading can reach InfluxDB twice (a write that timed out but landed, a crash between a
 * drained write and its delete); a point's identity is (measurement, tags, time), so the
 * second write overwrites the first with the same values: stored once.
 */
import type { Logger } from 'pino';
import { type Db, writeTransaction } from '../database.js';
import { SqliteTelemetryStore, type DeadLetterLimits } from '../sqlite-telemetry.js';
import { Backoff, Spool, type SpoolChunk } from '../spool.js';
import { isStoreDataError, type EventQuery, type LatestValue, type Readiness, type RollupPoint, type RollupQuery, type SeriesQuery, type StoredEvent, type StoredPoint, type TelemetryStore, type WriteBatch } from '../telemetry-store.js';
import type { Metrics } from '../../metrics.js';
import type { DeadLetter } from '../../core/types.js';
import { escapeMeasurement, readingLines, tagSet, type SeriesTags } from './line-protocol.js';
import { accumulate, merge, splitHistory, type RollupAcc } from '../backfill.js';
import type { Reading } from '../../core/types.js';
import { RejectedWrite, type InfluxBackend, type RetentionSettings } from './backend.js';

export interface InfluxStoreOptions {
  name: 'influx-v1' | 'influx-v2';
  tagsOf: (deviceId: string) => SeriesTags;
  retention: RetentionSettings;
  numericMetrics: string[];
  metrics: Metrics;
  log: Logger;
  clock?: () => number;
  /** drain retry backoff */
  retry?: { initialMs: number; maxMs: number };
  /** readings per drained write */
  drainChunkPoints?: number;
  /** dead letters are kept in the embedded store: their bounds (ingest.deadLetters) */
  deadLetters?: DeadLetterLimits;
  onDeadLettersEvicted?: (n: number) => void;
  /** cluster mode: the dead letters this store makes (rejected readings) go to PostgreSQL instead, durable before the commit resolves */
  sharedDeadLetters?: (letters: readonly DeadLetter[]) => Promise<void>;
}

const SCAN_PAGE = 10_000;

export class InfluxTelemetryStore implements TelemetryStore {
  readonly name: string;
  private readonly embedded: SqliteTelemetryStore;
  private readonly spool: Spool;
  private readonly clock: () => number;
  private setupDone = false;
  private lastError: string | undefined;
  private embeddedError: string | undefined;
  private draining: Promise<void> | undefined;
  private stopped = false;
  private readonly backoff = new Backoff();

  constructor(private readonly db: Db, private readonly backend: InfluxBackend, private readonly opts: InfluxStoreOptions) {
    this.name = opts.name;
    this.clock = opts.clock ?? Date.now;
    this.embedded = new SqliteTelemetryStore(db, undefined, { deadLetters: opts.deadLetters, onEvicted: opts.onDeadLettersEvicted });
    this.spool = new Spool(db, this.clock);
    this.updateGauges();
  }

  /** Does not fail when InfluxDB is down: writes spool until it is back. */
  async start(): Promise<void> {
    await this.trySetup();
    if (this.spool.batches > 0) {
      this.opts.log.warn({ points: this.spool.points, batches: this.spool.batches }, 'spooled readings from an earlier run; draining into InfluxDB');
      this.kickDrain();
    }
  }

  private async trySetup(): Promise<boolean> {
    if (this.setupDone) return true;
    try {
      await this.backend.setup(this.opts.retention, this.opts.numericMetrics);
      this.setupDone = true;
      return true;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.opts.log.warn({ err: this.lastError }, `${this.backend.label} not ready; readings are spooled on disk until it is`);
      return false;
    }
  }

  private updateGauges(): void {
    this.opts.metrics.spoolDepth.set(this.spool.batches);
    this.opts.metrics.spoolPoints.set(this.spool.points);
  }

  async commit(batch: WriteBatch): Promise<void> {
    const { recent, history } = splitHistory(batch.readings, { rawDays: this.opts.retention.rawDays, timezone: this.opts.retention.timezone, clock: this.clock });
    // beyond the raw retention policy InfluxDB would drop them: merged into the rollups instead.
    // Not spooled: a failure fails the commit (no PUBACK), and the device sends them again.
    const extra = history.length > 0 ? await this.writeHistory(history) : undefined;
    const lines = readingLines(recent, this.opts.tagsOf);
    let toSpool = false;
    const deadLetters = batch.deadLetters.slice();
    if (extra) deadLetters.push(extra);
    if (lines.length > 0) {
      if (this.spool.batches > 0 || !this.setupDone) {
        toSpool = true;
      } else {
        const body = lines.join('\n');
        try {
          await this.backend.write(body);
          this.lastError = undefined;
        } catch (err) {
          if (err instanceof RejectedWrite) deadLetters.push(this.rejected(err, lines.length, body));
          else {
            toSpool = true;
            this.noteFailure(err as Error);
          }
        }
      }
    }
    try {
      writeTransaction(this.db, () => {
        if (toSpool) this.spool.append(lines);
        // history is in the rollups only: /latest of a device whose only upload is its history comes from here
        if (history.length > 0) this.embedded.rememberLatest(history);
        this.embedded.commitSync({ readings: [], events: batch.events, deadLetters: this.opts.sharedDeadLetters ? batch.deadLetters : deadLetters, seen: batch.seen });
      })();
      this.embeddedError = undefined;
    } catch (err) {
      if (!isStoreDataError(err)) this.embeddedError = (err as Error).message;
      throw err;
    }
    if (this.opts.sharedDeadLetters) await this.opts.sharedDeadLetters(deadLetters.slice(batch.deadLetters.length));
    if (toSpool) {
      this.opts.metrics.spooledPoints.inc(lines.length);
      this.updateGauges();
      this.kickDrain();
    }
  }

  /** merges the history's buckets into the stored rollup points (read, merge, write back) */
  private async writeHistory(history: Reading[]): Promise<DeadLetter | undefined> {
    const r = this.opts.retention;
    const groups = new Map<string, RollupAcc[]>();
    for (const a of accumulate(history, r.timezone, { hourlyDays: r.hourlyDays, dailyDays: r.dailyDays, clock: this.clock })) {
      const key = `${a.period}\u0000${a.deviceId}\u0000${a.metric}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(a);
    }
    const lines: Record<'1h' | '1d', string[]> = { '1h': [], '1d': [] };
    for (const accs of groups.values()) {
      const { period, deviceId, metric } = accs[0]!;
      const buckets = accs.map((a) => a.bucket);
      const stored = await this.backend.rollups({ deviceId, metric, period, from: Math.min(...buckets), to: Math.max(...buckets) + 1, limit: buckets.length + 10_000 });
      const byTs = new Map(stored.map((p) => [p.ts, p]));
      const tags = tagSet(this.opts.tagsOf(deviceId));
      for (const a of accs) {
        const old = byTs.get(a.bucket);
        const out = old ? { ...old, firstTs: old.firstTs ?? null, lastTs: old.lastTs ?? null } : { ...a };
        if (old) merge(out, a);
        const f = (v: number) => (Number.isInteger(v) ? `${v}` : String(v));
        lines[period].push(`${escapeMeasurement(metric)}${tags} count=${out.count}i,sum=${f(out.sum)},min=${f(out.min)},max=${f(out.max)},mean=${f(out.sum / out.count)},first=${f(out.first)},last=${f(out.last)}`
          + `${out.firstTs !== null ? `,first_ts=${out.firstTs}i` : ''}${out.lastTs !== null ? `,last_ts=${out.lastTs}i` : ''} ${a.bucket}`);
      }
    }
    for (const period of ['1h', '1d'] as const) {
      if (!lines[period].length) continue;
      const body = lines[period].join('\n');
      try {
        await this.backend.writeRollups(period, body);
      } catch (err) {
        // refused as data (retention changed under us, a field type conflict): kept, visible, acknowledged
        if (err instanceof RejectedWrite) return this.rejected(err, lines[period].length, body);
        throw err;
      }
    }
    return undefined;
  }

  private noteFailure(err: Error): void {
    if (this.lastError === undefined) this.opts.log.warn({ err: err.message }, `${this.backend.label} write failed; spooling readings on disk`);
    this.lastError = err.message;
  }

  /** readings InfluxDB refused as data become a dead letter: kept, visible, with the reason */
  private rejected(err: RejectedWrite, points: number, lines: string): DeadLetter {
    this.opts.metrics.storeRejected.inc(points);
    this.opts.log.error({ err: err.message, points }, 'InfluxDB rejected readings; kept as a dead letter');
    return { ts: this.clock(), topic: `store/${this.name}`, clientId: 'gateway', reason: err.message, payload: Buffer.from(lines) };
  }

  private kickDrain(): void {
    if (this.stopped) return;
    if (this.draining) { this.backoff.wake(); return; }
    this.draining = this.drain().finally(() => { this.draining = undefined; });
  }

  private async drain(): Promise<void> {
    const initial = this.opts.retry?.initialMs ?? 500;
    const max = this.opts.retry?.maxMs ?? 10_000;
    let delay = initial;
    while (!this.stopped && this.spool.batches > 0) {
      let chunk: SpoolChunk | undefined;
      try {
        if (!(await this.trySetup())) throw new Error(this.lastError ?? 'setup failed');
        chunk = this.spool.head(this.opts.drainChunkPoints ?? 5000);
        if (!chunk) break;
        try {
          await this.backend.write(chunk.lines);
        } catch (err) {
          if (!(err instanceof RejectedWrite)) throw err;
          const letter = this.rejected(err, chunk.points, chunk.lines);
          // a shared write that fails leaves the chunk in the spool: the next round retries it
          if (this.opts.sharedDeadLetters) await this.opts.sharedDeadLetters([letter]);
          else writeTransaction(this.db, () => this.embedded.commitSync({ readings: [], events: [], deadLetters: [letter], seen: new Map() }))();
        }
        this.spool.remove(chunk);
        this.opts.metrics.drainedPoints.inc(chunk.points);
        this.updateGauges();
        if (this.lastError !== undefined) this.opts.log.info({ remaining: this.spool.points }, `${this.backend.label} accepts writes again; draining the spool`);
        this.lastError = undefined;
        delay = initial;
      } catch (err) {
        this.noteFailure(err as Error);
        await this.backoff.sleep(delay);
        delay = Math.min(max, delay * 2);
      }
    }
    if (this.spool.batches === 0 && !this.stopped) this.opts.log.info(`spool drained into ${this.backend.label}`);
  }

  /** resolves when the spool is empty (tests, shutdown reports) */
  async drained(): Promise<void> {
    while (this.spool.batches > 0 && !this.stopped) {
      this.kickDrain();
      await this.draining;
    }
  }

  get spooledPoints(): number { return this.spool.points; }

  async series(q: SeriesQuery & { limit: number }): Promise<StoredPoint[]> {
    return this.backend.series(q);
  }

  async *scan(q: SeriesQuery): AsyncIterable<StoredPoint> {
    let from = q.from;
    for (;;) {
      const page = await this.backend.series({ ...q, from, limit: SCAN_PAGE });
      yield* page;
      if (page.length < SCAN_PAGE) return;
      from = page[page.length - 1]!.ts + 1;
    }
  }

  previous(deviceId: string, metric: string, before: number): Promise<StoredPoint | undefined> {
    return this.backend.previous({ deviceId, metric, before });
  }

  /** InfluxDB's raw series, and for metrics it has none of, history's latest kept beside the registry (raw is always newer) */
  async latest(deviceId: string): Promise<Map<string, LatestValue>> {
    const [remote, local] = await Promise.all([this.backend.latest(deviceId), this.embedded.latest(deviceId)]);
    for (const [metric, v] of local) if (!remote.has(metric)) remote.set(metric, v);
    return remote;
  }

  async latestMany(deviceIds: string[], metrics: string[]): Promise<Map<string, Map<string, LatestValue>>> {
    const [remote, local] = await Promise.all([this.backend.latestMany(deviceIds, metrics), this.embedded.latestMany(deviceIds, metrics)]);
    for (const [device, m] of local) {
      let r = remote.get(device);
      if (!r) remote.set(device, (r = new Map()));
      for (const [metric, v] of m) if (!r.has(metric)) r.set(metric, v);
    }
    return remote;
  }

  events(q: EventQuery): Promise<StoredEvent[]> {
    return this.embedded.events(q);
  }

  rollups(q: RollupQuery): Promise<RollupPoint[]> {
    return this.backend.rollups(q);
  }

  readiness(): Readiness {
    if (this.embeddedError) return { ok: false, reason: `sqlite write failed: ${this.embeddedError}` };
    if (this.spool.batches > 0 || !this.setupDone) {
      const why = this.lastError ?? 'draining';
      const since = this.spool.oldestAt;
      const age = since === undefined ? '' : ` since ${new Date(since).toISOString()}`;
      return { ok: true, degraded: true, reason: `${this.backend.label}: ${why}; ${this.spool.points} readings spooled on disk${age}, written in order when it is back` };
    }
    return { ok: true };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.backoff.wake();
    await this.draining;
    await this.backend.close();
  }
}
