/**
 * InfluxDB 2.x: writes POST line protocol to /api/v2/write (bypassing the client's
 * WriteApi on purpose: its retry buffer lives in memory, drops the oldest lines when full
 * and is lost on a crash; our spool is the buffer). Queries are Flux through
 * @influxdata/influxdb-client's QueryApi.
 */
import { InfluxDB, type QueryApi } from '@influxdata/influxdb-client';
import type { LatestValue, RollupPoint, RollupQuery, StoredPoint } from '../telemetry-store.js';
import { checkWrite, point, rollupPoint, timedFetch, type InfluxBackend, type RetentionSettings } from './backend.js';
import { latestFlux, previousFlux, rollupTask, rollupsFlux, seriesFlux } from './flux.js';

export interface V2Options {
  url: string;
  org: string;
  bucket: string;
  token: string;
  timeoutMs: number;
}

export class InfluxV2Backend implements InfluxBackend {
  readonly label: string;
  private readonly queryApi: QueryApi;

  constructor(private readonly opts: V2Options) {
    this.label = `InfluxDB 2.x at ${new URL(opts.url).origin} bucket ${opts.bucket}`;
    this.queryApi = new InfluxDB({ url: opts.url, token: opts.token, timeout: opts.timeoutMs }).getQueryApi(opts.org);
  }

  private async api(path: string, init: RequestInit = {}): Promise<Response> {
    return timedFetch(new URL(path, this.opts.url).toString(), {
      ...init,
      headers: { authorization: `Token ${this.opts.token}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    }, this.opts.timeoutMs);
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.api(path, init);
    if (!res.ok) throw new Error(`${this.label}: ${init.method ?? 'GET'} ${path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    return (await res.json()) as T;
  }

  /**
   * The raw bucket must exist (its retention is the operator's, set where it is created);
   * rollup buckets `<bucket>_1h` / `<bucket>_1d` and their tasks are created when missing.
   */
  async setup(r: RetentionSettings, numericMetrics: string[]): Promise<void> {
    const { org, bucket } = this.opts;
    const orgs = await this.json<{ orgs: Array<{ id: string; name: string }> }>(`/api/v2/orgs?org=${encodeURIComponent(org)}`);
    const orgID = orgs.orgs.find((o) => o.name === org)?.id;
    if (!orgID) throw new Error(`${this.label}: organisation ${org} not found`);
    const buckets = await this.json<{ buckets: Array<{ name: string }> }>(`/api/v2/buckets?orgID=${orgID}&limit=100`);
    const names = new Set(buckets.buckets.map((b) => b.name));
    if (!names.has(bucket)) throw new Error(`${this.label}: bucket ${bucket} not found`);
    const rollups: Array<[string, number, '1h' | '1d']> = [[`${bucket}_1h`, r.hourlyDays, '1h'], [`${bucket}_1d`, r.dailyDays, '1d']];
    const tasks = await this.json<{ tasks: Array<{ name: string; id: string }> }>(`/api/v2/tasks?orgID=${orgID}&limit=100`);
    for (const [name, days, every] of rollups) {
      if (!names.has(name)) {
        await this.json('/api/v2/buckets', { method: 'POST', body: JSON.stringify({ orgID, name, retentionRules: [{ type: 'expire', everySeconds: days * 86400 }] }) });
      }
      const flux = rollupTask(`rollup ${name}`, bucket, name, every, numericMetrics, r.timezone);
      const existing = tasks.tasks.find((t) => t.name === `rollup ${name}`);
      if (existing) await this.json(`/api/v2/tasks/${existing.id}`, { method: 'PATCH', body: JSON.stringify({ flux }) });
      else await this.json('/api/v2/tasks', { method: 'POST', body: JSON.stringify({ orgID, flux }) });
    }
  }

  async write(lines: string, bucket = this.opts.bucket): Promise<void> {
    const u = new URL('/api/v2/write', this.opts.url);
    u.searchParams.set('org', this.opts.org);
    u.searchParams.set('bucket', bucket);
    u.searchParams.set('precision', 'ms');
    const res = await timedFetch(u.toString(), {
      method: 'POST',
      headers: { authorization: `Token ${this.opts.token}`, 'content-type': 'text/plain; charset=utf-8' },
      body: lines,
    }, this.opts.timeoutMs);
    await checkWrite(res, this.label);
  }

  private async rows(flux: string): Promise<Array<Record<string, unknown>>> {
    return this.queryApi.collectRows<Record<string, unknown>>(flux);
  }

  async series(q: { deviceId: string; metric: string; from: number; to: number; limit: number }): Promise<StoredPoint[]> {
    return (await this.rows(seriesFlux(this.opts.bucket, q))).map((r) => point(q.metric, Date.parse(String(r._time)), r.value, r.quality));
  }

  async previous(q: { deviceId: string; metric: string; before: number }): Promise<StoredPoint | undefined> {
    const [r] = await this.rows(previousFlux(this.opts.bucket, q));
    return r ? point(q.metric, Date.parse(String(r._time)), r.value, r.quality) : undefined;
  }

  async latest(deviceId: string): Promise<Map<string, LatestValue>> {
    const out = new Map<string, LatestValue>();
    for (const r of await this.rows(latestFlux(this.opts.bucket, { deviceIds: [deviceId] }))) {
      const metric = String(r._measurement);
      out.set(metric, point(metric, Date.parse(String(r._time)), r.value, r.quality));
    }
    return out;
  }

  async latestMany(deviceIds: string[], metrics: string[]): Promise<Map<string, Map<string, LatestValue>>> {
    const out = new Map<string, Map<string, LatestValue>>();
    if (deviceIds.length === 0 || metrics.length === 0) return out;
    for (let i = 0; i < deviceIds.length; i += 200) {
      for (const r of await this.rows(latestFlux(this.opts.bucket, { deviceIds: deviceIds.slice(i, i + 200), metrics }))) {
        const device = String(r.device);
        const metric = String(r._measurement);
        let m = out.get(device);
        if (!m) out.set(device, (m = new Map()));
        m.set(metric, point(metric, Date.parse(String(r._time)), r.value, r.quality));
      }
    }
    return out;
  }

  async rollups(q: RollupQuery): Promise<RollupPoint[]> {
    return (await this.rows(rollupsFlux(`${this.opts.bucket}_${q.period}`, q))).map((r) => rollupPoint(Date.parse(String(r._time)), r));
  }

  /** into `<bucket>_1h` / `<bucket>_1d`, where the rollup tasks write */
  writeRollups(period: '1h' | '1d', lines: string): Promise<void> {
    return this.write(lines, `${this.opts.bucket}_${period}`);
  }

  async close(): Promise<void> {}
}
