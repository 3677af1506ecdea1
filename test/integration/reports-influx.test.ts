/**
 * The monthly reports read telemetry only through the TelemetryStore interface: the same
 * uplinks give the same reports on a real InfluxDB 1.6.7 as on the embedded SQLite store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';
import { startInfluxd, type Influxd } from '../helpers/influxd.js';
import { DateTime } from 'luxon';

// last month: InfluxDB drops points older than the raw retention (90 days)
const start = DateTime.now().setZone('Asia/Shanghai').startOf('month').minus({ months: 1 });
const MONTH = start.toFormat('yyyy-MM');
const at = (hoursFromStart: number) => start.plus({ hours: hoursFromStart }).toUTC().toISO()!;
const END = start.plus({ months: 1 }).diff(start, 'hours').hours;
/**
 * the reading after the month: an hour after it, or now when the month began less than an hour
 * ago (a reading more than ingest.maxFutureS ahead refuses its whole message, found by
 * scripts/clock-sweep at 00:10 on the 1st in Shanghai)
 */
const AFTER = DateTime.min(start.plus({ hours: END + 1 }), DateTime.now()).toUTC().toISO()!;

let influxd: Influxd;
let sqliteGw: TestGateway;
let influxGw: TestGateway;
const clients: MqttClient[] = [];

async function send(gw: TestGateway, id: string, model: string, body: unknown) {
  const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id, model, site: 'estate/c1/b1/u1' } });
  expect(r.status).toBe(201);
  const c = await connect(gw.mqttPort, { username: id, password: r.body.credentials.password, clientId: id });
  clients.push(c);
  await publish(c, `devices/${id}/up`, JSON.stringify(body));
}

beforeAll(async () => {
  influxd = await startInfluxd();
  sqliteGw = await startGateway();
  influxGw = await startGateway({ config: { store: { type: 'influx-v1', influx: { url: influxd.url, database: 'estate_reports', timeoutMs: 2000 } } } });
  for (const gw of [sqliteGw, influxGw]) {
    await send(gw, 'm-1', 'generic.water-meter', [
      { ts: at(-1), water_volume_m3: 100 }, { ts: at(1), water_volume_m3: 101 },
      { ts: at(34), water_volume_m3: 2 }, { ts: at(END - 1), water_volume_m3: 7 }, { ts: AFTER, water_volume_m3: 20 },
    ]);
    await send(gw, 'wq-1', 'generic.water-quality', [
      { ts: at(0), ph: 7 }, { ts: at(6), ph: 9 }, { ts: at(12), ph: 7.2 }, { ts: at(24), ph: 7.1 },
    ]);
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync()));
  await influxGw?.stop();
  await sqliteGw?.stop();
  await influxd?.stop();
});

describe('reports on InfluxDB', () => {
  it('consumption and water quality equal those of the SQLite store, and the hand-computed figures', async () => {
    const q = `?site=estate&month=${MONTH}&tz=Asia/Shanghai`;
    const get = async (gw: TestGateway, path: string) => (await gw.api(path)).body;
    const fromInflux = await eventually(async () => {
      const c = await get(influxGw, `/api/v1/reports/consumption${q}&metric=water_volume_m3`);
      return c.items?.[0]?.total === 8 ? c : undefined;
    }, 10_000, 1000);
    const fromSqlite = await get(sqliteGw, `/api/v1/reports/consumption${q}&metric=water_volume_m3`);
    // +1 on the 1st, +2 (reset to 2) on the 2nd, +5 on the last day; the reading after the month is not in it
    expect(fromSqlite.items[0].total).toBe(8);
    expect(fromInflux.items).toEqual(fromSqlite.items);
    expect(fromInflux.sites).toEqual(fromSqlite.sites);
    const wqInflux = await get(influxGw, `/api/v1/reports/water-quality${q}`);
    const wqSqlite = await get(sqliteGw, `/api/v1/reports/water-quality${q}`);
    expect(wqSqlite.items).toEqual([expect.objectContaining({ deviceId: 'wq-1', metric: 'ph', samples: 4, exceedances: 1, withinShare: 0.75, worst: { value: 9, ts: new Date(at(6)).toISOString() } })]);
    expect(wqInflux.items).toEqual(wqSqlite.items);
  });
});
