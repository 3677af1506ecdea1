/**
 * Readings, latest values, events and rollups in PostgreSQL (store.type postgres); dead
 * letters stay in the embedded store beside the registry on one node (in cluster mode the
 * committer hands them to PostgreSQL instead: src/storage/shared-dead-letters.ts).
 *
 * One group commit = one PostgreSQL transaction: the batch's readings in one multi-row
 * INSERT (unnest of column arrays: one statement and one round trip whatever the batch
 * size, no bind-parameter limit), the newest value per (device, metric) into latest, the
 * events. commit() resolves after COMMIT, so the QoS 1 PUBACKs follow the commit. Rows are
 * sorted by key so two nodes committing the same keys lock them in the same order (no
 * deadlock between concurrent group commits).
 *
 * When the server is unreachable (refused, reset, timed out, shutting down: isUnreachable)
 * and the spool is enabled, the batch's readings and events go to the node's on-disk spool
 * (SQLite store_spool, as the InfluxDB store does) and the PUBACKs follow that commit:
 *
 *   spool empty      -> write to PostgreSQL; unreachable: append the batch to the spool
 *   spool not empty  -> append to the spool (never overtake what waits there)
 *   spool full       -> refuse the batch (no PUBACK; /readyz 503 says why)
 *
 * A background drain writes the spool to PostgreSQL oldest first, in the same transaction
 * shape as a direct commit (readings, latest, events), and deletes what was taken. A batch
 * can reach PostgreSQL twice (a COMMIT whose reply was lost, a crash between a drained
 * write and its delete): every write is an upsert keyed as in DUPLICATE_RULE with the same
 * values, so it is stored once. The spool is off when the telemetry server is the cluster
 * state's (docs/cluster.md "Failure modes": PUBACKs are withheld there).
 */
import pg from 'pg';
import { DateTime } from 'luxon';
import type { Logger } from 'pino';
import { type Db, writeTransaction } from '../database.js';
import type { ReadingValue } from '../../core/model.js';
import type { DeadLetter, DeviceEventRecord, Reading } from '../../core/types.js';
import type { Metrics } from '../../metrics.js';
import { SqliteTelemetryStore, fromSql, type DeadLetterLimits } from '../sqlite-telemetry.js';
import { Backoff, Spool } from '../spool.js';
import { StoreDataError, type EventQuery, type LatestValue, type Readiness, type RollupPeriod, type RollupPoint, type RollupQuery, type SeriesQuery, type StoredEvent, type StoredPoint, type TelemetryStore, type WriteBatch } from '../telemetry-store.js';
import { ensureMonth, listPartitions, migrate, monthOf, nextMonth } from './schema.js';
import { pgTransaction } from './tx.js';

/**
 * THE duplicate rule, in one place (the same as the SQLite store's): a reading redelivered
 * for the same (device, metric, ts) keeps the first stored value; latest keeps the value of
 * the newest ts (a tie: the later write). Change it here and nowhere else.
 */
export const DUPLICATE_RULE = {
  // last write wins, as in SQLite and InfluxDB (docs/vocabulary.md "Duplicates"); a batch holds
  // each key once (lastPerKey), since DO UPDATE may touch a row only once per statement
  readings: 'ON CONFLICT (device_id, metric, ts) DO UPDATE SET num = excluded.num, txt = excluded.txt, received_at = excluded.received_at, quality = excluded.quality',
  latest: `ON CONFLICT (device_id, metric) DO UPDATE SET ts = excluded.ts, num = excluded.num, txt = excluded.txt, quality = excluded.quality
    WHERE excluded.ts >= latest.ts`,
  events: 'ON CONFLICT (device_id, type, ts) DO UPDATE SET data = excluded.data',
} as const;

/** the last of each key in batch order: the write that wins */
function lastPerKey<T>(xs: readonly T[], key: (x: T) => string): T[] {
  const m = new Map<string, T>();
  for (const x of xs) { const k = key(x); m.delete(k); m.set(k, x); }
  return [...m.values()];
}

/**
 * The server could not be reached or is going away: nothing of the batch is known to be
 * committed, and trying again later can succeed. Connection errors from the socket or from
 * pg's own timeouts (no SQLSTATE), class 08 (connection exception), 57P01 admin_shutdown,
 * 57P02 crash_shutdown, 57P03 cannot_connect_now. Anything else (a permission, a missing
 * table, disk full on the server) is not an outage the spool can wait out.
 */
export function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') {
    if (/^(ECONNREFUSED|ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN|EAI_AGAIN|ENOTFOUND)$/.test(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
  }
  const msg = err instanceof Error ? err.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|not queryable|Client was closed/i.test(msg);
}

/** SQLSTATE class 22 (data exception: a value PostgreSQL cannot take) and 23 (constraint): about the batch's content */
export function isPgDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/** whether two postgres:// URLs name the same server (host and port); unparsable: assumed the same */
export function sameServer(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    return x.hostname.toLowerCase() === y.hostname.toLowerCase() && (x.port || '5432') === (y.port || '5432');
  } catch {
    return true;
  }
}

export interface PostgresStoreOptions {
  url: string;
  poolSize: number;
  partitionsAhead: number;
  retention: { rawDays: number; hourlyDays: number; dailyDays: number; timezone: string };
  numericMetrics: string[];
  log: Logger;
  clock?: () => number;
  /** dead letters are kept in the embedded store (in cluster mode in PostgreSQL, src/storage/shared-dead-letters.ts): their bounds */
  deadLetters?: DeadLetterLimits;
  onDeadLettersEvicted?: (n: number) => void;
  /** spool gauges and counters (shared names with the InfluxDB store) */
  metrics?: Metrics;
  /** readings the on-disk spool may hold while the server is unreachable; 0 or unset: no spool (PUBACKs withheld) */
  spoolMaxReadings?: number;
  /** drain retry backoff */
  retry?: { initialMs: number; maxMs: number };
  /** readings per drained transaction */
  drainChunkPoints?: number;
}

/** one spool line: a reading or an event, as a JSON array (never contains a newline) */
type SpoolEntry =
  | ['r', string, string, number, ReadingValue, number, 0 | 1]
  | ['e', string, string, number, Record<string, unknown>];

function decodeEntry(line: string): SpoolEntry | undefined {
  if (!line.startsWith('[')) return undefined;
  try {
    const e = JSON.parse(line) as unknown;
    if (!Array.isArray(e) || typeof e[1] !== 'string' || typeof e[2] !== 'string' || !Number.isSafeInteger(e[3])) return undefined;
    if (e[0] === 'r' && e.length === 7 && ['number', 'string', 'boolean'].includes(typeof e[4]) && Number.isSafeInteger(e[5]) && (e[6] === 0 || e[6] === 1)) return e as SpoolEntry;
    if (e[0] === 'e' && e.length === 5 && typeof e[4] === 'object' && e[4] !== null) return e as SpoolEntry;
  } catch { /* not ours */ }
  return undefined;
}

export interface PgMaintenanceReport {
  hourlyBuckets: number;
  dailyBuckets: number;
  rawDeleted: number;
  partitionsDropped: number;
  eventsDeleted: number;
  rollupsDeleted: number;
}

const SCAN_PAGE = 10_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const LOOKBACK_MS = 2 * DAY;
/** on-demand partitions only this far from now; readings beyond land in DEFAULT */
const ON_DEMAND_MONTHS = 36;

interface Row { ts: number; num: number | null; txt: string | null; quality: number }

function split(v: ReadingValue): [number | null, string | null] {
  if (typeof v === 'number') return [v, null];
  if (typeof v === 'boolean') return [v ? 1 : 0, null];
  return [null, v];
}

const point = (metric: string, r: Row): StoredPoint => ({ ts: r.ts, value: fromSql(metric, r.num ?? r.txt), quality: r.quality === 1 ? 'out_of_range' : 'ok' });

/** int8 (counts, ms timestamps) as JS numbers: every value here is below 2^53 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

const byKey = (a: Reading, b: Reading) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : a.ts - b.ts);

export class PostgresTelemetryStore implements TelemetryStore {
  readonly name = 'postgres';
  readonly pool: pg.Pool;
  private readonly embedded: SqliteTelemetryStore;
  private readonly clock: () => number;
  private readonly months = new Set<number>();
  /** false when readings is not declaratively partitioned (a TimescaleDB hypertable: docs/cluster.md) */
  private partitioned = true;
  private lastError: string | undefined;
  private embeddedError: string | undefined;
  private readonly spool: Spool;
  private readonly spoolMax: number;
  /** migrations and partitions done (false while the server was unreachable at start) */
  private setupDone = false;
  /** a batch was refused because the spool is full; cleared by the next accepted batch or drained chunk */
  private spoolFull = false;
  private draining: Promise<void> | undefined;
  private stopped = false;
  private readonly backoff = new Backoff();
  /** commits waiting for the drain's current chunk (the hand-over back to direct commits) */
  private chunkWaiters: Array<() => void> = [];

  constructor(private readonly db: Db, private readonly opts: PostgresStoreOptions) {
    this.clock = opts.clock ?? Date.now;
    this.embedded = new SqliteTelemetryStore(db, undefined, { deadLetters: opts.deadLetters, onEvicted: opts.onDeadLettersEvicted });
    this.spool = new Spool(db, this.clock);
    this.spoolMax = opts.spoolMaxReadings ?? 0;
    this.updateGauges();
    // a hung server fails the commit (no PUBACK, the device retries) instead of stalling ingest
    this.pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize, types, connectionTimeoutMillis: 5000, query_timeout: 15_000, application_name: 'estate-gateway' });
    // an idle client's connection dropped (server restart): the pool replaces it; not fatal
    this.pool.on('error', (err) => opts.log.warn({ err: err.message }, 'idle PostgreSQL connection lost; the pool reconnects'));
    // pg-pool listens for errors only on idle clients: a checked-out client (inside a
    // transaction, between two queries) that loses its server would otherwise emit an
    // unhandled 'error' and crash the process; its next query fails instead
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  /**
   * With the spool on, an unreachable server does not fail the start: batches spool until it
   * is back (a node restarted during an outage keeps taking uplinks). Without it, as before.
   */
  async start(): Promise<void> {
    // rows another store type left (InfluxDB line protocol: store.type was changed with a
    // non-empty spool) cannot be written here, and a dead letter keeps only 4 KB of them
    const foreign = (this.db.prepare("SELECT count(*) AS n FROM store_spool WHERE substr(lines, 1, 1) <> '['").get() as { n: number }).n;
    if (foreign > 0) {
      throw new Error(`store_spool in gateway.db holds ${foreign} batches spooled by another store type (InfluxDB line protocol): `
        + 'start once with that store.type until /readyz is ready (the spool drained), or delete them (DELETE FROM store_spool) to discard them');
    }
    if (!this.spoolOn) await this.setup();
    else await this.trySetup();
    if (this.spool.batches > 0) {
      this.opts.log.warn({ points: this.spool.points, batches: this.spool.batches }, 'spooled readings from an earlier run; draining into PostgreSQL');
      this.kickDrain();
    }
  }

  private get spoolOn(): boolean { return this.spoolMax > 0; }

  private async trySetup(): Promise<boolean> {
    if (this.setupDone) return true;
    try {
      await this.setup();
      return true;
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      this.noteFailure(err as Error);
      return false;
    }
  }

  private async setup(): Promise<void> {
    await migrate(this.pool);
    this.partitioned = (await this.pool.query("SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'readings'::regclass")).rowCount === 1;
    if (!this.partitioned) {
      this.opts.log.info('readings is not a partitioned table (TimescaleDB hypertable?): partitions are not managed by the gateway');
      this.setupDone = true;
      return;
    }
    for (const name of (await listPartitions(this.pool)).values()) this.months.add(name.from);
    await this.ensureAhead();
    this.setupDone = true;
  }

  private async ensureAhead(): Promise<void> {
    if (!this.partitioned) return;
    let m = monthOf(this.clock());
    for (let i = 0; i <= this.opts.partitionsAhead; i++, m = nextMonth(m)) await this.ensure(m);
  }

  private async ensure(month: number): Promise<void> {
    if (this.months.has(month)) return;
    if (await ensureMonth(this.pool, month)) this.opts.log.info({ month: new Date(month).toISOString().slice(0, 7) }, 'readings partition created');
    this.months.add(month);
  }

  async commit(batch: WriteBatch): Promise<void> {
    const rs = lastPerKey(batch.readings, (r) => `${r.deviceId}\u0000${r.metric}\u0000${r.ts}`).sort(byKey);
    let toSpool = false;
    if (rs.length > 0 || batch.events.length > 0) {
      // the server is back and the drain is within a chunk of the end: wait for it instead of
      // queueing behind it, or under steady ingest the spool would never quite empty (every
      // batch through the disk, /readyz degraded long after the outage). The committer sends
      // nothing meanwhile, so the spool only shrinks; a failed chunk sets lastError: spool.
      while (this.spoolOn && this.spool.batches > 0 && this.setupDone && this.lastError === undefined && this.draining
        && this.spool.points <= this.chunkPoints) {
        await new Promise<void>((resolve) => this.chunkWaiters.push(resolve));
      }
      if (this.spoolOn && (this.spool.batches > 0 || !this.setupDone)) {
        toSpool = true;
      } else {
        try {
          await this.ensureMonthsOf(rs);
          await this.writePg(rs, batch.events);
          this.lastError = undefined;
          this.spoolFull = false;
        } catch (err) {
          if (this.spoolOn && isUnreachable(err)) {
            toSpool = true;
            this.noteFailure(err as Error);
          } else {
            // a value PostgreSQL refuses: the committer bisects and dead-letters that entry alone; the store itself is fine
            if (isPgDataError(err)) throw new StoreDataError(`postgres refused the batch: ${(err as Error).message}`, (err as { code?: string }).code);
            this.lastError = (err as Error).message;
            throw err;
          }
        }
      }
    }
    if (toSpool) this.spoolBatch(rs, batch.events);
    if (batch.deadLetters.length > 0 || batch.seen.size > 0) {
      try {
        this.embedded.commitSync({ readings: [], events: [], deadLetters: batch.deadLetters, seen: batch.seen });
        this.embeddedError = undefined;
      } catch (err) {
        this.embeddedError = (err as Error).message;
        throw err;
      }
    }
  }

  /** durable on disk before commit() resolves (the PUBACK); refused when the spool is full */
  private spoolBatch(rs: Reading[], events: DeviceEventRecord[]): void {
    // readings bound the size; batches bound event-only ones (each is at least one line)
    if (this.spool.points + rs.length > this.spoolMax || this.spool.batches >= this.spoolMax) {
      if (!this.spoolFull) this.opts.log.error({ points: this.spool.points, max: this.spoolMax }, 'PostgreSQL unreachable and the spool is full (store.postgres.spoolMaxReadings): PUBACKs withheld');
      this.spoolFull = true;
      throw new Error(`postgres unreachable (${this.lastError ?? 'draining'}) and the on-disk spool is full (${this.spool.points} readings, store.postgres.spoolMaxReadings ${this.spoolMax})`);
    }
    const lines: string[] = [];
    for (const r of rs) lines.push(JSON.stringify(['r', r.deviceId, r.metric, r.ts, r.value, r.receivedAt, r.quality === 'out_of_range' ? 1 : 0] satisfies SpoolEntry));
    for (const e of events) lines.push(JSON.stringify(['e', e.deviceId, e.type, e.ts, e.data] satisfies SpoolEntry));
    try {
      writeTransaction(this.db, () => this.spool.append(lines, rs.length))();
    } catch (err) {
      this.embeddedError = (err as Error).message;
      throw err;
    }
    this.spoolFull = false;
    this.embeddedError = undefined;
    this.opts.metrics?.spooledPoints.inc(rs.length);
    this.updateGauges();
    this.kickDrain();
  }

  private updateGauges(): void {
    this.opts.metrics?.spoolDepth.set(this.spool.batches);
    this.opts.metrics?.spoolPoints.set(this.spool.points);
  }

  private noteFailure(err: Error): void {
    if (this.lastError === undefined) this.opts.log.warn({ err: err.message }, 'PostgreSQL unreachable; spooling readings on disk');
    this.lastError = err.message;
  }

  private get chunkPoints(): number { return this.opts.drainChunkPoints ?? 5000; }

  private kickDrain(): void {
    if (this.stopped) return;
    if (this.draining) { this.backoff.wake(); return; }
    this.draining = this.drain().finally(() => { this.draining = undefined; this.chunkDone(); });
  }

  private chunkDone(): void {
    const waiters = this.chunkWaiters;
    this.chunkWaiters = [];
    for (const w of waiters) w();
  }

  private async drain(): Promise<void> {
    const initial = this.opts.retry?.initialMs ?? 250;
    const max = this.opts.retry?.maxMs ?? 5000;
    let delay = initial;
    while (!this.stopped && this.spool.batches > 0) {
      try {
        if (!(await this.trySetup())) throw new Error(this.lastError ?? 'setup failed');
        const chunk = this.spool.head(this.chunkPoints);
        if (!chunk) break;
        const entries: SpoolEntry[] = [];
        const foreign: string[] = [];
        for (const line of chunk.lines.split('\n')) {
          const e = decodeEntry(line);
          if (e) entries.push(e);
          else if (line.length > 0) foreign.push(line);
        }
        const refused: DeadLetter[] = [];
        await this.drainEntries(entries, refused);
        // a damaged row (another store's rows are refused at start): kept, visible, with the reason
        if (foreign.length > 0) refused.push(this.deadLetter(`spooled for another store (not a PostgreSQL spool entry): ${foreign.length} lines`, foreign.join('\n')));
        // with the delete: a crash before it replays the chunk (upserts: no change) and makes these once
        writeTransaction(this.db, () => {
          if (refused.length > 0) this.embedded.commitSync({ readings: [], events: [], deadLetters: refused, seen: new Map() });
          this.spool.remove(chunk);
        })();
        this.opts.metrics?.drainedPoints.inc(chunk.points);
        this.spoolFull = false;
        this.updateGauges();
        if (this.lastError !== undefined) this.opts.log.info({ remaining: this.spool.points }, 'PostgreSQL accepts writes again; draining the spool');
        this.lastError = undefined;
        delay = initial;
        this.chunkDone();
      } catch (err) {
        this.noteFailure(err as Error);
        this.chunkDone();
        await this.backoff.sleep(delay);
        delay = Math.min(max, delay * 2);
      }
    }
    if (this.spool.batches === 0 && !this.stopped) this.opts.log.info('spool drained into PostgreSQL');
  }

  /**
   * One transaction as a direct commit of these entries would make, in spool order (the last
   * of a key wins, as in consecutive commits). Refused as data: halves until the refused entry
   * is alone, which becomes a dead letter; unreachable: thrown, the chunk is retried whole.
   */
  private async drainEntries(entries: SpoolEntry[], refused: DeadLetter[]): Promise<void> {
    if (entries.length === 0) return;
    const readings: Reading[] = [];
    const events: DeviceEventRecord[] = [];
    for (const e of entries) {
      if (e[0] === 'r') readings.push({ deviceId: e[1], metric: e[2], ts: e[3], value: e[4], unit: null, receivedAt: e[5], quality: e[6] === 1 ? 'out_of_range' : 'ok' });
      else events.push({ deviceId: e[1], type: e[2], ts: e[3], data: e[4] });
    }
    const rs = lastPerKey(readings, (r) => `${r.deviceId}\u0000${r.metric}\u0000${r.ts}`).sort(byKey);
    try {
      await this.ensureMonthsOf(rs);
      await this.writePg(rs, events, true);
    } catch (err) {
      if (!isPgDataError(err)) throw err;
      if (entries.length === 1) {
        refused.push(this.deadLetter(`postgres refused a spooled entry: ${(err as Error).message}`, JSON.stringify(entries[0])));
        return;
      }
      const mid = entries.length >> 1;
      await this.drainEntries(entries.slice(0, mid), refused);
      await this.drainEntries(entries.slice(mid), refused);
    }
  }

  private deadLetter(reason: string, payload: string): DeadLetter {
    this.opts.log.error({ reason }, 'spooled entries not written to PostgreSQL; kept as a dead letter');
    return { ts: this.clock(), topic: `store/${this.name}`, clientId: 'gateway', reason, payload: Buffer.from(payload) };
  }

  /** resolves when the spool is empty (tests, shutdown reports) */
  async drained(): Promise<void> {
    while (this.spool.batches > 0 && !this.stopped) {
      this.kickDrain();
      await this.draining;
    }
  }

  get spooledPoints(): number { return this.spool.points; }

  private async ensureMonthsOf(rs: Reading[]): Promise<void> {
    if (!this.partitioned) return;
    const now = monthOf(this.clock());
    const lo = now - ON_DEMAND_MONTHS * 31 * DAY;
    const hi = now + ON_DEMAND_MONTHS * 31 * DAY;
    const wanted = new Set<number>();
    for (const r of rs) {
      if (r.ts < lo || r.ts > hi) continue;
      const m = monthOf(r.ts);
      if (!this.months.has(m)) wanted.add(m);
    }
    for (const m of wanted) {
      try {
        await this.ensure(m);
      } catch (err) {
        // DEFAULT takes the rows: a missing month costs query speed, never a reading
        this.opts.log.warn({ err: (err as Error).message, month: new Date(m).toISOString().slice(0, 7) }, 'creating a readings partition failed; rows go to the default partition');
      }
    }
  }

  /**
   * `late`: the readings come from the spool, received before now. The retention job rolls up
   * only a look-back window behind its last run, which may have moved past them meanwhile:
   * its mark goes back to where a direct commit at receive time would have been covered.
   */
  private async writePg(rs: Reading[], events: DeviceEventRecord[], late = false): Promise<void> {
    await pgTransaction(this.pool, async (c) => {
      if (late && rs.length > 0) {
        let minTs = Infinity;
        let minReceived = Infinity;
        for (const r of rs) { if (r.ts < minTs) minTs = r.ts; if (r.receivedAt < minReceived) minReceived = r.receivedAt; }
        const from = Math.max(minTs, minReceived - LOOKBACK_MS);
        // one key at a time in a fixed order (two nodes draining lock them alike), and only when it must move
        for (const key of ['rollup.1d.done', 'rollup.1h.done']) {
          await c.query('UPDATE store_kv SET value = $2::text WHERE key = $1 AND value::bigint > $2::bigint', [key, from + LOOKBACK_MS]);
        }
      }
      if (rs.length > 0) {
        const cols: [string[], string[], number[], Array<number | null>, Array<string | null>, number[], number[]] = [[], [], [], [], [], [], []];
        for (const r of rs) {
          const [num, txt] = split(r.value);
          cols[0].push(r.deviceId); cols[1].push(r.metric); cols[2].push(r.ts); cols[3].push(num); cols[4].push(txt); cols[5].push(r.receivedAt); cols[6].push(r.quality === 'out_of_range' ? 1 : 0);
        }
        await c.query(`INSERT INTO readings (device_id, metric, ts, num, txt, received_at, quality)
          SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::text[], $6::bigint[], $7::smallint[]) ${DUPLICATE_RULE.readings}`, cols);
        // latest: one row per key (ON CONFLICT DO UPDATE may touch a row once per statement)
        const newest = new Map<string, Reading>();
        for (const r of rs) {
          const key = `${r.deviceId}\u0000${r.metric}`;
          const cur = newest.get(key);
          if (!cur || r.ts >= cur.ts) newest.set(key, r);
        }
        const l: [string[], string[], number[], Array<number | null>, Array<string | null>, number[]] = [[], [], [], [], [], []];
        for (const r of newest.values()) {
          const [num, txt] = split(r.value);
          l[0].push(r.deviceId); l[1].push(r.metric); l[2].push(r.ts); l[3].push(num); l[4].push(txt); l[5].push(r.quality === 'out_of_range' ? 1 : 0);
        }
        await c.query(`INSERT INTO latest (device_id, metric, ts, num, txt, quality)
          SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::text[], $6::smallint[]) ${DUPLICATE_RULE.latest}`, l);
      }
      if (events.length > 0) {
        const e: [string[], string[], number[], string[]] = [[], [], [], []];
        for (const ev of lastPerKey(events, (x) => `${x.deviceId}\u0000${x.type}\u0000${x.ts}`)) { e[0].push(ev.deviceId); e[1].push(ev.type); e[2].push(ev.ts); e[3].push(JSON.stringify(ev.data)); }
        await c.query(`INSERT INTO events (device_id, type, ts, data) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) ${DUPLICATE_RULE.events}`, e);
      }
    });
  }

  async series(q: SeriesQuery & { limit: number }): Promise<StoredPoint[]> {
    const { rows } = await this.pool.query<Row>('SELECT ts, num, txt, quality FROM readings WHERE device_id = $1 AND metric = $2 AND ts >= $3 AND ts < $4 ORDER BY ts LIMIT $5',
      [q.deviceId, q.metric, q.from, q.to, q.limit]);
    return rows.map((r) => point(q.metric, r));
  }

  async *scan(q: SeriesQuery): AsyncIterable<StoredPoint> {
    let from = q.from;
    for (;;) {
      const page = await this.series({ ...q, from, limit: SCAN_PAGE });
      yield* page;
      if (page.length < SCAN_PAGE) return;
      from = page[page.length - 1]!.ts + 1;
    }
  }

  async previous(deviceId: string, metric: string, before: number): Promise<StoredPoint | undefined> {
    const { rows } = await this.pool.query<Row>('SELECT ts, num, txt, quality FROM readings WHERE device_id = $1 AND metric = $2 AND ts < $3 AND quality = 0 ORDER BY ts DESC LIMIT 1', [deviceId, metric, before]);
    return rows[0] ? point(metric, rows[0]) : undefined;
  }

  async latest(deviceId: string): Promise<Map<string, LatestValue>> {
    const { rows } = await this.pool.query<Row & { metric: string }>('SELECT metric, ts, num, txt, quality FROM latest WHERE device_id = $1', [deviceId]);
    return new Map(rows.map((r) => [r.metric, point(r.metric, r)]));
  }

  async latestMany(deviceIds: string[], metrics: string[]): Promise<Map<string, Map<string, LatestValue>>> {
    const out = new Map<string, Map<string, LatestValue>>();
    if (deviceIds.length === 0 || metrics.length === 0) return out;
    const { rows } = await this.pool.query<Row & { device_id: string; metric: string }>(
      'SELECT device_id, metric, ts, num, txt, quality FROM latest WHERE device_id = ANY($1::text[]) AND metric = ANY($2::text[])', [deviceIds, metrics]);
    for (const r of rows) {
      let m = out.get(r.device_id);
      if (!m) out.set(r.device_id, (m = new Map()));
      m.set(r.metric, point(r.metric, r));
    }
    return out;
  }

  async events(q: EventQuery): Promise<StoredEvent[]> {
    const where = ['ts >= $1', 'ts < $2'];
    const args: unknown[] = [q.from, q.to];
    if (q.deviceId !== undefined) { args.push(q.deviceId); where.push(`device_id = $${args.length}`); }
    if (q.deviceIds !== undefined) { args.push(q.deviceIds); where.push(`device_id = ANY($${args.length}::text[])`); }
    if (q.type !== undefined) { args.push(q.type); where.push(`type = $${args.length}`); }
    // newest first unless asc, continuing after a keyset position (REST cursors), as the SQLite store
    const desc = q.order !== 'asc';
    if (q.after) { args.push(q.after.ts, Number(q.after.id)); where.push(`(ts, id) ${desc ? '<' : '>'} ($${args.length - 1}, $${args.length})`); }
    const dir = desc ? 'DESC' : 'ASC';
    args.push(q.limit);
    const { rows } = await this.pool.query<{ id: number; device_id: string; type: string; ts: number; data: string }>(
      `SELECT id, device_id, type, ts, data FROM events WHERE ${where.join(' AND ')} ORDER BY ts ${dir}, id ${dir} LIMIT $${args.length}`, args);
    return rows.map((r) => ({ id: String(r.id), deviceId: r.device_id, type: r.type, ts: r.ts, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  async rollups(q: RollupQuery): Promise<RollupPoint[]> {
    const { rows } = await this.pool.query<{ bucket: number; count: number; sum: number; min: number; max: number; first: number; last: number }>(
      `SELECT bucket, count, sum, min, max, first, last FROM rollups WHERE period = $1 AND device_id = $2 AND metric = $3 AND bucket >= $4 AND bucket < $5 ORDER BY bucket LIMIT $6`,
      [q.period, q.deviceId, q.metric, q.from, q.to, q.limit]);
    return rows.map((r) => ({ ts: r.bucket, count: r.count, sum: r.sum, min: r.min, max: r.max, mean: r.sum / r.count, first: r.first, last: r.last }));
  }

  /** start of the bucket holding ts (as the SQLite retention job buckets) */
  bucketOf(period: RollupPeriod, ts: number): number {
    if (period === '1h') return Math.floor(ts / HOUR) * HOUR;
    return DateTime.fromMillis(ts, { zone: this.opts.retention.timezone }).startOf('day').toMillis();
  }

  /**
   * The retention job for this store (run by the leader in a cluster): partitions ahead,
   * hourly and daily rollups recomputed over a look-back window (late readings), then raw
   * readings past rawDays, never past what the rollups cover: whole month partitions are
   * dropped, the rest deleted by range.
   */
  async maintain(now = this.clock()): Promise<PgMaintenanceReport> {
    const r = this.opts.retention;
    const report: PgMaintenanceReport = { hourlyBuckets: 0, dailyBuckets: 0, rawDeleted: 0, partitionsDropped: 0, eventsDeleted: 0, rollupsDeleted: 0 };
    await this.ensureAhead();
    const hourEnd = this.bucketOf('1h', now);
    const dayEnd = this.bucketOf('1d', now);
    report.hourlyBuckets = await this.rollUp('1h', hourEnd);
    report.dailyBuckets = await this.rollUp('1d', dayEnd);
    const rawCutoff = Math.min(now - r.rawDays * DAY, hourEnd, dayEnd);
    for (const [name, b] of await listPartitions(this.pool)) {
      if (b.to > rawCutoff) continue;
      // names come from pg_inherits of readings; quoted all the same (someone may attach their own)
      const ident = `"${name.replace(/"/g, '""')}"`;
      const n = (await this.pool.query<{ n: number }>(`SELECT count(*) AS n FROM ${ident}`)).rows[0]!.n;
      await this.pool.query(`DROP TABLE ${ident}`);
      this.months.delete(b.from);
      report.partitionsDropped++;
      report.rawDeleted += n;
    }
    report.rawDeleted += (await this.pool.query('DELETE FROM readings WHERE ts < $1', [rawCutoff])).rowCount ?? 0;
    report.eventsDeleted = (await this.pool.query('DELETE FROM events WHERE ts < $1', [now - r.rawDays * DAY])).rowCount ?? 0;
    report.rollupsDeleted = ((await this.pool.query("DELETE FROM rollups WHERE period = '1h' AND bucket < $1", [now - r.hourlyDays * DAY])).rowCount ?? 0)
      + ((await this.pool.query("DELETE FROM rollups WHERE period = '1d' AND bucket < $1", [now - r.dailyDays * DAY])).rowCount ?? 0);
    return report;
  }

  private async rollUp(period: RollupPeriod, end: number): Promise<number> {
    const key = `rollup.${period}.done`;
    const done = (await this.pool.query<{ value: string }>('SELECT value FROM store_kv WHERE key = $1', [key])).rows[0];
    const start = done === undefined ? -8.64e15 : this.bucketOf(period, Number(done.value) - LOOKBACK_MS);
    if (start >= end) return 0;
    // hourly: UTC hours; daily: local midnight in the retention zone (date_trunc with a zone, PG 14+)
    const bucket = period === '1h' ? `(floor(ts / ${HOUR}.0)::bigint * ${HOUR})` : '(extract(epoch FROM date_trunc(\'day\', to_timestamp(ts / 1000.0), $5)) * 1000)::bigint';
    const args: unknown[] = [period, start, end, this.opts.numericMetrics];
    if (period === '1d') args.push(this.opts.retention.timezone);
    const res = await this.pool.query(`INSERT INTO rollups (period, device_id, metric, bucket, count, sum, min, max, first, last)
      SELECT $1, device_id, metric, bucket, count(*), sum(num), min(num), max(num), (array_agg(num ORDER BY ts))[1], (array_agg(num ORDER BY ts DESC))[1]
      FROM (SELECT device_id, metric, ts, num, ${bucket} AS bucket FROM readings
            WHERE ts >= $2 AND ts < $3 AND quality = 0 AND num IS NOT NULL AND metric = ANY($4::text[])) r
      GROUP BY device_id, metric, bucket
      ON CONFLICT (period, device_id, metric, bucket) DO UPDATE SET count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max, first = excluded.first, last = excluded.last`, args);
    // unless a drained spool moved the mark back meanwhile (writePg late): the next run starts there
    if (done === undefined) await this.pool.query('INSERT INTO store_kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, String(end)]);
    else await this.pool.query('UPDATE store_kv SET value = $2 WHERE key = $1 AND value = $3', [key, String(end), done.value]);
    return res.rowCount ?? 0;
  }

  readiness(): Readiness {
    if (this.embeddedError) return { ok: false, reason: `sqlite write failed: ${this.embeddedError}` };
    if (this.spoolOn && this.spoolFull) {
      return { ok: false, reason: `postgres unreachable: ${this.lastError ?? 'draining'}; the on-disk spool is full (${this.spool.points} readings in ${this.spool.batches} batches, store.postgres.spoolMaxReadings ${this.spoolMax}): PUBACKs withheld until it drains` };
    }
    if (this.spool.batches > 0 || (this.spoolOn && !this.setupDone)) {
      const since = this.spool.oldestAt;
      const age = since === undefined ? '' : ` since ${new Date(since).toISOString()}`;
      return { ok: true, degraded: true, reason: `postgres: ${this.lastError ?? 'draining'}; ${this.spool.points} readings in ${this.spool.batches} batches spooled on disk${age}${this.spoolOn ? ` (at most ${this.spoolMax})` : ''}, written in order when it is back` };
    }
    if (this.lastError) return { ok: false, reason: `postgres write failed: ${this.lastError}` };
    return { ok: true };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.backoff.wake();
    await this.draining;
    await this.pool.end();
  }
}
