/**
 * All 33 real corpus uplinks through the real pipeline: MQTT in as The Things Stack v3 and
 * as ChirpStack v4 envelopes, /latest out, compared with the normalised values the model's
 * corpus example derives from the vendor's expected output.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS } from '../../devices/index.js';
import { ROOT, startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, publish } from '../helpers/mqtt.js';
import type { MqttClient } from 'mqtt';

interface CorpusEntry { vendor: string; model: string; fPort: number; bytes_hex: string; example_description: string }
const corpus = JSON.parse(readFileSync(join(ROOT, '../shared/corpus/ttn-examples.json'), 'utf8')) as CorpusEntry[];
const ttnSample = readFileSync(join(ROOT, '../shared/corpus/ttn-v3-uplink.json'), 'utf8');
const csSample = readFileSync(join(ROOT, '../shared/corpus/chirpstack-v4-uplink.json'), 'utf8');

let gw: TestGateway;
let ttn: MqttClient;
let cs: MqttClient;

beforeAll(async () => {
  gw = await startGateway();
  const t = (await gw.api('/api/v1/integrations', { method: 'POST', json: { id: 'ttn', type: 'ttn-v3' } })).body.credentials;
  const c = (await gw.api('/api/v1/integrations', { method: 'POST', json: { id: 'cs', type: 'chirpstack-v4' } })).body.credentials;
  ttn = await connect(gw.mqttPort, { username: t.username, password: t.password });
  cs = await connect(gw.mqttPort, { username: c.username, password: c.password });
});
afterAll(async () => {
  await ttn?.endAsync();
  await cs?.endAsync();
  await gw?.stop();
});

const cases = corpus.map((entry, i) => {
  const model = MODELS.find((m) => m.examples.some((e) => e.hex?.toUpperCase() === entry.bytes_hex.toUpperCase() && e.port === entry.fPort));
  const example = model?.examples.find((e) => e.hex?.toUpperCase() === entry.bytes_hex.toUpperCase() && e.port === entry.fPort);
  return { i, entry, model, example, label: `${entry.vendor} ${entry.model.split(' ')[0]} port ${entry.fPort} ${entry.example_description}` };
});

describe.each(['ttn-v3', 'chirpstack-v4'] as const)('corpus uplinks through %s envelopes', (format) => {
  it.each(cases.map((c) => [c.label, c] as const))('%s', async (_label, c) => {
    expect(c.model, 'no model has this corpus uplink as an example').toBeDefined();
    const { model, example, entry } = c;
    const eui = (format === 'ttn-v3' ? 'A0' : 'C0') + String(c.i).padStart(14, '0');
    const id = `${format === 'ttn-v3' ? 't' : 'c'}-${c.i}`;
    const created = await gw.api('/api/v1/devices', { method: 'POST', json: { id, model: model!.id, attributes: example!.attributes ?? {}, lorawan: { devEui: eui } } });
    expect(created.status).toBe(201);
    const receivedAt = '2026-03-01T04:05:06.000Z';
    const payload = Buffer.from(entry.bytes_hex, 'hex').toString('base64');
    if (format === 'ttn-v3') {
      const e = JSON.parse(ttnSample);
      e.end_device_ids.dev_eui = eui.toLowerCase();
      e.end_device_ids.device_id = id;
      e.uplink_message.f_port = entry.fPort;
      e.uplink_message.frm_payload = payload;
      e.uplink_message.received_at = receivedAt;
      await publish(ttn, `v3/estate@tenant/devices/${id}/up`, JSON.stringify(e));
    } else {
      const e = JSON.parse(csSample);
      e.deviceInfo.devEui = eui;
      e.fPort = entry.fPort;
      e.data = payload;
      e.time = receivedAt;
      await publish(cs, `application/estate/device/${eui}/event/up`, JSON.stringify(e));
    }
    const dead = await gw.api(`/api/v1/dead-letters?device=${id}`);
    expect(dead.body.items, JSON.stringify(dead.body.items)).toEqual([]);
    const latest = await gw.api(`/api/v1/devices/${id}/latest`);
    const got = latest.body.readings as Record<string, { value: unknown; ts: string }>;
    const expected: Record<string, { value: unknown; ts: string }> = {};
    for (const [metric, value] of Object.entries(example!.readings ?? {})) expected[metric] = { value, ts: receivedAt };
    // series: /latest holds the newest value of each metric
    for (const s of example!.series ?? []) {
      const cur = expected[s.metric];
      if (!cur || Date.parse(s.ts) >= Date.parse(cur.ts)) expected[s.metric] = { value: s.value, ts: new Date(Date.parse(s.ts)).toISOString() };
    }
    expected.rssi_dbm = { value: format === 'ttn-v3' ? -35 : -36, ts: receivedAt };
    expected.snr_db = { value: format === 'ttn-v3' ? 5 : 10.5, ts: receivedAt };
    const simplified = Object.fromEntries(Object.entries(got).map(([k, v]) => [k, { value: v.value, ts: v.ts }]));
    const close = Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, typeof v.value === 'number' ? { value: expect.closeTo(v.value, 6), ts: v.ts } : v]));
    expect(simplified).toEqual(close);
  });
});
