/**
 * The embedded time-series store: readings keyed by (device, metric, ts) so a redelivered
 * duplicate is stored once; a `latest` table for /latest without scanning history; events
 * in their own table. One group commit = one transaction (with the batch's dead letters and
 * last-seen updates), so the PUBACKs of a batch go out together after a single fsync.
 */
import { Worker } from 'node:worker_threads';
import { Counter, Gauge, type Registry } from 'prom-client';
import { createHash } from 'node:crypto';
import { type Db, writeTransaction } from './database.js';
import type { ReadingValue } from '../core/model.js';
import type { Reading } from '../core/types.js';
import { metricDef } from '../core/vocabulary.js';
import type { DeadLetter } from '../core/types.js';
import { BatchPacker } from './packed-batch.js';
import { LAST_WRITE_WINS, recentMover } from './recent-readings.mjs';
import { accumulate, merge, splitHistory, type HistorySettings } from './backfill.js';
import { StoreDataError, isSqliteDataError, type EventQuery, type LatestValue, type Readiness, type RollupPoint, type RollupQuery, type SeriesQuery, type StoredEvent, type StoredPoint, type TelemetryStore, type WriteBatch } from './telemetry-store.js';

type SqlValue = number | string | null;

function toSql(v: ReadingValue): SqlValue {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

export function fromSql(metric: string, v: SqlValue): ReadingValue {
  const type = metricDef(metric)?.type;
  if (type === 'boolean') return v === 1;
  if (type === 'string') return String(v);
  return typeof v === 'number' ? v : Number(v);
}

const CHUNK = 64;

/** ingest.deadLetters: what one dead letter keeps and how much all of them may take */
export interface DeadLetterLimits {
  maxPayloadBytes: number;
  maxTotalBytes: number;
}

export const DEFAULT_DEAD_LETTER_LIMITS: DeadLetterLimits = { maxPayloadBytes: 4096, maxTotalBytes: 64 * 1024 * 1024 };

/** columns of dead_letters after `id`, in INSERT order */
export type DeadLetterRow = [ts: number, topic: string, clientId: string, deviceId: string | null, reason: string, payload: Buffer, payloadBytes: number, sha256: string, size: number];

export const INSERT_DEAD_LETTER = 'INSERT INTO dead_letters (ts, topic, client_id, device_id, reason, payload, payload_bytes, payload_sha256, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';

/**
 * A dead letter as stored: the payload cut to maxPayloadBytes, with the original length and
 * sha256 (a flood of large payloads costs a bounded amount of disk, and a replayed or
 * repeated payload is still recognisable); topic, client id and reason bounded too.
 */
export function deadLetterRow(d: DeadLetter, limits: DeadLetterLimits): DeadLetterRow {
  const full = Buffer.isBuffer(d.payload) ? d.payload : Buffer.from(d.payload);
  const kept = full.length > limits.maxPayloadBytes ? Buffer.from(full.subarray(0, limits.maxPayloadBytes)) : full;
  const topic = d.topic.slice(0, 1024);
  const clientId = d.clientId.slice(0, 256);
  const reason = d.reason.slice(0, 2000);
  const size = kept.length + topic.length + clientId.length + reason.length + 128; // + row and index overhead, roughly
  return [d.ts, topic, clientId, d.deviceId?.slice(0, 256) ?? null, reason, kept, full.length, createHash('sha256').update(full).digest('hex'), size];
}

/** what a row counts against maxTotalBytes: the same expression as the dead_letters triggers (005-strict) */
export const DEAD_LETTER_SIZE = 'CASE WHEN size > 0 THEN size ELSE length(payload) + length(topic) + length(client_id) + length(reason) + 128 END';

/** Deletes the oldest dead letters until their total size is within maxTotalBytes; returns how many. */
export function evictDeadLetters(db: Db, maxTotalBytes: number): number {
  let over = (db.prepare('SELECT bytes FROM dead_letter_totals WHERE id = 1').pluck().get() as number | undefined ?? 0) - maxTotalBytes;
  let evicted = 0;
  const oldest = db.prepare(`SELECT id, ${DEAD_LETTER_SIZE} AS size FROM dead_letters ORDER BY id LIMIT 512`);
  const drop = db.prepare('DELETE FROM dead_letters WHERE id <= ?');
  while (over > 0) {
    const rows = oldest.all() as Array<{ id: number; size: number }>;
    if (rows.length === 0) break;
    const step = oldestCut(rows, over);
    over = step.over;
    evicted += step.evicted;
    drop.run(step.cut);
  }
  return evicted;
}

/**
 * One step of the oldest-first eviction (here and on PostgreSQL): of the oldest rows, in id
 * order, the id through which to delete so that `over` bytes go, and what is left over.
 */
export function oldestCut(rows: ReadonlyArray<{ id: number; size: number }>, over: number): { cut: number; over: number; evicted: number } {
  let cut = rows[0]!.id;
  let evicted = 0;
  for (const r of rows) {
    cut = r.id;
    over -= r.size;
    evicted++;
    if (over <= 0) break;
  }
  return { cut, over, evicted };
}

const quality = (q: number): 'ok' | 'out_of_range' => (q === 1 ? 'out_of_range' : 'ok');

/**
 * What the checkpoint thread reports (sqlite-checkpoint.worker.mjs): checkpoints run, those
 * that found the WAL busy, frames copied, checkpoints that failed and the last reason, the
 * longest; `running` false once the thread has failed or exited (the writer's own
 * auto-checkpoint is then the only one, and the counts are the last the thread reported).
 */
export interface CheckpointStats { runs: number; busy: number; copiedFrames: number; errors: number; maxMs: number; lastError?: string; running: boolean }

/** asks a store thread (writer, checkpointer) to close its connection, waits for it, ends it */
async function closeThread(worker: Worker): Promise<void> {
  await new Promise<void>((resolve) => {
    worker.on('message', (m: { type?: string }) => { if (m.type === 'closed') resolve(); });
    worker.once('exit', () => resolve());
    worker.once('error', () => resolve());
    worker.postMessage({ type: 'close' });
  });
  await worker.terminate();
}

export class SqliteTelemetryStore implements TelemetryStore {
  readonly name = 'sqlite';
  private lastError: string | undefined;
  private readonly stmt;
  private readonly writeTx;
  private readonly limits: DeadLetterLimits;

  private worker: Worker | undefined;
  /** PASSIVE WAL checkpoints beside the writer (sqlite-checkpoint.worker.mjs) */
  private checkpointer: Worker | undefined;
  private checkpointerError: string | undefined;
  /** the checkpoint thread's counts when it last answered: what a failed thread leaves on /metrics */
  private lastCheckpointStats: Omit<CheckpointStats, 'running'> | undefined;
  private readonly packer: BatchPacker;
  /**
   * [id of the last batch the writer committed (mod 2^31), dead letters it evicted]: the
   * writer sets it before it posts its answer, so poll() can settle the oldest commit in
   * flight while that answer still waits behind socket reads in the event loop (at 5 000
   * devices a commit done in 15 ms was settled after 37: the main thread read ~1 000
   * sockets before it got to the writer's message).
   */
  private readonly done = new Int32Array(new SharedArrayBuffer(8));
  /** ids of the commits posted to the writer, oldest first */
  private readonly inFlight: number[] = [];
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  /**
   * `writerFile`: when given, commits run in a worker thread on its own connection to this
   * file, so the event loop is not blocked for the duration of a transaction and its fsync.
   */
  private readonly mergeHistory;
  private readonly latestOld;

  /** readings older than the raw retention are merged into the rollups, not kept raw (storage/backfill.ts) */
  private readonly history?: HistorySettings;

  constructor(
    private readonly db: Db,
    private readonly writer?: { file: string; synchronous: 'full' | 'normal'; checkpointEveryMs?: number },
    private readonly opts: {
      deadLetters?: DeadLetterLimits; onEvicted?: (n: number) => void; history?: HistorySettings; maxDictionary?: number;
      /** the checkpoint thread failed (the writer's own checkpoints go on) */
      onCheckpointerError?: (message: string) => void;
      /** the writer thread failed or ended (commits go on on the main connection) */
      onWriterLost?: (message: string) => void;
    } = {},
  ) {
    this.packer = new BatchPacker(opts.maxDictionary);
    this.limits = opts.deadLetters ?? DEFAULT_DEAD_LETTER_LIMITS;
    this.history = opts.history;
    const existing = db.prepare('SELECT count, sum, min, max, first, last, first_ts, last_ts FROM rollups WHERE period = ? AND device_id = ? AND metric = ? AND bucket = ?');
    const put = db.prepare(`INSERT INTO rollups (period, device_id, metric, bucket, count, sum, min, max, first, last, first_ts, last_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (period, device_id, metric, bucket) DO UPDATE SET count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max,
      first = excluded.first, last = excluded.last, first_ts = excluded.first_ts, last_ts = excluded.last_ts`);
    const latestOld = this.latestOld = db.prepare(`INSERT INTO latest (device_id, metric, ts, value, quality) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (device_id, metric) DO UPDATE SET ts = excluded.ts, value = excluded.value, quality = excluded.quality WHERE excluded.ts >= latest.ts`);
    this.mergeHistory = writeTransaction(db, (readings: Reading[], settings: HistorySettings) => {
      // /latest still shows a metric whose only values are old (a device's first upload is its history)
      for (const r of readings) latestOld.run(r.deviceId, r.metric, r.ts, toSql(r.value), r.quality === 'out_of_range' ? 1 : 0);
      for (const a of accumulate(readings, settings.timezone, settings)) {
        const row = existing.get(a.period, a.deviceId, a.metric, a.bucket) as { count: number; sum: number; min: number; max: number; first: number; last: number; first_ts: number | null; last_ts: number | null } | undefined;
        const out = row ? { ...row, firstTs: row.first_ts, lastTs: row.last_ts } : { ...a };
        if (row) merge(out, a);
        put.run(a.period, a.deviceId, a.metric, a.bucket, out.count, out.sum, out.min, out.max, out.first, out.last, out.firstTs, out.lastTs);
      }
    });
    this.stmt = {
      reading: db.prepare(`INSERT INTO readings_recent (device_id, metric, ts, value, received_at, quality) VALUES (?, ?, ?, ?, ?, ?) ${LAST_WRITE_WINS}`),
      latest: db.prepare(`INSERT INTO latest (device_id, metric, ts, value, quality) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (device_id, metric) DO UPDATE SET ts = excluded.ts, value = excluded.value, quality = excluded.quality
        WHERE excluded.ts >= latest.ts`),
      event: db.prepare('INSERT INTO events (device_id, type, ts, data) VALUES (?, ?, ?, ?) ON CONFLICT (device_id, type, ts) DO UPDATE SET data = excluded.data'),
      dead: db.prepare(INSERT_DEAD_LETTER),
      seen: db.prepare('UPDATE devices SET last_seen = ? WHERE id = ? AND (last_seen IS NULL OR last_seen < ?)'),
      series: db.prepare('SELECT ts, value, quality FROM readings_all WHERE device_id = ? AND metric = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?'),
      scan: db.prepare('SELECT ts, value, quality FROM readings_all WHERE device_id = ? AND metric = ? AND ts >= ? AND ts < ? ORDER BY ts'),
      previous: db.prepare('SELECT ts, value, quality FROM readings_all WHERE device_id = ? AND metric = ? AND ts < ? AND quality = 0 ORDER BY ts DESC LIMIT 1'),
      latestOf: db.prepare('SELECT metric, ts, value, quality FROM latest WHERE device_id = ?'),
    };
    const readingsChunk = db.prepare(`INSERT INTO readings_recent (device_id, metric, ts, value, received_at, quality) VALUES ${Array(CHUNK).fill('(?, ?, ?, ?, ?, ?)').join(', ')} ${LAST_WRITE_WINS}`);
    // made on first use: with the writer thread, readings never reach this connection and the
    // thread's own mover is the only one walking readings_recent
    let mover: ReturnType<typeof recentMover> | undefined;
    this.writeTx = writeTransaction(db, (batch: WriteBatch): number => {
      const s = this.stmt;
      const rs = batch.readings;
      // one statement per CHUNK rows: the per-call cost of a statement dominates a row's
      let i = 0;
      const args: SqlValue[] = new Array(CHUNK * 6);
      for (; i + CHUNK <= rs.length; i += CHUNK) {
        for (let k = 0; k < CHUNK; k++) {
          const r = rs[i + k]!;
          const o = k * 6;
          args[o] = r.deviceId; args[o + 1] = r.metric; args[o + 2] = r.ts; args[o + 3] = toSql(r.value); args[o + 4] = r.receivedAt; args[o + 5] = r.quality === 'out_of_range' ? 1 : 0;
        }
        readingsChunk.run(args);
      }
      for (; i < rs.length; i++) {
        const r = rs[i]!;
        s.reading.run(r.deviceId, r.metric, r.ts, toSql(r.value), r.receivedAt, r.quality === 'out_of_range' ? 1 : 0);
      }
      if (rs.length > 0) (mover ??= recentMover(db)).afterInsert(rs.length);
      // latest: only the newest value per (device, metric) of the batch
      const newest = new Map<string, Reading>();
      for (const r of rs) {
        const key = `${r.deviceId}\u0000${r.metric}`;
        const cur = newest.get(key);
        if (!cur || r.ts >= cur.ts) newest.set(key, r);
      }
      for (const r of newest.values()) s.latest.run(r.deviceId, r.metric, r.ts, toSql(r.value), r.quality === 'out_of_range' ? 1 : 0);
      for (const e of batch.events) s.event.run(e.deviceId, e.type, e.ts, JSON.stringify(e.data));
      for (const d of batch.deadLetters) s.dead.run(deadLetterRow(d, this.limits));
      for (const [id, ts] of batch.seen) s.seen.run(ts, id, ts);
      return batch.deadLetters.length > 0 ? evictDeadLetters(db, this.limits.maxTotalBytes) : 0;
    });
  }

  async start(): Promise<void> {
    if (!this.writer) return;
    Atomics.store(this.done, 0, -1);
    const { checkpointEveryMs = 0, ...writer } = this.writer;
    const worker = new Worker(new URL('./sqlite-writer.worker.mjs', import.meta.url), { workerData: { ...writer, done: this.done } });
    this.checkpointerError = undefined;
    this.lastCheckpointStats = undefined;
    if (checkpointEveryMs > 0) {
      const ck = new Worker(new URL('./sqlite-checkpoint.worker.mjs', import.meta.url), { workerData: { file: writer.file, everyMs: checkpointEveryMs, done: this.done } });
      // a checkpointer that fails, or ends while the store runs, leaves the writer's own
      // checkpoints, as without it (stop() lets go of it before it closes it)
      const lost = (reason: string) => {
        if (this.checkpointer !== ck) return;
        this.checkpointer = undefined;
        this.checkpointerError = reason;
        this.opts.onCheckpointerError?.(reason);
      };
      ck.on('error', (err) => lost(err.message));
      ck.on('exit', (code) => lost(`the checkpoint thread exited (code ${code})`));
      ck.on('message', (m: { type?: string; stats?: Omit<CheckpointStats, 'running'> }) => { if (m.type === 'stats' && m.stats) this.lastCheckpointStats = m.stats; });
      ck.unref();
      this.checkpointer = ck;
    }
    worker.on('message', (msg: { id?: number; error?: string; code?: string; data?: boolean; evicted?: number }) => {
      if (msg.id === undefined) return;
      const w = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (!w) return; // settled by poll()
      if (this.inFlight[0] === msg.id) this.inFlight.shift();
      if (msg.error && msg.data) {
        w.reject(new StoreDataError(msg.error, msg.code));
      } else if (msg.error) {
        this.lastError = msg.error;
        w.reject(Object.assign(new Error(msg.error), { code: msg.code }));
      } else {
        this.committed(w, msg.evicted ?? 0);
      }
    });
    worker.on('error', (err) => this.writerLost(worker, `writer thread failed: ${err.message}`));
    worker.on('exit', (code) => this.writerLost(worker, `writer thread exited (code ${code})`));
    this.worker = worker;
  }

  /** true while commits go to the writer thread (false without one, or once it was lost) */
  get writerRunning(): boolean { return this.worker !== undefined; }

  /** a checkpoint thread is configured (it may have failed since: checkpointStats) */
  get checkpointConfigured(): boolean { return (this.writer?.checkpointEveryMs ?? 0) > 0; }

  /**
   * The writer thread failed or ended while the store runs (stop() lets go of it before it
   * closes it). What it had in flight is refused: no PUBACK, the devices send it again, and a
   * batch it did commit before it went is stored once more as the same rows. Later commits run
   * on this connection, as with `writerThread: false`: slower, but nothing waits for an
   * answer that will not come. Reported once; /readyz fails until a commit succeeds.
   */
  private writerLost(worker: Worker, reason: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.lastError = reason;
    const err = new Error(reason);
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    this.inFlight.length = 0;
    // the names the thread had learnt went with it
    this.packer.forget();
    this.opts.onWriterLost?.(reason);
  }

  /** /latest for readings kept only in rollups (history): older values never replace newer ones */
  rememberLatest(readings: Reading[]): void {
    for (const r of readings) this.latestOld.run(r.deviceId, r.metric, r.ts, toSql(r.value), r.quality === 'out_of_range' ? 1 : 0);
  }

  /** the batch in one transaction on this connection (nested in the caller's transaction, if any) */
  commitSync(batch: WriteBatch): void {
    let evicted: number;
    try {
      evicted = this.writeTx(batch);
    } catch (err) {
      if (isSqliteDataError(err)) throw new StoreDataError((err as Error).message, (err as { code?: string }).code);
      throw err;
    }
    if (evicted > 0) this.opts.onEvicted?.(evicted);
  }

  async commit(batch: WriteBatch): Promise<void> {
    if (this.history) {
      const { recent, history } = splitHistory(batch.readings, this.history);
      if (history.length > 0) {
        try {
          this.mergeHistory(history, this.history);
        } catch (err) {
          this.lastError = (err as Error).message;
          throw err;
        }
        batch = { ...batch, readings: recent };
      }
    }
    if (this.worker) return this.commitInWorker(this.worker, batch);
    try {
      this.commitSync(batch);
      this.lastError = undefined;
    } catch (err) {
      // a batch refused for its content says nothing about whether the store can write
      if (!(err instanceof StoreDataError)) this.lastError = (err as Error).message;
      throw err;
    }
  }

  /** The batch crosses packed in a reused shared buffer (packed-batch.ts); dead letters, rare, as rows. */
  private async commitInWorker(worker: Worker, batch: WriteBatch): Promise<void> {
    let msg;
    try {
      msg = this.workerMessage(batch);
    } catch (err) {
      // a value that cannot cross to the thread or be serialised is the batch's content
      throw new StoreDataError(`cannot prepare batch: ${(err as Error).message}`);
    }
    const id = this.nextId++;
    const sab = msg.packed.sab;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      try {
        worker.postMessage({ id, ...msg });
        this.inFlight.push(id);
      } catch (err) {
        // the names this batch brought to the dictionary never arrived
        this.packer.forget();
        this.waiting.delete(id);
        reject(new StoreDataError(`cannot pass batch to the writer: ${(err as Error).message}`));
      }
    }).finally(() => this.packer.release(sab));
  }

  /** the oldest commit in flight, settled as soon as the writer has marked it done (see `done`) */
  poll(): void {
    const id = this.inFlight[0];
    if (id === undefined || Atomics.load(this.done, 0) !== id % 0x80000000) return;
    const evicted = Atomics.load(this.done, 1);
    // the writer sets the count before the id: still this id, so the count is this batch's
    if (Atomics.load(this.done, 0) !== id % 0x80000000) return;
    this.inFlight.shift();
    const w = this.waiting.get(id);
    this.waiting.delete(id);
    if (w) this.committed(w, evicted);
  }

  /** a commit (or a states write) the writer answered without an error, by message or by poll() */
  private committed(w: { resolve: () => void }, evicted: number): void {
    this.lastError = undefined;
    if (evicted > 0) this.opts.onEvicted?.(evicted);
    w.resolve();
  }

  /**
   * Alert rule states (null: delete), in one transaction: on the writer thread when there is
   * one, queued behind the group commits; else on this connection.
   */
  async saveAlertStates(rows: Array<[rule: string, deviceId: string, state: string | null]>): Promise<void> {
    const worker = this.worker;
    if (!worker) {
      const save = this.db.prepare('INSERT INTO alert_state (rule, device_id, state) VALUES (?, ?, ?) ON CONFLICT(rule, device_id) DO UPDATE SET state = excluded.state');
      const drop = this.db.prepare('DELETE FROM alert_state WHERE rule = ? AND device_id = ?');
      writeTransaction(this.db, () => { for (const [rule, device, state] of rows) if (state === null) drop.run(rule, device); else save.run(rule, device, state); })();
      return;
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ type: 'states', id, rows });
    });
  }

  private workerMessage(batch: WriteBatch) {
    const deadLetters = batch.deadLetters.map((d) => deadLetterRow(d, this.limits));
    // last: a batch refused above leaves the dictionary as it was
    return { packed: this.packer.pack(batch.readings, batch.events, batch.seen), deadLetters, maxDeadLetterBytes: this.limits.maxTotalBytes };
  }

  private point(metric: string, row: { ts: number; value: SqlValue; quality: number }): StoredPoint {
    return { ts: row.ts, value: fromSql(metric, row.value), quality: quality(row.quality) };
  }

  async series(q: SeriesQuery & { limit: number }): Promise<StoredPoint[]> {
    const rows = this.stmt.series.all(q.deviceId, q.metric, q.from, q.to, q.limit) as Array<{ ts: number; value: SqlValue; quality: number }>;
    return rows.map((r) => this.point(q.metric, r));
  }

  *scan(q: SeriesQuery): Iterable<StoredPoint> {
    for (const r of this.stmt.scan.iterate(q.deviceId, q.metric, q.from, q.to) as Iterable<{ ts: number; value: SqlValue; quality: number }>) {
      yield this.point(q.metric, r);
    }
  }

  async previous(deviceId: string, metric: string, before: number): Promise<StoredPoint | undefined> {
    const row = this.stmt.previous.get(deviceId, metric, before) as { ts: number; value: SqlValue; quality: number } | undefined;
    return row ? this.point(metric, row) : undefined;
  }

  async latest(deviceId: string): Promise<Map<string, LatestValue>> {
    const out = new Map<string, LatestValue>();
    for (const r of this.stmt.latestOf.all(deviceId) as Array<{ metric: string; ts: number; value: SqlValue; quality: number }>) {
      out.set(r.metric, { ts: r.ts, value: fromSql(r.metric, r.value), quality: quality(r.quality) });
    }
    return out;
  }

  async latestMany(deviceIds: string[], metrics: string[]): Promise<Map<string, Map<string, LatestValue>>> {
    const out = new Map<string, Map<string, LatestValue>>();
    if (deviceIds.length === 0 || metrics.length === 0) return out;
    const rows = this.db
      .prepare(`SELECT device_id, metric, ts, value, quality FROM latest
        WHERE metric IN (SELECT value FROM json_each(?)) AND device_id IN (SELECT value FROM json_each(?))`)
      .all(JSON.stringify(metrics), JSON.stringify(deviceIds)) as Array<{ device_id: string; metric: string; ts: number; value: SqlValue; quality: number }>;
    for (const r of rows) {
      let m = out.get(r.device_id);
      if (!m) out.set(r.device_id, (m = new Map()));
      m.set(r.metric, { ts: r.ts, value: fromSql(r.metric, r.value), quality: quality(r.quality) });
    }
    return out;
  }

  async events(q: EventQuery): Promise<StoredEvent[]> {
    const where = ['ts >= ?', 'ts < ?'];
    const args: SqlValue[] = [q.from, q.to];
    if (q.deviceId !== undefined) { where.push('device_id = ?'); args.push(q.deviceId); }
    if (q.deviceIds !== undefined) { where.push('device_id IN (SELECT value FROM json_each(?))'); args.push(JSON.stringify(q.deviceIds)); }
    if (q.type !== undefined) { where.push('type = ?'); args.push(q.type); }
    const desc = q.order !== 'asc';
    if (q.after) { where.push(`(ts, id) ${desc ? '<' : '>'} (?, ?)`); args.push(q.after.ts, Number(q.after.id)); }
    const dir = desc ? 'DESC' : 'ASC';
    const rows = this.db.prepare(`SELECT id, device_id, type, ts, data FROM events WHERE ${where.join(' AND ')} ORDER BY ts ${dir}, id ${dir} LIMIT ?`)
      .all(...args, q.limit) as Array<{ id: number; device_id: string; type: string; ts: number; data: string }>;
    return rows.map((r) => ({ id: String(r.id), deviceId: r.device_id, type: r.type, ts: r.ts, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  async rollups(q: RollupQuery): Promise<RollupPoint[]> {
    const rows = this.db.prepare(`SELECT bucket, count, sum, min, max, first, last FROM rollups
      WHERE period = ? AND device_id = ? AND metric = ? AND bucket >= ? AND bucket < ? ORDER BY bucket LIMIT ?`)
      .all(q.period, q.deviceId, q.metric, q.from, q.to, q.limit) as Array<{ bucket: number; count: number; sum: number; min: number; max: number; first: number; last: number }>;
    return rows.map((r) => ({ ts: r.bucket, count: r.count, sum: r.sum, min: r.min, max: r.max, mean: r.sum / r.count, first: r.first, last: r.last }));
  }

  readiness(): Readiness {
    return this.lastError ? { ok: false, reason: `sqlite write failed: ${this.lastError}` } : { ok: true };
  }

  /** what the checkpoint thread has done (undefined without one) */
  async checkpointStats(): Promise<CheckpointStats | undefined> {
    const ck = this.checkpointer;
    if (!ck) return this.failedCheckpointer();
    return new Promise((resolve) => {
      const onMessage = (m: { type?: string; stats?: Omit<CheckpointStats, 'running'> }) => { if (m.type === 'stats' && m.stats) settle({ ...m.stats, running: true }); };
      // a thread that ends meanwhile (stop(), or failed) answers with what the store knows
      const onExit = () => settle(this.failedCheckpointer());
      const settle = (v: CheckpointStats | undefined) => {
        ck.off('message', onMessage);
        ck.off('exit', onExit);
        resolve(v);
      };
      ck.on('message', onMessage);
      ck.once('exit', onExit);
      ck.postMessage({ type: 'stats' });
    });
  }

  private failedCheckpointer(): CheckpointStats | undefined {
    if (!this.checkpointerError) return undefined;
    const last = this.lastCheckpointStats ?? { runs: 0, busy: 0, copiedFrames: 0, errors: 0, maxMs: 0 };
    return { ...last, lastError: this.checkpointerError, running: false };
  }

  async stop(): Promise<void> {
    const ck = this.checkpointer;
    this.checkpointer = undefined;
    // first, so that no checkpoint of its own runs while the writer closes
    if (ck) await closeThread(ck);
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await closeThread(worker);
  }

}

/**
 * The store's threads on /metrics (store.sqlite.writerThread): whether the writer thread still
 * takes the group commits; and, with store.sqlite.checkpointEveryMs > 0, the checkpoint
 * thread, asked once per scrape: how many checkpoints ran, found the WAL busy or failed, the
 * frames they copied, the longest, and whether it still runs (0 once it failed: the writer's
 * own, slower checkpoints inside commits are then the only ones; the log says why).
 */
export function registerStoreThreadMetrics(registry: Registry, store: SqliteTelemetryStore): void {
  new Gauge({ name: 'gateway_sqlite_writer_thread_up', help: '1 while group commits go to the writer thread, 0 once it was lost (commits then run on the main thread; the log says why)', registers: [registry],
    collect() { this.set(store.writerRunning ? 1 : 0); } });
  if (!store.checkpointConfigured) return;
  let asked: { at: number; stats: Promise<CheckpointStats | undefined> } | undefined;
  const read = (): Promise<CheckpointStats | undefined> => {
    const now = performance.now();
    // the metrics of one scrape are collected together: one question to the thread for all
    if (!asked || now - asked.at > 250) asked = { at: now, stats: store.checkpointStats() };
    return asked.stats;
  };
  const counter = (name: string, help: string, pick: (s: CheckpointStats) => number) => new Counter({
    name, help, registers: [registry],
    async collect() { const s = await read(); this.reset(); if (s) this.inc(pick(s)); },
  });
  counter('gateway_sqlite_checkpoints_total', 'PASSIVE WAL checkpoints run by the checkpoint thread', (s) => s.runs);
  counter('gateway_sqlite_checkpoint_busy_total', 'checkpoints that could not copy every WAL frame (a reader or the writer held it)', (s) => s.busy);
  counter('gateway_sqlite_checkpoint_errors_total', 'checkpoints that failed (the next tick tries again)', (s) => s.errors);
  counter('gateway_sqlite_checkpoint_frames_total', 'WAL frames (pages) the checkpoint thread copied into the database file', (s) => s.copiedFrames);
  new Gauge({ name: 'gateway_sqlite_checkpoint_max_seconds', help: 'the longest checkpoint of the thread so far', registers: [registry],
    async collect() { this.set(((await read())?.maxMs ?? 0) / 1000); } });
  new Gauge({ name: 'gateway_sqlite_checkpointer_up', help: '1 while the WAL checkpoint thread runs, 0 once it failed or ended (the writer then checkpoints inside its commits)', registers: [registry],
    async collect() { this.set((await read())?.running ? 1 : 0); } });
}
