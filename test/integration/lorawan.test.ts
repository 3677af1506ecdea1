/**
 * LoRaWAN network-server envelopes on the embedded broker (CONTRACT "Uplink topics"), with
 * the real envelope samples of shared/corpus, and the integration access rules.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, mosquitto, publish } from '../helpers/mqtt.js';

const corpus = (f: string) => JSON.parse(readFileSync(join(ROOT, '../shared/corpus', f), 'utf8'));
let gw: TestGateway;
let ttn: { username: string; password: string };
let cs: { username: string; password: string };

beforeAll(async () => {
  gw = await startGateway();
  ttn = (await gw.api('/api/v1/integrations', { method: 'POST', json: { id: 'ttn-estate', type: 'ttn-v3' } })).body.credentials;
  cs = (await gw.api('/api/v1/integrations', { method: 'POST', json: { id: 'cs-estate', type: 'chirpstack-v4' } })).body.credentials;
  // a native bin reached through LoRaWAN: its model decodes JSON, so the frm_payload carries JSON
  for (const [id, eui] of [['bin-lora-1', '0004A30B001C0530'], ['dev1', null], ['bin-cs-1', '0101010101010101']] as const) {
    const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id, model: 'generic.bin-fill', ...(eui ? { lorawan: { devEui: eui.toLowerCase() } } : {}) } });
    expect(r.status).toBe(201);
  }
});
afterAll(async () => gw?.stop());

function ttnEnvelope(payload: string, mutate: (e: any) => void = () => {}) {
  const e = corpus('ttn-v3-uplink.json');
  e.uplink_message.frm_payload = Buffer.from(payload).toString('base64');
  e.uplink_message.f_port = 1;
  mutate(e);
  return JSON.stringify(e);
}

describe('The Things Stack v3 and ChirpStack v4 uplinks', () => {
  it('matches a TTN uplink by devEUI (any case) and keeps RSSI/SNR and the network time', async () => {
    expect(ttn.username).toBe('integration:ttn-estate');
    const r = await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(gw.mqttPort), '-u', ttn.username, '-P', ttn.password, '-q', '1',
      '-t', 'v3/app1@estate/devices/dev1/up', '-m', ttnEnvelope('{"fill_pct": 61}')]);
    expect(r.code).toBe(0);
    const latest = await gw.api('/api/v1/devices/bin-lora-1/latest');
    expect(latest.body.readings).toMatchObject({
      fill_pct: { value: 61, ts: '2020-02-12T15:15:45.789Z' },
      rssi_dbm: { value: -35, unit: 'dBm' },
      snr_db: { value: 5, unit: 'dB' },
    });
  });

  it('falls back to the TTN device id, and treats omitted zero fields as zero', async () => {
    const c = await connect(gw.mqttPort, { username: ttn.username, password: ttn.password });
    await publish(c, 'v3/app1@estate/devices/dev1/up', ttnEnvelope('{"fill_pct": 12}', (e) => {
      delete e.end_device_ids.dev_eui;
      delete e.uplink_message.rx_metadata[0].snr; // protobuf JSON omits 0
    }));
    await c.endAsync();
    const latest = await gw.api('/api/v1/devices/dev1/latest');
    expect(latest.body.readings.fill_pct.value).toBe(12);
    expect(latest.body.readings.snr_db.value).toBe(0);
  });

  it('decodes the ChirpStack v4 sample envelope', async () => {
    const e = corpus('chirpstack-v4-uplink.json');
    e.data = Buffer.from('{"fill_pct": 33}').toString('base64');
    const c = await connect(gw.mqttPort, { username: cs.username, password: cs.password });
    await publish(c, 'application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up', JSON.stringify(e));
    await c.endAsync();
    const latest = await gw.api('/api/v1/devices/bin-cs-1/latest');
    expect(latest.body.readings).toMatchObject({ fill_pct: { value: 33, ts: '2022-07-18T09:34:15.775Z' }, rssi_dbm: { value: -36 }, snr_db: { value: 10.5 } });
  });

  it('dead-letters an uplink for an unknown device and a non-uplink envelope', async () => {
    const c = await connect(gw.mqttPort, { username: ttn.username, password: ttn.password });
    await publish(c, 'v3/app1@estate/devices/nobody/up', ttnEnvelope('{}', (e) => { e.end_device_ids = { device_id: 'nobody', dev_eui: 'FFFFFFFFFFFFFFFF' }; }));
    await publish(c, 'v3/app1@estate/devices/dev1/up', JSON.stringify({ end_device_ids: { device_id: 'dev1' } }));
    await c.endAsync();
    const dl = await gw.api('/api/v1/dead-letters?limit=2');
    expect(dl.body.items.map((d: { reason: string }) => d.reason)).toEqual([
      expect.stringContaining('no uplink_message'),
      expect.stringContaining('no registered device'),
    ]);
  });

  it('lets an integration publish only to its own format\'s topics', async () => {
    const before = (await gw.api('/api/v1/devices/bin-cs-1/latest')).body.readings.fill_pct.value;
    const e = corpus('chirpstack-v4-uplink.json');
    e.data = Buffer.from('{"fill_pct": 99}').toString('base64');
    const c = await connect(gw.mqttPort, { username: ttn.username, password: ttn.password });
    await publish(c, 'application/x/device/0101010101010101/event/up', JSON.stringify(e)); // ttn creds, chirpstack topic
    await publish(c, 'devices/bin-cs-1/up', '{"fill_pct": 99}');
    await c.endAsync();
    expect((await gw.api('/api/v1/devices/bin-cs-1/latest')).body.readings.fill_pct.value).toBe(before);
    const m = await gw.api('/metrics', { token: null });
    expect(m.text).toMatch(/gateway_auth_refusals_total\{action="publish",reason="topic_not_allowed"\} [2-9]/);
    const bad = await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(gw.mqttPort), '-u', cs.username, '-P', 'wrong', '-q', '1', '-t', 'application/a/device/b/event/up', '-m', '{}']);
    expect(bad.code).not.toBe(0);
  });
});

describe('site summary', () => {
  it('summarises parking, bins, consumption and offline devices for a subtree', async () => {
    const site = 'jiangnan/yuhua-garden';
    const mk = async (id: string, model: string, sub: string, attributes: Record<string, unknown> = {}) =>
      (await gw.api('/api/v1/devices', { method: 'POST', json: { id, model, site: `${site}/${sub}`, attributes } })).body.credentials.password as string;
    const secrets: Record<string, string> = {
      'bay-1': await mk('bay-1', 'generic.parking', 'p1'),
      'bay-2': await mk('bay-2', 'generic.parking', 'p1'),
      'sb-1': await mk('sb-1', 'generic.bin-fill', 'b1', { thresholds: { fill_pct: 90 } }),
      'sb-2': await mk('sb-2', 'generic.bin-fill', 'b1'),
      'swm-1': await mk('swm-1', 'generic.water-meter', 'b1'),
      'sem-1': await mk('sem-1', 'generic.electricity-meter', 'b1'),
    };
    await mk('quiet-1', 'generic.water-quality', 'pump');
    const send = async (id: string, body: unknown) => {
      const c = await connect(gw.mqttPort, { username: id, password: secrets[id] });
      await publish(c, `devices/${id}/up`, JSON.stringify(body));
      await c.endAsync();
    };
    const midnight = new Date(new Date().toLocaleString('en-US', { timeZone: 'Asia/Shanghai' }));
    midnight.setHours(0, 0, 0, 0);
    const localMidnightUtc = Date.now() - ((new Date(new Date().toLocaleString('en-US', { timeZone: 'Asia/Shanghai' })).getTime()) - midnight.getTime());
    await send('bay-1', { occupied: true });
    await send('bay-2', { occupied: false });
    await send('sb-1', { fill_pct: 85 }); // below its own 90 % threshold
    await send('sb-2', { fill_pct: 85 });
    await send('swm-1', [{ ts: localMidnightUtc - 60_000, water_volume_m3: 50 }, { ts: localMidnightUtc + 60_000, water_volume_m3: 50.5 }, { ts: Date.now() - 1000, water_volume_m3: 51.25 }]);
    await send('sem-1', [{ ts: localMidnightUtc - 60_000, energy_import_kwh: 1000 }, { ts: Date.now() - 1000, energy_import_kwh: 1012.5 }]);

    const r = await gw.api(`/api/v1/sites/${site}/summary`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      site, tz: 'Asia/Shanghai',
      devices: { total: 7, online: 6, offline: 1 },
      parking: { bays: 2, occupied: 1, free: 1 },
      bins: { total: 2, full: 1, items: [{ deviceId: 'sb-2', fillPct: 85, threshold: 80 }] },
      water: { meters: 1, todayM3: 1.25 },
      electricity: { meters: 1, todayKwh: 12.5 },
      offline: [{ deviceId: 'quiet-1' }],
    });
    expect((await gw.api(`/api/v1/sites/${site}/p1/summary`)).body.devices.total).toBe(2);
    expect((await gw.api('/api/v1/sites/a/b/c/d/e/summary')).status).toBe(400);
  });
});
