/**
 * History beyond the raw retention (storage/backfill.ts): 400-day-old readings sent over
 * MQTT land in the hourly and daily rollups of the SQLite store and of a real InfluxDB 1.x
 * (which would drop them from its raw retention policy), merged with what a bucket already
 * holds; /api/v1/telemetry/rollups answers the same from both, and nothing is dead-lettered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, publish } from '../helpers/mqtt.js';
import { startInfluxd, type Influxd } from '../helpers/influxd.js';

let influxd: Influxd;
let sqliteGw: TestGateway;
let influxGw: TestGateway;
const HOUR = 3_600_000;
// a day 400 days back, at 00:00 in Asia/Shanghai (16:00 UTC the day before)
const day0 = Math.floor((Date.now() - 400 * 86_400_000) / 86_400_000) * 86_400_000 - 8 * HOUR;

async function provision(gw: TestGateway, id: string): Promise<MqttClient> {
  const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id, model: 'generic.water-quality', site: 'jiangnan/history' } });
  expect(r.status).toBe(201);
  return connect(gw.mqttPort, { username: id, password: r.body.credentials.password, clientId: id });
}

beforeAll(async () => {
  influxd = await startInfluxd();
  // the default raw retention (90 days), not the tests' long one
  sqliteGw = await startGateway({ config: { retention: { rawDays: 90 } } });
  influxGw = await startGateway({ config: { store: { type: 'influx-v1', influx: { url: influxd.url, database: 'backfill_db', timeoutMs: 5000 } }, retention: { rawDays: 90 } } });
}, 60_000);
afterAll(async () => {
  await influxGw?.stop();
  await sqliteGw?.stop();
  await influxd?.stop();
});

describe('readings older than the raw retention', () => {
  it('go into the hourly and daily rollups of both stores, with the same answers', async () => {
    // 10:00-12:59 local on day0: 6 readings, then a later upload into the same hours (merge), a duplicate, a recent reading
    const at = (h: number, m: number) => new Date(day0 + h * HOUR + m * 60_000).toISOString();
    const first = [[at(10, 0), 7.0], [at(10, 30), 7.2], [at(11, 0), 7.4], [at(11, 30), 7.6], [at(12, 0), 7.1], [at(12, 45), 6.9]] as const;
    const later = [[at(10, 15), 8.0], [at(12, 50), 6.5], [at(10, 30), 7.2]] as const; // the last is already sent: merged once per batch only
    const answers: unknown[] = [];
    for (const gw of [sqliteGw, influxGw]) {
      const c = await provision(gw, 'wq-h');
      await publish(c, 'devices/wq-h/up', JSON.stringify(first.map(([ts, ph]) => ({ ts, ph }))));
      await publish(c, 'devices/wq-h/up', JSON.stringify(later.slice(0, 2).map(([ts, ph]) => ({ ts, ph }))));
      await publish(c, 'devices/wq-h/up', JSON.stringify({ ph: 7.3 }));
      await c.endAsync();
      const q = `device=wq-h&metric=ph&from=${day0}&to=${day0 + 86_400_000}`;
      const hourly = await gw.api(`/api/v1/telemetry/rollups?${q}&period=1h`);
      const daily = await gw.api(`/api/v1/telemetry/rollups?${q}&period=1d`);
      expect(hourly.status, hourly.text).toBe(200);
      answers.push({ hourly: hourly.body.points, daily: daily.body.points });
      // not raw: the raw series keeps rawDays, for both stores alike
      expect((await gw.api(`/api/v1/telemetry?${q}`)).body.points).toEqual([]);
      expect((await gw.api('/api/v1/dead-letters')).body.items, gw.gateway.store.name).toEqual([]);
      expect((await gw.api('/api/v1/devices/wq-h/latest')).body.readings.ph.value).toBe(7.3);
    }
    const iso = (t: number) => new Date(t).toISOString();
    const r = (n: number) => Math.round(n * 1e9) / 1e9;
    const norm = (pts: any[]) => pts.map((p) => ({ ...p, sum: r(p.sum), mean: r(p.mean) }));
    const [sqlite, influx] = answers as Array<{ hourly: any[]; daily: any[] }>;
    expect(norm(sqlite!.hourly)).toEqual([
      { ts: iso(day0 + 10 * HOUR), count: 3, sum: 22.2, min: 7, max: 8, mean: 7.4, first: 7, last: 7.2 },
      { ts: iso(day0 + 11 * HOUR), count: 2, sum: 15, min: 7.4, max: 7.6, mean: 7.5, first: 7.4, last: 7.6 },
      { ts: iso(day0 + 12 * HOUR), count: 3, sum: 20.5, min: 6.5, max: 7.1, mean: r(20.5 / 3), first: 7.1, last: 6.5 },
    ]);
    expect(norm(sqlite!.daily)).toEqual([{ ts: iso(day0), count: 8, sum: 57.7, min: 6.5, max: 8, mean: r(57.7 / 8), first: 7, last: 6.5 }]);
    expect(norm(influx!.hourly)).toEqual(norm(sqlite!.hourly));
    expect(norm(influx!.daily)).toEqual(norm(sqlite!.daily));
  }, 60_000);

  it('beyond the hourly rollups\' retention (730 days) only the daily bucket is kept, in both stores', async () => {
    const old = day0 - 400 * 86_400_000 + 9 * HOUR; // 800 days back, 09:00 local
    for (const gw of [sqliteGw, influxGw]) {
      const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'wq-old', model: 'generic.water-quality', site: 'jiangnan/history' } });
      const c = await connect(gw.mqttPort, { username: 'wq-old', password: r.body.credentials.password, clientId: 'wq-old' });
      await publish(c, 'devices/wq-old/up', JSON.stringify({ ts: new Date(old).toISOString(), ph: 7.7 }));
      await c.endAsync();
      const q = `device=wq-old&metric=ph&from=${old - 86_400_000}&to=${old + 86_400_000}`;
      expect((await gw.api(`/api/v1/telemetry/rollups?${q}&period=1h`)).body.points, gw.gateway.store.name).toEqual([]);
      expect((await gw.api(`/api/v1/telemetry/rollups?${q}&period=1d`)).body.points, gw.gateway.store.name).toEqual([
        { ts: new Date(old - 9 * HOUR).toISOString(), count: 1, sum: 7.7, min: 7.7, max: 7.7, mean: 7.7, first: 7.7, last: 7.7 },
      ]);
      expect((await gw.api('/api/v1/dead-letters')).body.items, gw.gateway.store.name).toEqual([]);
      // a device whose only upload is history still shows its last value
      expect((await gw.api('/api/v1/devices/wq-old/latest')).body.readings.ph, gw.gateway.store.name).toMatchObject({ value: 7.7, ts: new Date(old).toISOString() });
    }
  }, 60_000);
});
