/**
 * Retention and rollups, run by node-cron (retention.schedule, default hourly at :07):
 *
 * - SQLite time series: hourly and daily rollups (count, sum, min, max, first, last of the
 *   good readings of a numeric metric) are recomputed for the recent past, then raw
 *   readings older than rawDays are deleted, never past what the rollups cover.
 *   InfluxDB does its own: retention policies / bucket expiry and continuous queries /
 *   tasks (see storage/influx).
 * - Every store: device events past rawDays, dead letters past deadLetterDays, resolved
 *   alerts and delivered webhook notifications past alertDays.
 *
 * Rollups are recomputed over a look-back window on every run, so readings that arrive
 * late (a LoRaWAN backlog, a drained spool) are in them; recomputing is idempotent.
 */
import cron, { type ScheduledTask } from 'node-cron';
import { DateTime } from 'luxon';
import type { Logger } from 'pino';
import { type Db, writeTransaction } from './database.js';
import type { RollupPeriod } from './telemetry-store.js';
import type { DeadLetterRepository } from './repositories/types.js';
import { metricDef } from '../core/vocabulary.js';

export interface RetentionConfig {
  rawDays: number;
  hourlyDays: number;
  dailyDays: number;
  deadLetterDays: number;
  alertDays: number;
  timezone: string;
  schedule: string;
}

export interface RetentionReport {
  hourlyBuckets: number;
  dailyBuckets: number;
  rawDeleted: number;
  eventsDeleted: number;
  deadLettersDeleted: number;
  rollupsDeleted: number;
  alertsDeleted: number;
  /** the store's own maintenance (store.type postgres) */
  store?: object;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** rollups are recomputed this far back on every run (late readings) */
const LOOKBACK_MS = 2 * DAY;


interface Acc { count: number; sum: number; min: number; max: number; first: number; last: number; firstTs: number; lastTs: number }

export class Retention {
  private task: ScheduledTask | undefined;
  private running: Promise<RetentionReport> | undefined;

  constructor(
    private readonly db: Db,
    private readonly cfg: RetentionConfig,
    private readonly opts: {
      clock: () => number; log: Logger; rollups: boolean; maintain?: (now: number) => Promise<object>;
      /** cluster mode: the shared dead letters (PostgreSQL), pruned past deadLetterDays too */
      deadLetters?: Pick<DeadLetterRepository, 'deleteBefore'>;
      /** cluster mode: the shared alerts and their notifications, pruned past alertDays as the node's own are */
      sharedAlerts?: { pruneBefore(cutoff: number): Promise<number> };
    },
  ) {}

  start(): void {
    this.task = cron.schedule(this.cfg.schedule, async () => {
      try {
        const r = await this.run();
        this.opts.log.info(r, 'retention run');
      } catch (err) {
        this.opts.log.error({ err: (err as Error).message }, 'retention run failed; next run retries');
      }
    }, { timezone: this.cfg.timezone, name: 'retention', noOverlap: true });
  }

  /** when the schedule runs next (undefined when not started) */
  nextRun(): Date | undefined {
    return this.task?.getNextRun() ?? undefined;
  }

  async stop(): Promise<void> {
    await this.task?.destroy();
    this.task = undefined;
    await this.running;
  }

  /** One pass (also what the schedule runs); overlapping calls share the running pass. */
  run(): Promise<RetentionReport> {
    // maintain: a store's own rollups and pruning (PostgreSQL), after the embedded tables'
    this.running ??= Promise.resolve().then(async () => {
      const report = this.pass();
      if (this.opts.deadLetters) report.deadLettersDeleted += await this.opts.deadLetters.deleteBefore(this.opts.clock() - this.cfg.deadLetterDays * DAY);
      if (this.opts.sharedAlerts) report.alertsDeleted += await this.opts.sharedAlerts.pruneBefore(this.opts.clock() - this.cfg.alertDays * DAY);
      return this.opts.maintain ? { ...report, store: await this.opts.maintain(this.opts.clock()) } : report;
    }).finally(() => { this.running = undefined; });
    return this.running;
  }

  private kvGet(key: string): number | undefined {
    const row = this.db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? Number(row.value) : undefined;
  }

  private kvSet(key: string, value: number): void {
    this.db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, String(value));
  }

  /** start of the bucket holding ts */
  bucketOf(period: RollupPeriod, ts: number): number {
    if (period === '1h') return Math.floor(ts / HOUR) * HOUR;
    return DateTime.fromMillis(ts, { zone: this.cfg.timezone }).startOf('day').toMillis();
  }

  private pass(): RetentionReport {
    const now = this.opts.clock();
    const report: RetentionReport = { hourlyBuckets: 0, dailyBuckets: 0, rawDeleted: 0, eventsDeleted: 0, deadLettersDeleted: 0, rollupsDeleted: 0, alertsDeleted: 0 };
    let rawCutoff = now - this.cfg.rawDays * DAY;
    if (this.opts.rollups) {
      const all = this.db.prepare('SELECT device_id, metric FROM latest').all() as Array<{ device_id: string; metric: string }>;
      const series = all.filter((s) => metricDef(s.metric)?.type === 'number');
      const hourEnd = this.bucketOf('1h', now);
      const dayEnd = this.bucketOf('1d', now);
      report.hourlyBuckets = this.rollUp('1h', series, hourEnd);
      report.dailyBuckets = this.rollUp('1d', series, dayEnd);
      // never delete raw readings the rollups do not cover yet
      rawCutoff = Math.min(rawCutoff, hourEnd, dayEnd);
      const del = this.db.prepare('DELETE FROM readings WHERE device_id = ? AND metric = ? AND ts < ?');
      // a late reading may wait in the small table the group commit appends to (recent-readings.mjs)
      const delRecent = this.db.prepare('DELETE FROM readings_recent WHERE device_id = ? AND metric = ? AND ts < ?');
      // one short transaction per series: the ingest writer is never locked out for long
      for (const s of all) {
        report.rawDeleted += del.run(s.device_id, s.metric, rawCutoff).changes;
        report.rawDeleted += delRecent.run(s.device_id, s.metric, rawCutoff).changes;
      }
      report.rollupsDeleted += this.db.prepare("DELETE FROM rollups WHERE period = '1h' AND bucket < ?").run(now - this.cfg.hourlyDays * DAY).changes;
      report.rollupsDeleted += this.db.prepare("DELETE FROM rollups WHERE period = '1d' AND bucket < ?").run(now - this.cfg.dailyDays * DAY).changes;
    }
    report.eventsDeleted = this.db.prepare('DELETE FROM events WHERE ts < ?').run(now - this.cfg.rawDays * DAY).changes;
    report.deadLettersDeleted = this.db.prepare('DELETE FROM dead_letters WHERE ts < ?').run(now - this.cfg.deadLetterDays * DAY).changes;
    const alertCutoff = now - this.cfg.alertDays * DAY;
    report.alertsDeleted = this.db.prepare("DELETE FROM alerts WHERE status = 'resolved' AND resolved_at < ?").run(alertCutoff).changes;
    this.db.prepare('DELETE FROM webhook_outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?').run(alertCutoff);
    this.db.prepare('DELETE FROM notify_outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?').run(alertCutoff);
    this.db.prepare('DELETE FROM alert_escalation WHERE next_at IS NULL AND alert_id NOT IN (SELECT id FROM alerts)').run();
    return report;
  }

  /** Recomputes the buckets of [watermark - look-back, end) for every numeric series. */
  private rollUp(period: RollupPeriod, series: Array<{ device_id: string; metric: string }>, end: number): number {
    const key = `rollup.${period}.done`;
    const done = this.kvGet(key);
    const start = done === undefined ? -8.64e15 : this.bucketOf(period, done - LOOKBACK_MS);
    if (start >= end) return 0;
    const scan = this.db.prepare('SELECT ts, value FROM readings_all WHERE device_id = ? AND metric = ? AND ts >= ? AND ts < ? AND quality = 0 ORDER BY ts');
    const upsert = this.db.prepare(`INSERT INTO rollups (period, device_id, metric, bucket, count, sum, min, max, first, last, first_ts, last_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (period, device_id, metric, bucket) DO UPDATE SET count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max, first = excluded.first, last = excluded.last,
      first_ts = excluded.first_ts, last_ts = excluded.last_ts`);
    let buckets = 0;
    for (const s of series) {
      const accs = new Map<number, Acc>();
      for (const r of scan.iterate(s.device_id, s.metric, start, end) as Iterable<{ ts: number; value: number }>) {
        if (typeof r.value !== 'number') continue;
        const b = this.bucketOf(period, r.ts);
        const a = accs.get(b);
        if (!a) accs.set(b, { count: 1, sum: r.value, min: r.value, max: r.value, first: r.value, last: r.value, firstTs: r.ts, lastTs: r.ts });
        else {
          a.count++; a.sum += r.value; a.last = r.value; a.lastTs = r.ts;
          if (r.value < a.min) a.min = r.value;
          if (r.value > a.max) a.max = r.value;
        }
      }
      if (accs.size === 0) continue;
      writeTransaction(this.db, () => {
        for (const [b, a] of accs) upsert.run(period, s.device_id, s.metric, b, a.count, a.sum, a.min, a.max, a.first, a.last, a.firstTs, a.lastTs);
      })();
      buckets += accs.size;
    }
    this.kvSet(key, end);
    return buckets;
  }
}
