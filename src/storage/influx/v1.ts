/**
 * InfluxDB 1.x: writes POST line protocol to /write (the bytes the spool keeps are the
 * bytes sent), queries and schema go through the `influx` package (InfluxQL).
 */
import { InfluxDB } from 'influx';
import type { LatestValue, RollupPoint, RollupQuery, StoredPoint } from '../telemetry-store.js';
import { checkWrite, point, rollupPoint, timedFetch, type InfluxBackend, type RetentionSettings } from './backend.js';
import { ident, latestManyQuery, latestQuery, previousQuery, rollupSelect, rollupsQuery, seriesQuery, type Target } from './influxql.js';

export interface V1Options {
  url: string;
  database: string;
  username: string;
  password: string;
  timeoutMs: number;
}

interface RawSeries { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }
interface RawResult { results: Array<{ series?: RawSeries[]; error?: string }> }

export const RAW_RP = 'raw';
export const HOURLY_RP = 'rollup_1h';
export const DAILY_RP = 'rollup_1d';

export class InfluxV1Backend implements InfluxBackend {
  readonly label: string;
  private readonly influx: InfluxDB;
  private readonly raw: Target;

  constructor(private readonly opts: V1Options) {
    const u = new URL(opts.url);
    this.label = `InfluxDB 1.x at ${u.origin}/${opts.database}`;
    this.influx = new InfluxDB({
      host: u.hostname,
      port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
      protocol: u.protocol === 'https:' ? 'https' : 'http',
      database: opts.database,
      username: opts.username || undefined,
      password: opts.password || undefined,
      // one attempt per query: a failed read is reported, not retried behind the caller's back
      pool: { maxRetries: 0, requestTimeout: opts.timeoutMs },
    });
    this.raw = { database: opts.database, retentionPolicy: RAW_RP };
  }

  async setup(r: RetentionSettings, numericMetrics: string[]): Promise<void> {
    const db = this.opts.database;
    const names = await this.influx.getDatabaseNames();
    if (!names.includes(db)) await this.influx.createDatabase(db);
    const existing = new Set((await this.influx.showRetentionPolicies(db)).map((p) => p.name));
    const want: Array<[string, number, boolean]> = [[RAW_RP, r.rawDays, true], [HOURLY_RP, r.hourlyDays, false], [DAILY_RP, r.dailyDays, false]];
    for (const [name, days, isDefault] of want) {
      const q = `RETENTION POLICY ${ident(name)} ON ${ident(db)} DURATION ${days}d REPLICATION 1${isDefault ? ' DEFAULT' : ''}`;
      await this.query(existing.has(name) ? `ALTER ${q}` : `CREATE ${q}`);
    }
    // rollups: hourly from raw, daily from raw too (so a day is exact, not a mean of means)
    const cqs = new Set((await this.influx.showContinousQueries(db)).map((c) => c.name));
    const hourly = rollupSelect(this.raw, { database: db, retentionPolicy: HOURLY_RP }, numericMetrics, '1h');
    const daily = rollupSelect(this.raw, { database: db, retentionPolicy: DAILY_RP }, numericMetrics, '1d', r.dayOffset);
    for (const [name, body] of [['rollup_1h', hourly], ['rollup_1d', daily]] as const) {
      // a CQ cannot be altered: drop and create, so a new metric list or offset takes effect
      if (cqs.has(name)) await this.query(`DROP CONTINUOUS QUERY ${ident(name)} ON ${ident(db)}`);
      await this.query(`CREATE CONTINUOUS QUERY ${ident(name)} ON ${ident(db)} BEGIN ${body} END`);
    }
  }

  async write(lines: string, rp = RAW_RP): Promise<void> {
    const u = new URL('/write', this.opts.url);
    u.searchParams.set('db', this.opts.database);
    u.searchParams.set('rp', rp);
    u.searchParams.set('precision', 'ms');
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (this.opts.username) headers.authorization = `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password}`).toString('base64')}`;
    const res = await timedFetch(u.toString(), { method: 'POST', headers, body: lines }, this.opts.timeoutMs);
    await checkWrite(res, this.label);
  }

  /** InfluxQL through the package; errors inside a result are thrown, not returned empty */
  async query(q: string): Promise<RawSeries[]> {
    const raw = (await this.influx.queryRaw(q, { database: this.opts.database, precision: 'ms' })) as RawResult;
    const out: RawSeries[] = [];
    for (const r of raw.results ?? []) {
      if (r.error) throw new Error(`${this.label}: ${r.error}`);
      for (const s of r.series ?? []) out.push(s);
    }
    return out;
  }

  private static rows(s: RawSeries): Array<Record<string, unknown>> {
    return s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
  }

  async series(q: { deviceId: string; metric: string; from: number; to: number; limit: number }): Promise<StoredPoint[]> {
    const out: StoredPoint[] = [];
    for (const s of await this.query(seriesQuery(this.raw, q))) {
      for (const r of InfluxV1Backend.rows(s)) out.push(point(q.metric, r.time as number, r.value, r.quality));
    }
    return out;
  }

  async previous(q: { deviceId: string; metric: string; before: number }): Promise<StoredPoint | undefined> {
    const [s] = await this.query(previousQuery(this.raw, q));
    const r = s ? InfluxV1Backend.rows(s)[0] : undefined;
    return r ? point(q.metric, r.time as number, r.value, r.quality) : undefined;
  }

  async latest(deviceId: string): Promise<Map<string, LatestValue>> {
    const out = new Map<string, LatestValue>();
    for (const s of await this.query(latestQuery(this.raw, deviceId))) {
      const r = InfluxV1Backend.rows(s)[0];
      if (r && r.value !== null) out.set(s.name, point(s.name, r.time as number, r.value, r.quality));
    }
    return out;
  }

  async latestMany(deviceIds: string[], metrics: string[]): Promise<Map<string, Map<string, LatestValue>>> {
    const out = new Map<string, Map<string, LatestValue>>();
    if (deviceIds.length === 0 || metrics.length === 0) return out;
    // a bounded OR list per query keeps the statement short for estates of thousands of devices
    for (let i = 0; i < deviceIds.length; i += 200) {
      for (const s of await this.query(latestManyQuery(this.raw, deviceIds.slice(i, i + 200), metrics))) {
        const device = s.tags?.device;
        const r = InfluxV1Backend.rows(s)[0];
        if (device === undefined || !r || r.value === null) continue;
        let m = out.get(device);
        if (!m) out.set(device, (m = new Map()));
        m.set(s.name, point(s.name, r.time as number, r.value, r.quality));
      }
    }
    return out;
  }

  async rollups(q: RollupQuery): Promise<RollupPoint[]> {
    const target = { database: this.opts.database, retentionPolicy: q.period === '1h' ? HOURLY_RP : DAILY_RP };
    const out: RollupPoint[] = [];
    for (const s of await this.query(rollupsQuery(target, q))) {
      for (const r of InfluxV1Backend.rows(s)) out.push(rollupPoint(r.time as number, r));
    }
    return out;
  }

  writeRollups(period: '1h' | '1d', lines: string): Promise<void> {
    return this.write(lines, period === '1h' ? HOURLY_RP : DAILY_RP);
  }

  async close(): Promise<void> {}
}

