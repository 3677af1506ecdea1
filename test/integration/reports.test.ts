/**
 * Response times and the monthly reports against hand-computed expectations: a gateway with a
 * clock the test moves, real MQTT uplinks carrying their own timestamps, and the month of
 * March 2026 in Asia/Shanghai (it starts at 2026-02-28T16:00Z) with a meter reset in it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';

let gw: TestGateway;
let now = Date.parse('2026-04-10T00:00:00Z');
const T0 = now;
const clients: Record<string, MqttClient> = {};

async function device(id: string, model: string, site: string) {
  const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id, model, site } });
  expect(r.status).toBe(201);
  clients[id] = await connect(gw.mqttPort, { username: id, password: r.body.credentials.password });
}
const send = (id: string, body: unknown) => publish(clients[id]!, `devices/${id}/up`, JSON.stringify(body));
const alertOf = (id: string, status = 'open,acknowledged,resolved') => eventually(async () => (await gw.api(`/api/v1/alerts?device=${id}&status=${status}`)).body.items[0], 5000);

beforeAll(async () => {
  gw = await startGateway({ clock: () => now });
}, 30_000);
afterAll(async () => {
  await Promise.all(Object.values(clients).map((c) => c.endAsync()));
  await gw?.stop();
});

describe('response times', () => {
  beforeAll(async () => {
    for (const [id, site] of [['bin-s1', 'stats/b3'], ['bin-s2', 'stats/b3'], ['bin-s3', 'stats/b4'], ['bin-s4', 'stats/b4']] as const) {
      await device(id, 'generic.bin-fill', site);
      await send(id, { fill_pct: 90 });
      await alertOf(id);
    }
    const id = async (dev: string) => (await alertOf(dev)).id as string;
    now = T0 + 300_000;
    await send('bin-s4', { fill_pct: 5 }); // cleared by itself after 300 s, never acknowledged
    await eventually(async () => (await alertOf('bin-s4')).status === 'resolved', 5000);
    now = T0 + 600_000;
    expect((await gw.api(`/api/v1/alerts/${await id('bin-s1')}/ack`, { method: 'POST', json: {} })).status).toBe(200);
    now = T0 + 1_200_000;
    expect((await gw.api(`/api/v1/alerts/${await id('bin-s2')}/ack`, { method: 'POST', json: {} })).status).toBe(200);
    now = T0 + 1_800_000;
    expect((await gw.api(`/api/v1/alerts/${await id('bin-s1')}/resolve`, { method: 'POST', json: {} })).status).toBe(200);
    now = T0 + 4_000_000; // bin-s3 has waited 4000 s
  }, 30_000);

  it('by site: MTTA, MTTR, p90 and the alerts left unacknowledged beyond 15 min and 1 h', async () => {
    const r = await gw.api('/api/v1/alerts/stats?site=stats&groupBy=site');
    expect(r.status).toBe(200);
    expect(r.body.groups).toEqual([
      { key: 'stats/b3', opened: 2, acknowledged: 2, resolved: 1, mttaS: 900, mttrS: 1800, p90AckS: 1200, unacknowledgedOverS: { 900: 1, 3600: 0 } },
      { key: 'stats/b4', opened: 2, acknowledged: 0, resolved: 1, mttaS: null, mttrS: 300, p90AckS: null, unacknowledgedOverS: { 900: 1, 3600: 1 } },
    ]);
  });
  it('by rule, with other thresholds and a time range', async () => {
    const r = await gw.api('/api/v1/alerts/stats?site=stats/&groupBy=rule&over=1000,60');
    expect(r.body.groups).toEqual([{ key: 'bin_full', opened: 4, acknowledged: 2, resolved: 2, mttaS: 900, mttrS: 1050, p90AckS: 1200, unacknowledgedOverS: { 60: 4, 1000: 2 } }]);
    const none = await gw.api(`/api/v1/alerts/stats?site=stats&from=${T0 + 1}`);
    expect(none.body.groups).toEqual([]);
    expect((await gw.api('/api/v1/alerts/stats?rule=no_such_rule')).status).toBe(400);
    expect((await gw.api('/api/v1/alerts/stats?over=15m')).status).toBe(400);
    expect((await gw.api('/api/v1/alerts/stats?groupBy=device')).status).toBe(400);
  });
  it('Prometheus histograms of time to acknowledge and to resolve', async () => {
    const text = await (await fetch(`${gw.http}/metrics`)).text();
    expect(text).toContain('gateway_alert_time_to_acknowledge_seconds_sum{rule="bin_full",severity="major"} 1800');
    expect(text).toContain('gateway_alert_time_to_acknowledge_seconds_count{rule="bin_full",severity="major"} 2');
    expect(text).toContain('gateway_alert_time_to_acknowledge_seconds_bucket{le="900",rule="bin_full",severity="major"} 1');
    expect(text).toContain('gateway_alert_time_to_resolve_seconds_sum{rule="bin_full",severity="major",resolution="auto"} 300');
    expect(text).toContain('gateway_alert_time_to_resolve_seconds_sum{rule="bin_full",severity="major",resolution="manual"} 1800');
  });
});

describe('water-quality report', () => {
  beforeAll(async () => {
    await device('wq-r1', 'generic.water-quality', 'estate/c1/b1');
    await device('wq-r2', 'generic.water-quality', 'elsewhere/x');
    for (const [ts, body] of [
      ['2026-02-28T15:00:00Z', { ph: 9.9 }], // 23:00 on 28 Feb in Shanghai: not March
      ['2026-02-28T16:00:00Z', { ph: 7.0 }], // 00:00 on 1 March in Shanghai
      ['2026-02-28T22:00:00Z', { ph: 9.0 }],
      ['2026-03-01T04:00:00Z', { ph: 7.2 }],
      ['2026-03-01T16:00:00Z', { ph: 6.2 }],
      ['2026-03-02T00:00:00Z', { ph: 15 }], // a sensor fault, not water out of limits
      ['2026-03-10T00:00:00Z', { turbidity_ntu: 0.5 }],
      ['2026-03-31T16:00:00Z', { ph: 5.0 }], // 00:00 on 1 April in Shanghai
    ] as const) await send('wq-r1', { ts, ...body });
    await send('wq-r2', { ts: '2026-03-05T00:00:00Z', ph: 7 });
  });

  it('per device and metric: samples, exceedances, time-weighted share within GB 5749-2022, worst value', async () => {
    const r = await gw.api('/api/v1/reports/water-quality?site=estate&month=2026-03&tz=Asia/Shanghai');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ month: '2026-03', tz: 'Asia/Shanghai', from: '2026-02-28T16:00:00.000Z', to: '2026-03-31T16:00:00.000Z', next: null });
    expect(r.body.items).toEqual([
      // 7.0 for 6 h (in), 9.0 for 6 h (out), 7.2 for 12 h (in): 18 of 24 h
      { deviceId: 'wq-r1', deviceName: null, site: 'estate/c1/b1', metric: 'ph', unit: 'pH', limit: { min: 6.5, max: 8.5 }, samples: 4, invalidSamples: 1, exceedances: 2, withinShare: 0.75, worst: { value: 9, ts: '2026-02-28T22:00:00.000Z' } },
      { deviceId: 'wq-r1', deviceName: null, site: 'estate/c1/b1', metric: 'turbidity_ntu', unit: 'NTU', limit: { min: null, max: 1 }, samples: 1, invalidSamples: 0, exceedances: 0, withinShare: 1, worst: { value: 0.5, ts: '2026-03-10T00:00:00.000Z' } },
    ]);
  });
  it('as CSV', async () => {
    const r = await gw.api('/api/v1/reports/water-quality?site=estate&month=2026-03', { headers: { accept: 'text/csv' } });
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(r.text.trim().split('\n')).toEqual([
      'deviceId,deviceName,site,metric,unit,limitMin,limitMax,samples,invalidSamples,exceedances,withinShare,worstValue,worstTs',
      'wq-r1,,estate/c1/b1,ph,pH,6.5,8.5,4,1,2,0.75,9,2026-02-28T22:00:00.000Z',
      'wq-r1,,estate/c1/b1,turbidity_ntu,NTU,,1,1,0,0,1,0.5,2026-03-10T00:00:00.000Z',
    ]);
  });
  it('refuses a bad month or zone', async () => {
    expect((await gw.api('/api/v1/reports/water-quality?month=2026-13')).status).toBe(400);
    expect((await gw.api('/api/v1/reports/water-quality?month=2026-03&tz=Mars/Olympus')).status).toBe(400);
  });
});

describe('consumption report', () => {
  beforeAll(async () => {
    await device('m-1', 'generic.water-meter', 'estate/c1/b1/u1');
    await device('m-2', 'generic.water-meter', 'estate/c1/b2/u1');
    await send('m-1', [
      { ts: '2026-02-28T15:00:00Z', water_volume_m3: 100 }, // before the month: the baseline
      { ts: '2026-02-28T17:00:00Z', water_volume_m3: 101 }, // 1 March 01:00 local: +1
      { ts: '2026-03-01T15:30:00Z', water_volume_m3: 103 }, // 1 March 23:30: +2
      { ts: '2026-03-01T16:30:00Z', water_volume_m3: 104 }, // 2 March 00:30: +1
      { ts: '2026-03-02T02:00:00Z', water_volume_m3: 2 }, // meter replaced, counts from 0: +2
      { ts: '2026-03-02T10:00:00Z', water_volume_m3: 5 }, // +3
      { ts: '2026-03-31T15:00:00Z', water_volume_m3: 10 }, // 31 March 23:00: +5
      { ts: '2026-03-31T17:00:00Z', water_volume_m3: 20 }, // 1 April: not March
    ]);
    await send('m-2', [{ ts: '2026-03-15T00:00:00Z', water_volume_m3: 50 }, { ts: '2026-03-15T08:00:00Z', water_volume_m3: 50.5 }]);
  });

  it('per device and per site level, month and local days, across a meter reset', async () => {
    const r = await gw.api('/api/v1/reports/consumption?site=estate/c1&month=2026-03&tz=Asia/Shanghai&metric=water_volume_m3');
    expect(r.status).toBe(200);
    const day = (rows: Array<{ date: string; value: number }>) => Object.fromEntries(rows.filter((x) => x.value !== 0).map((x) => [x.date, x.value]));
    expect(r.body.items.map((i: any) => [i.deviceId, i.total, day(i.days), i.days.length])).toEqual([
      ['m-1', 14, { '2026-03-01': 3, '2026-03-02': 6, '2026-03-31': 5 }, 31],
      ['m-2', 0.5, { '2026-03-15': 0.5 }, 31],
    ]);
    expect(r.body.sites.map((s: any) => [s.site, s.level, s.devices, s.total, day(s.days)])).toEqual([
      ['estate/c1', 2, 2, 14.5, { '2026-03-01': 3, '2026-03-02': 6, '2026-03-15': 0.5, '2026-03-31': 5 }],
      ['estate/c1/b1', 3, 1, 14, { '2026-03-01': 3, '2026-03-02': 6, '2026-03-31': 5 }],
      ['estate/c1/b1/u1', 4, 1, 14, { '2026-03-01': 3, '2026-03-02': 6, '2026-03-31': 5 }],
      ['estate/c1/b2', 3, 1, 0.5, { '2026-03-15': 0.5 }],
      ['estate/c1/b2/u1', 4, 1, 0.5, { '2026-03-15': 0.5 }],
    ]);
    expect(r.body.unit).toBe('m3');
  });
  it('as CSV, one column per local day', async () => {
    const r = await gw.api('/api/v1/reports/consumption?site=estate/c1/b1&month=2026-03&metric=water_volume_m3', { headers: { accept: 'text/csv' } });
    const [head, ...rows] = r.text.trim().split('\n');
    expect(head!.split(',').slice(0, 6)).toEqual(['scope', 'id', 'site', 'unit', 'total', '2026-03-01']);
    expect(head!.split(',').at(-1)).toBe('2026-03-31');
    expect(rows[0]!.split(',').slice(0, 7)).toEqual(['device', 'm-1', 'estate/c1/b1/u1', 'm3', '14', '3', '6']);
    expect(rows.map((x) => x.split(',')[1])).toEqual(['m-1', 'estate/c1/b1', 'estate/c1/b1/u1']);
    expect((await gw.api('/api/v1/reports/consumption?month=2026-03&metric=gas_m3')).status).toBe(400);
  });
});
