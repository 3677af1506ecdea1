/**
 * store.type postgres against a real PostgreSQL 15: readings published over MQTT come back
 * through REST exactly as from the embedded SQLite store, side by side (raw, limit, every
 * aggregate incl. delta over a meter reset, Asia/Shanghai day buckets, latest, CSV, events,
 * rollups, site summary), and land in month partitions (never failing for a missing one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, publish } from '../helpers/mqtt.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import type { MqttClient } from 'mqtt';
import { PostgresTelemetryStore } from '../../src/storage/postgres/store.js';

const RAW_DAYS = 365;
let server: Postgres;
let url: string;
let sqliteGw: TestGateway;
let pgGw: TestGateway;
let sql: pg.Client;

async function provision(gw: TestGateway, id: string, model: string, site: string): Promise<MqttClient> {
  const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id, model, site } });
  expect(r.status).toBe(201);
  return connect(gw.mqttPort, { username: id, password: r.body.credentials.password, clientId: id });
}

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase('telemetry_test');
  // readings at fixed dates stay raw for a year (older ones become history: storage/backfill.ts)
  sqliteGw = await startGateway({ config: { retention: { rawDays: RAW_DAYS } } });
  pgGw = await startGateway({ config: { store: { type: 'postgres', postgres: { url } }, retention: { rawDays: RAW_DAYS } } });
  sql = new pg.Client({ connectionString: url });
  sql.on('error', () => undefined); // the server's shutdown after the last test
  await sql.connect();
}, 60_000);

afterAll(async () => {
  await sql?.end();
  await pgGw?.stop();
  await sqliteGw?.stop();
  await server?.stop();
});

const site = 'jiangnan/yuhua-garden/b3/u1';
const volume = [
  ['2026-11-21T15:00:00Z', 100], ['2026-11-21T15:30:00Z', 101], ['2026-11-21T17:00:00Z', 103.5], ['2026-11-21T17:40:00Z', 104.5],
  ['2026-11-22T01:00:00Z', 110], ['2026-11-22T04:00:00Z', 0], ['2026-11-22T06:00:00Z', 4], ['2026-11-22T15:59:00Z', 9.25], ['2026-11-22T16:30:00Z', 10],
] as const;

describe('PostgreSQL telemetry store', () => {
  it('answers every REST telemetry query exactly as the SQLite store', async () => {
    for (const gw of [sqliteGw, pgGw]) {
      const wm = await provision(gw, 'wm-1', 'generic.water-meter', site);
      await publish(wm, 'devices/wm-1/up', JSON.stringify(volume.map(([ts, v]) => ({ ts, water_volume_m3: v, battery_v: 3.6 }))));
      // a redelivered duplicate with another value: the last write wins in both (docs/vocabulary.md)
      await publish(wm, 'devices/wm-1/up', JSON.stringify({ ts: '2026-11-22T06:00:00Z', water_volume_m3: 5, battery_v: 3.6 }));
      wm.end();
      const wq = await provision(gw, 'wq-1', 'generic.water-quality', site);
      await publish(wq, 'devices/wq-1/up', JSON.stringify([{ ts: '2026-11-22T02:00:00Z', ph: 7.1, turbidity_ntu: 0.4 }, { ts: '2026-11-22T02:10:00Z', ph: 15, turbidity_ntu: 0.35 }]));
      // an older reading after a newer one: latest keeps the newest
      await publish(wq, 'devices/wq-1/up', JSON.stringify({ ts: '2026-11-22T01:00:00Z', ph: 6.5 }));
      wq.end();
      const bin = await provision(gw, 'bin-1', 'generic.bin-fill', site);
      await publish(bin, 'devices/bin-1/up', JSON.stringify({ ts: '2026-11-22T03:00:00Z', fill_pct: 91.5 }));
      bin.end();
      const park = await provision(gw, 'p-1', 'generic.parking', site);
      await publish(park, 'devices/p-1/up', JSON.stringify({ ts: '2026-11-22T04:00:00Z', occupied: false }));
      await publish(park, 'devices/p-1/up', JSON.stringify({ ts: '2026-11-22T05:00:00Z', occupied: true }));
      await publish(park, 'devices/p-1/up', JSON.stringify({ ts: '2026-11-22T07:00:00Z', occupied: false }));
      park.end();
    }
    const base = '/api/v1/telemetry?device=wm-1&metric=water_volume_m3';
    const range = '&from=2026-11-21T00:00:00Z&to=2026-11-24T00:00:00Z';
    const queries = [
      base,
      `${base}&from=2026-11-22T00:00:00Z&to=2026-11-22T23:00:00Z&limit=2`,
      ...['mean', 'min', 'max', 'sum', 'count', 'first', 'last', 'delta'].map((agg) => `${base}${range}&every=6h&agg=${agg}`),
      `${base}&from=2026-11-21T16:00:00Z&to=2026-11-23T16:00:00Z&every=1d&agg=delta&tz=Asia/Shanghai`,
      `${base}${range}&every=1d&agg=max&tz=Asia/Shanghai`,
      `${base}&from=2026-11-21T17:00:00Z&to=2026-11-21T18:00:00Z&every=1h&agg=mean`,
      '/api/v1/telemetry?device=wq-1&metric=ph',
      '/api/v1/telemetry?device=wq-1&metric=ph&from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z&every=1h&agg=count',
      '/api/v1/telemetry?device=p-1&metric=occupied',
      '/api/v1/devices/wq-1/latest',
      '/api/v1/devices/wm-1/latest',
      '/api/v1/devices/p-1/latest',
      '/api/v1/events?device=p-1',
      '/api/v1/events?type=arrival&site=jiangnan',
    ];
    for (const q of queries) {
      const [a, b] = await Promise.all([sqliteGw.api(q), pgGw.api(q)]);
      expect(a.status, q).toBe(200);
      expect(b.status, q).toBe(200);
      expect(b.body, q).toEqual(a.body);
    }
    // spot values, so that two equally wrong stores cannot pass
    const daily = (await pgGw.api(queries[10]!)).body.points;
    expect(daily).toEqual([{ ts: '2026-11-21T16:00:00.000Z', value: 18.25 }, { ts: '2026-11-22T16:00:00.000Z', value: 0.75 }]);
    expect((await pgGw.api(`${base}&from=2026-11-22T06:00:00Z&to=2026-11-22T06:00:01Z`)).body.points).toEqual([{ ts: '2026-11-22T06:00:00.000Z', value: 5 }]);
    const ph = (await pgGw.api(queries[13]!)).body.points;
    expect(ph).toEqual([{ ts: '2026-11-22T01:00:00.000Z', value: 6.5 }, { ts: '2026-11-22T02:00:00.000Z', value: 7.1 }, { ts: '2026-11-22T02:10:00.000Z', value: 15, quality: 'out_of_range' }]);
    expect((await pgGw.api('/api/v1/devices/wq-1/latest')).body.readings.ph).toMatchObject({ value: 15, ts: '2026-11-22T02:10:00.000Z' });
    expect((await pgGw.api('/api/v1/telemetry?device=p-1&metric=occupied')).body.points.map((p: { value: unknown }) => p.value)).toEqual([false, true, false]);
    expect((await pgGw.api('/api/v1/events?device=p-1')).body.items.map((e: { type: string }) => e.type)).toEqual(['departure', 'arrival']); // newest first

    const csv = { headers: { accept: 'text/csv' } };
    const [ca, cb] = await Promise.all([sqliteGw.api(`${base}&limit=3`, csv), pgGw.api(`${base}&limit=3`, csv)]);
    expect(cb.headers.get('content-type')).toMatch(/text\/csv/);
    expect(cb.text).toBe(ca.text);
    expect(cb.text.trim().split('\n')).toHaveLength(4);

    const [sa, sb] = await Promise.all([sqliteGw.api(`/api/v1/sites/${site}/summary`), pgGw.api(`/api/v1/sites/${site}/summary`)]);
    expect(sb.status).toBe(200);
    // day.to is each request's own "now"
    expect({ ...sb.body, day: sb.body.day.from }).toEqual({ ...sa.body, day: sa.body.day.from });
    expect(sb.body.bins).toMatchObject({ total: 1, full: 1 });
    expect((await pgGw.api('/api/v1/devices/wm-1')).body.battery).toMatchObject({ metric: 'battery_v', value: 3.6 });

    // what is in PostgreSQL: the November partition holds them, DEFAULT holds none
    const parts = await sql.query("SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM readings WHERE device_id = 'wm-1' GROUP BY 1 ORDER BY 1");
    expect(parts.rows).toEqual([{ part: 'readings_y2026m11', n: 18 }]);
  });

  it('rollups: the same answers from PostgreSQL as from the SQLite retention job', async () => {
    await sqliteGw.gateway.retention.run();
    const report = await pgGw.gateway.retention.run();
    expect(report.store).toMatchObject({ hourlyBuckets: expect.any(Number), dailyBuckets: expect.any(Number) });
    for (const q of [
      '/api/v1/telemetry/rollups?device=wm-1&metric=water_volume_m3&period=1h&from=2026-11-21T00:00:00Z&to=2026-11-24T00:00:00Z',
      '/api/v1/telemetry/rollups?device=wm-1&metric=water_volume_m3&period=1d&from=2026-11-21T00:00:00Z&to=2026-11-24T00:00:00Z',
      '/api/v1/telemetry/rollups?device=wq-1&metric=ph&period=1h&from=2026-11-21T00:00:00Z&to=2026-11-24T00:00:00Z',
    ]) {
      const [a, b] = await Promise.all([sqliteGw.api(q), pgGw.api(q)]);
      expect(b.status, q).toBe(200);
      expect(b.body.points.length, q).toBeGreaterThan(0);
      expect(b.body, q).toEqual(a.body);
    }
    const day = (await pgGw.api('/api/v1/telemetry/rollups?device=wm-1&metric=water_volume_m3&period=1d&from=2026-11-21T16:00:00Z&to=2026-11-22T16:00:00Z')).body.points;
    expect(day).toEqual([{ ts: '2026-11-21T16:00:00.000Z', count: 6, sum: 332.25, min: 0, max: 110, mean: 332.25 / 6, first: 103.5, last: 9.25 }]);
    // the out-of-range pH is not in the rollups
    const phHour = (await pgGw.api('/api/v1/telemetry/rollups?device=wq-1&metric=ph&period=1h&from=2026-11-22T02:00:00Z&to=2026-11-22T03:00:00Z')).body.points;
    expect(phHour).toEqual([{ ts: '2026-11-22T02:00:00.000Z', count: 1, sum: 7.1, min: 7.1, max: 7.1, mean: 7.1, first: 7.1, last: 7.1 }]);
  });

  it('month partitions ahead and on demand; a reading far ahead lands in DEFAULT, and moves when its month is created', async () => {
    const names = (await sql.query("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'readings'::regclass ORDER BY 1")).rows.map((r) => r.relname);
    const now = new Date();
    const month = (k: number) => { const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + k, 1)); return `readings_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`; };
    for (let k = 0; k <= 3; k++) expect(names).toContain(month(k));
    expect(names).toContain('readings_default');
    // BRIN on ts and the btree primary key on every partition
    const idx = (await sql.query("SELECT indexdef FROM pg_indexes WHERE tablename = 'readings_y2026m11'")).rows.map((r) => r.indexdef).join('\n');
    expect(idx).toMatch(/USING brin \(ts\)/);
    expect(idx).toMatch(/USING btree \(device_id, metric, ts\)/);
    const plan = (await sql.query("EXPLAIN SELECT ts FROM readings WHERE device_id = 'wm-1' AND metric = 'water_volume_m3' AND ts >= 1795000000000 AND ts < 1795900000000 ORDER BY ts")).rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toContain('readings_y2026m11');
    expect(plan).not.toContain('readings_y2026m12'); // pruned to the one month

    // far ahead (beyond the on-demand window): DEFAULT takes it, the commit succeeds
    const store = pgGw.gateway.store as PostgresTelemetryStore;
    const far = Date.UTC(2031, 5, 10);
    await store.commit({ readings: [{ deviceId: 'wq-1', metric: 'ph', ts: far, value: 7, unit: 'pH', receivedAt: Date.now(), quality: 'ok' }], events: [], deadLetters: [], seen: new Map() });
    expect((await sql.query('SELECT tableoid::regclass::text AS part FROM readings WHERE ts = $1', [far])).rows).toEqual([{ part: 'readings_default' }]);
    // creating its month later moves the row out of DEFAULT (a plain CREATE ... PARTITION OF would fail here)
    const { ensureMonth } = await import('../../src/storage/postgres/schema.js');
    expect(await ensureMonth(store.pool, Date.UTC(2031, 5, 1))).toBe(true);
    expect((await sql.query('SELECT tableoid::regclass::text AS part FROM readings WHERE ts = $1', [far])).rows).toEqual([{ part: 'readings_y2031m06' }]);
    expect(await ensureMonth(store.pool, Date.UTC(2031, 5, 1))).toBe(false);
    expect((await pgGw.api(`/api/v1/telemetry?device=wq-1&metric=ph&from=${far}&to=${far + 1}`)).body.points).toEqual([{ ts: new Date(far).toISOString(), value: 7 }]);
  });

  it('retention drops whole month partitions past rawDays (after rolling them up) and deletes the rest by range', async () => {
    const store = pgGw.gateway.store as PostgresTelemetryStore;
    // "now" rawDays after 2026-12-15: the cutoff is 2026-12-15
    const report = await store.maintain(Date.UTC(2026, 11, 15) + RAW_DAYS * 86_400_000);
    expect(report.partitionsDropped).toBeGreaterThanOrEqual(1);
    const left = (await sql.query("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'readings'::regclass")).rows.map((r) => r.relname);
    expect(left).not.toContain('readings_y2026m11');
    expect(left).toContain('readings_default');
    expect(report.rawDeleted).toBeGreaterThanOrEqual(18); // wm-1's November readings among them
    expect((await sql.query("SELECT count(*)::int AS n FROM readings WHERE ts < $1", [Date.UTC(2026, 11, 15)])).rows[0].n).toBe(0);
    // the rollups of the dropped month stay (hourlyDays 730)
    const day = (await pgGw.api('/api/v1/telemetry/rollups?device=wm-1&metric=water_volume_m3&period=1d&from=2026-11-21T16:00:00Z&to=2026-11-22T16:00:00Z')).body.points;
    expect(day).toEqual([expect.objectContaining({ count: 6, max: 110 })]);
    expect((await pgGw.api('/api/v1/telemetry?device=wm-1&metric=water_volume_m3&from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z')).body.points).toEqual([]);
  });
});
