/**
 * A real InfluxDB 1.6.7 (Debian's influxd, on free ports in a temp dir) as the time-series
 * store. Readings published over MQTT come back through REST exactly as from the embedded
 * SQLite store (raw, hourly mean, daily delta in Asia/Shanghai, latest, site summary).
 * With influxd killed, 50 QoS 1 readings are all acknowledged (spooled on disk, readyz
 * degraded, spool depth in /metrics); when it is back they all arrive, in order, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';
import { startInfluxd, type Influxd } from '../helpers/influxd.js';
import type { MqttClient } from 'mqtt';

let influxd: Influxd;
let sqliteGw: TestGateway;
let influxGw: TestGateway;
const DB = 'estate_test';

async function provision(gw: TestGateway, id: string, model: string, site: string): Promise<MqttClient> {
  const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id, model, site } });
  expect(r.status).toBe(201);
  return connect(gw.mqttPort, { username: id, password: r.body.credentials.password, clientId: id });
}

const metric = (text: string) => (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

beforeAll(async () => {
  influxd = await startInfluxd();
  sqliteGw = await startGateway();
  influxGw = await startGateway({ config: { store: { type: 'influx-v1', influx: { url: influxd.url, database: DB, timeoutMs: 2000 } } } });
}, 60_000);

afterAll(async () => {
  await influxGw?.stop();
  await sqliteGw?.stop();
  await influxd?.stop();
});

describe('InfluxDB 1.x store', () => {
  it('creates the database, retention policies and rollup continuous queries', async () => {
    const rps = await influxd.query(`SHOW RETENTION POLICIES ON ${DB}`);
    const rows = rps.results[0].series[0].values.map((v: unknown[]) => [v[0], v[1], v[4]]);
    const raw = influxGw.gateway.config.retention.rawDays;
    expect(rows).toEqual(expect.arrayContaining([['raw', `${raw * 24}h0m0s`, true], ['rollup_1h', '17520h0m0s', false], ['rollup_1d', '87600h0m0s', false]]));
    const cqs = await influxd.query('SHOW CONTINUOUS QUERIES');
    const mine = cqs.results[0].series.find((s: { name: string }) => s.name === DB);
    const names = mine.values.map((v: string[]) => v[0]);
    expect(names.sort()).toEqual(['rollup_1d', 'rollup_1h']);
    const daily = mine.values.find((v: string[]) => v[0] === 'rollup_1d')[1];
    expect(daily).toContain('GROUP BY time(1d, -8h), *'); // local midnight in Asia/Shanghai
  });

  it('answers the REST telemetry, latest and site summary queries exactly as the SQLite store', async () => {
    const site = 'jiangnan/yuhua-garden/b3/u1';
    const volume = [
      ['2026-11-21T15:00:00Z', 100], ['2026-11-21T15:30:00Z', 101], ['2026-11-21T17:00:00Z', 103.5], ['2026-11-21T17:40:00Z', 104.5],
      ['2026-11-22T01:00:00Z', 110], ['2026-11-22T04:00:00Z', 0], ['2026-11-22T06:00:00Z', 4], ['2026-11-22T15:59:00Z', 9.25], ['2026-11-22T16:30:00Z', 10],
    ] as const;
    for (const gw of [sqliteGw, influxGw]) {
      const wm = await provision(gw, 'wm-1', 'generic.water-meter', site);
      await publish(wm, 'devices/wm-1/up', JSON.stringify(volume.map(([ts, v]) => ({ ts, water_volume_m3: v, battery_v: 3.6 }))));
      // a redelivered duplicate is stored once in both
      await publish(wm, 'devices/wm-1/up', JSON.stringify({ ts: '2026-11-22T06:00:00Z', water_volume_m3: 4, battery_v: 3.6 }));
      wm.end();
      const wq = await provision(gw, 'wq-1', 'generic.water-quality', site);
      await publish(wq, 'devices/wq-1/up', JSON.stringify([{ ts: '2026-11-22T02:00:00Z', ph: 7.1, turbidity_ntu: 0.4 }, { ts: '2026-11-22T02:10:00Z', ph: 15, turbidity_ntu: 0.35 }]));
      wq.end();
      const bin = await provision(gw, 'bin-1', 'generic.bin-fill', site);
      await publish(bin, 'devices/bin-1/up', JSON.stringify({ ts: '2026-11-22T03:00:00Z', fill_pct: 91.5 }));
      bin.end();
    }
    const queries = [
      '/api/v1/telemetry?device=wm-1&metric=water_volume_m3',
      '/api/v1/telemetry?device=wm-1&metric=water_volume_m3&from=2026-11-22T00:00:00Z&to=2026-11-22T23:00:00Z&limit=2',
      '/api/v1/telemetry?device=wm-1&metric=water_volume_m3&from=2026-11-21T17:00:00Z&to=2026-11-21T18:00:00Z&every=1h&agg=mean',
      '/api/v1/telemetry?device=wm-1&metric=water_volume_m3&from=2026-11-21T16:00:00Z&to=2026-11-23T16:00:00Z&every=1d&agg=delta&tz=Asia/Shanghai',
      '/api/v1/telemetry?device=wm-1&metric=water_volume_m3&from=2026-11-21T00:00:00Z&to=2026-11-23T00:00:00Z&every=6h&agg=max',
      '/api/v1/telemetry?device=wq-1&metric=ph',
      '/api/v1/telemetry?device=wq-1&metric=ph&from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z&every=1h&agg=count',
      '/api/v1/devices/wq-1/latest',
      '/api/v1/devices/wm-1/latest',
    ];
    for (const q of queries) {
      const [a, b] = await Promise.all([sqliteGw.api(q), influxGw.api(q)]);
      expect(b.status, q).toBe(200);
      expect(b.body, q).toEqual(a.body);
    }
    // spot values, so that two equally wrong stores cannot pass
    const daily = (await influxGw.api(queries[3]!)).body.points;
    expect(daily).toEqual([{ ts: '2026-11-21T16:00:00.000Z', value: 18.25 }, { ts: '2026-11-22T16:00:00.000Z', value: 0.75 }]);
    const ph = (await influxGw.api(queries[5]!)).body.points;
    expect(ph).toEqual([{ ts: '2026-11-22T02:00:00.000Z', value: 7.1 }, { ts: '2026-11-22T02:10:00.000Z', value: 15, quality: 'out_of_range' }]);

    const [sa, sb] = await Promise.all([sqliteGw.api(`/api/v1/sites/${site}/summary`), influxGw.api(`/api/v1/sites/${site}/summary`)]);
    expect(sb.status).toBe(200);
    expect(sb.body.bins).toEqual(sa.body.bins);
    expect(sb.body.bins).toMatchObject({ total: 1, full: 1 });
    const dev = await influxGw.api('/api/v1/devices/wm-1');
    expect(dev.body.battery).toMatchObject({ metric: 'battery_v', value: 3.6 });

    // what is in InfluxDB: one measurement per metric, the device's tags, values and quality
    const raw = await influxd.query(`SELECT "value", "quality", "building", "community", "kind", "model" FROM "${DB}"."raw"."ph" WHERE "device" = 'wq-1'`, DB);
    expect(raw.results[0].series[0].values).toEqual([
      [Date.parse('2026-11-22T02:00:00Z'), 7.1, 0, 'b3', 'jiangnan', 'water_quality', 'generic.water-quality'],
      [Date.parse('2026-11-22T02:10:00Z'), 15, 1, 'b3', 'jiangnan', 'water_quality', 'generic.water-quality'],
    ]);
  });

  it('one rule for a repeated (device, metric, ts) with another value: the last write wins in both stores', async () => {
    const ts = '2026-11-25T10:00:00Z';
    for (const gw of [sqliteGw, influxGw]) {
      const dup = await provision(gw, 'dup-1', 'generic.water-quality', '');
      for (const ph of [7.1, 7.2, 7.3]) await publish(dup, 'devices/dup-1/up', JSON.stringify({ ts, ph }));
      dup.end();
    }
    const queries = [
      '/api/v1/telemetry?device=dup-1&metric=ph',
      '/api/v1/telemetry?device=dup-1&metric=ph&from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z&every=1h&agg=sum',
      '/api/v1/telemetry?device=dup-1&metric=ph&from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z&every=1h&agg=count',
      '/api/v1/devices/dup-1/latest',
    ];
    for (const q of queries) {
      const [a, b] = await Promise.all([sqliteGw.api(q), influxGw.api(q)]);
      expect(b.body, q).toEqual(a.body);
    }
    expect((await influxGw.api(queries[0]!)).body.points).toEqual([{ ts: '2026-11-25T10:00:00.000Z', value: 7.3 }]);
    expect((await influxGw.api(queries[1]!)).body.points).toEqual([{ ts: '2026-11-25T10:00:00.000Z', value: 7.3 }]);
    expect((await influxGw.api(queries[2]!)).body.points).toEqual([{ ts: '2026-11-25T10:00:00.000Z', value: 1 }]);
    expect((await influxGw.api(queries[3]!)).body.readings.ph).toMatchObject({ value: 7.3, ts: '2026-11-25T10:00:00.000Z' });
  });

  it('runs the hourly rollup continuous query body into rollup_1h', async () => {
    const cqs = await influxd.query('SHOW CONTINUOUS QUERIES');
    const hourly: string = cqs.results[0].series.find((s: { name: string }) => s.name === DB).values.find((v: string[]) => v[0] === 'rollup_1h')[1];
    // what the CQ runs every hour for the last hour, here over a fixed past range
    const body = /BEGIN (.*) END$/.exec(hourly)![1]!.replace(' GROUP BY', " AND time >= '2026-11-21T17:00:00Z' AND time < '2026-11-21T18:00:00Z' GROUP BY");
    const ran = await influxd.query(body, DB);
    expect(ran.results[0].error).toBeUndefined();
    const r = await influxd.query(`SELECT "count", "sum", "min", "max", "mean" FROM "${DB}"."rollup_1h"."water_volume_m3" WHERE "device" = 'wm-1'`, DB);
    expect(r.results[0].series[0].values).toEqual([[Date.parse('2026-11-21T17:00:00Z'), 2, 208, 103.5, 104.5, 104]]);

    // the daily one buckets at local midnight (16:00Z): the 22nd in Shanghai holds six readings
    const dailyCq: string = cqs.results[0].series.find((s: { name: string }) => s.name === DB).values.find((v: string[]) => v[0] === 'rollup_1d')[1];
    const dailyBody = /BEGIN (.*) END$/.exec(dailyCq)![1]!.replace(' GROUP BY', " AND time >= '2026-11-21T16:00:00Z' AND time < '2026-11-22T16:00:00Z' GROUP BY");
    expect((await influxd.query(dailyBody, DB)).results[0].error).toBeUndefined();
    const d = await influxd.query(`SELECT "count", "min", "max" FROM "${DB}"."rollup_1d"."water_volume_m3" WHERE "device" = 'wm-1'`, DB);
    expect(d.results[0].series[0].values).toEqual([[Date.parse('2026-11-21T16:00:00Z'), 6, 0, 110]]);

    // the REST rollups answer the same from InfluxDB's rollups as from the SQLite retention job's
    await sqliteGw.gateway.retention.run();
    for (const q of [
      '/api/v1/telemetry/rollups?device=wm-1&metric=water_volume_m3&period=1h&from=2026-11-21T17:00:00Z&to=2026-11-21T18:00:00Z',
      '/api/v1/telemetry/rollups?device=wm-1&metric=water_volume_m3&period=1d&from=2026-11-21T16:00:00Z&to=2026-11-22T16:00:00Z',
    ]) {
      const [a, b] = await Promise.all([sqliteGw.api(q), influxGw.api(q)]);
      expect(b.status, q).toBe(200);
      expect(b.body, q).toEqual(a.body);
    }
    expect((await influxGw.api('/api/v1/telemetry/rollups?device=wm-1&metric=water_volume_m3&period=1d&from=2026-11-21T16:00:00Z&to=2026-11-22T16:00:00Z')).body.points)
      .toEqual([{ ts: '2026-11-21T16:00:00.000Z', count: 6, sum: 331.25, min: 0, max: 110, mean: 331.25 / 6, first: 103.5, last: 9.25 }]);
    const bad = await influxGw.api('/api/v1/telemetry/rollups?device=wm-1&metric=door_open&period=1h');
    expect(bad.status).toBe(400);
    expect(bad.body.details[0].field).toBe('querystring.metric');
  });

  it('spools to disk while influxd is down (all 50 acknowledged), then writes all 50, in order, once', async () => {
    const gw = influxGw;
    const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'wq-down', model: 'generic.water-quality', site: 'jiangnan/yuhua-garden' } });
    const client = await connect(gw.mqttPort, { username: 'wq-down', password: r.body.credentials.password, clientId: 'wq-down' });
    await influxd.kill();
    const base = Date.parse('2026-11-23T00:00:00Z');
    // each publish resolves on its PUBACK: the gateway committed (spooled) the reading
    for (let i = 0; i < 50; i++) await publish(client, 'devices/wq-down/up', JSON.stringify({ ts: base + i * 60_000, ph: 7 + i / 100 }));
    client.end();

    const ready = await gw.api('/readyz', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('degraded');
    expect(ready.body.reason).toMatch(/InfluxDB 1\.x at http:\/\/127\.0\.0\.1:\d+\/estate_test: .*; 50 readings spooled on disk/);
    const m = metric((await gw.api('/metrics', { token: null })).text);
    expect(m('gateway_spool_points')).toBe(50);
    expect(m('gateway_spooled_points_total')).toBe(50);

    await influxd.start();
    await eventually(async () => (await gw.api('/readyz', { token: null })).body.status === 'ready', 30_000, 200);
    const m2 = metric((await gw.api('/metrics', { token: null })).text);
    expect(m2('gateway_spool_points')).toBe(0);
    expect(m2('gateway_spool_drained_points_total')).toBe(50);

    const res = await influxd.query(`SELECT "value" FROM "${DB}"."raw"."ph" WHERE "device" = 'wq-down'`, DB);
    const values = res.results[0].series[0].values as Array<[number, number]>;
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => [base + i * 60_000, 7 + i / 100]));
    const rest = await gw.api('/api/v1/telemetry?device=wq-down&metric=ph&limit=1000');
    expect(rest.body.points.map((p: { value: number }) => p.value)).toEqual(values.map((v) => v[1]));
  }, 90_000);

  it('starts with influxd down, acknowledges and spools, and creates the schema when it is up', async () => {
    await influxd.kill();
    const gw = await startGateway({ config: { store: { type: 'influx-v1', influx: { url: influxd.url, database: 'late_db', timeoutMs: 1000 } } } });
    try {
      expect((await gw.api('/readyz', { token: null })).body.status).toBe('degraded');
      const client = await provision(gw, 'wq-late', 'generic.water-quality', 'a/b');
      await publish(client, 'devices/wq-late/up', JSON.stringify({ ts: '2026-11-23T05:00:00Z', ph: 6.9 }));
      client.end();
      await influxd.start();
      await eventually(async () => (await gw.api('/readyz', { token: null })).body.status === 'ready', 30_000, 200);
      expect((await gw.api('/api/v1/telemetry?device=wq-late&metric=ph')).body.points).toEqual([{ ts: '2026-11-23T05:00:00.000Z', value: 6.9 }]);
    } finally {
      await gw.stop();
    }
  }, 90_000);
});
