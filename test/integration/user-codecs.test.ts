/**
 * Issue 12, parts 3 and 4, through a real gateway over real sockets: the decode endpoint
 * (CONTRACT v2 "Decoding without a device") and user codecs in the QuickJS sandbox:
 * hostile codecs fail as dead letters (422 through the endpoint) while the gateway stays
 * ready and another device's QoS 1 messages are all acknowledged and stored.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { ROOT, startGateway, tempDir, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';

let gw: TestGateway;
let crewToken: string;
const clients: MqttClient[] = [];

/** °F ×10 in bytes 0-1, distance in cm in byte 2, battery in mV in bytes 3-4, door flag in byte 5 */
const GOOD_DECODER = `
function decodeUplink(input) {
  var b = input.bytes;
  if (b.length < 6) return { data: {}, errors: ['frame too short: ' + b.length + ' bytes'] };
  return {
    data: {
      env: { tempF10: (b[0] << 8) | b[1] },
      distanceCm: b[2],
      battery: { mv: (b[3] << 8) | b[4] },
      lid: { open: b[5] === 1 },
      port: input.fPort,
      year: input.recvTime.getUTCFullYear(),
      label: 'not mapped',
    },
    warnings: [],
  };
}`;

const goodModel = (id: string, extra: Record<string, unknown> = {}) => ({
  id, vendor: 'Acme', name: 'Lid sensor LS-1', kind: 'bin_fill', format: 'binary', ports: [2], reportIntervalS: 600,
  decoder: GOOD_DECODER,
  mapping: [
    { path: 'env.tempF10', metric: 'temperature_c', scale: 0.1, unit: 'degF' },
    { path: 'distanceCm', metric: 'distance_mm', unit: 'cm' },
    { path: 'battery.mv', metric: 'battery_v', unit: 'mV' },
    { path: 'lid.open', metric: 'tilt' },
    { path: 'missing.field', metric: 'humidity_pct' },
  ],
  events: [{ type: 'tamper', path: 'lid.open', equals: true, data: { port: 'port' } }],
  ...extra,
});

/** a codec that maps `t` to temperature_c, with a hostile body */
const hostile = (id: string, body: string) => ({
  id, vendor: 'Mallory', name: id, kind: 'water_quality', format: 'binary', reportIntervalS: 600,
  decoder: `function decodeUplink(input) { ${body} }`,
  mapping: [{ path: 't', metric: 'temperature_c' }],
});

const HOSTILE: Record<string, { body: string; reason: RegExp }> = {
  'user.loop': { body: 'while (true) {}', reason: /time limit \(50 ms\)/ },
  'user.alloc': { body: 'var a = new ArrayBuffer(1024 * 1024 * 1024); return { data: { t: a.byteLength } };', reason: /memory limit \(16 MiB\)/ },
  'user.grow': { body: 'var a = []; for (;;) a.push(new Array(100000).fill(1.5)); ', reason: /memory limit|time limit/ },
  'user.recurse': { body: 'function f(n) { return f(n + 1) + 1; } return { data: { t: f(0) } };', reason: /stack limit/ },
  'user.require': { body: "var fs = require('fs'); fs.writeFileSync('/tmp/pwned', 'x'); return { data: { t: 1 } };", reason: /ReferenceError: 'require' is not defined/ },
  'user.process': { body: 'process.exit(1); return { data: { t: 1 } };', reason: /ReferenceError: 'process' is not defined/ },
  'user.globals': {
    // whatever the sandbox's global object offers, none of it reaches the host
    body: `var names = Object.getOwnPropertyNames(globalThis);
      var host = ['require', 'process', 'module', 'Buffer', 'fetch', 'setTimeout', 'setInterval', 'queueMicrotask', 'console', 'std', 'os', 'WebAssembly', 'importScripts', 'postMessage']
        .filter(function (n) { return typeof globalThis[n] !== 'undefined' || names.indexOf(n) >= 0; });
      var ctor = (function () {}).constructor('return typeof process')();
      throw new Error('host names: [' + host.join(',') + '] constructor sees process: ' + ctor);`,
    reason: /host names: \[\] constructor sees process: undefined/,
  },
  'user.nan': { body: 'return { data: { t: 0 / 0 } };', reason: /codec output t is NaN, not a finite number/ },
  'user.inf': { body: 'JSON.stringify = function () { return "{}"; }; return { data: { t: -1 / 0 } };', reason: /codec output t is -Infinity, not a finite number/ },
  'user.type': { body: "return { data: { t: '21.5' } };", reason: /t is "21.5": temperature_c needs a number/ },
  'user.errors': { body: "return { data: { t: 1 }, errors: ['unknown frame type 0x7f'] };", reason: /codec reported errors: unknown frame type 0x7f/ },
  'user.nodata': { body: 'return 42;', reason: /codec returned 42/ },
};

async function key(name: string, role: string): Promise<string> {
  const r = await gw.api('/api/v1/api-keys', { method: 'POST', json: { name, role } });
  expect(r.status, r.text).toBe(201);
  return r.body.token;
}

async function provision(id: string, model: string): Promise<MqttClient> {
  const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id, model, site: 'jiangnan/yuhua-garden/b3' } });
  expect(r.status, r.text).toBe(201);
  const c = await connect(gw.mqttPort, { username: id, password: r.body.credentials.password, clientId: id });
  clients.push(c);
  return c;
}

const deadLetters = async (deviceId: string) => ((await gw.api('/api/v1/dead-letters?limit=1000')).body.items as Array<{ deviceId?: string; reason: string }>).filter((d) => d.deviceId === deviceId);

beforeAll(async () => {
  gw = await startGateway();
  crewToken = await key('crew-codecs', 'crew');
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync()));
  await gw?.stop();
}, 60_000);

describe('POST /api/v1/models/{id}/decode', () => {
  it('decodes a built-in model as the pipeline stores it, for any role', async () => {
    const r = await gw.api('/api/v1/models/milesight.em310-udl/decode', { method: 'POST', token: crewToken, json: { fPort: 85, hex: '01755C03824408040001', receivedAt: '2026-03-01T08:00:00+08:00' } });
    expect(r.status, r.text).toBe(200);
    // no attributes: no binDepthMm, so no fill_pct (as for a device provisioned without it)
    expect(r.body).toEqual({
      readings: [
        { metric: 'battery_pct', value: 92, unit: '%EL', ts: '2026-03-01T00:00:00.000Z', quality: 'ok' },
        { metric: 'distance_mm', value: 2116, unit: 'mm', ts: '2026-03-01T00:00:00.000Z', quality: 'ok' },
        { metric: 'tilt', value: true, unit: null, ts: '2026-03-01T00:00:00.000Z', quality: 'ok' },
      ],
      events: [],
    });
    const b64 = await gw.api('/api/v1/models/milesight.em310-udl/decode', { method: 'POST', json: { fPort: 85, base64: Buffer.from('01755C03824408040001', 'hex').toString('base64'), receivedAt: Date.parse('2026-03-01T00:00:00Z') } });
    expect(b64.body).toEqual(r.body);
    const json = await gw.api('/api/v1/models/generic.water-quality/decode', { method: 'POST', json: { json: { ph: 7.2, temperature_c: 18.5 }, receivedAt: '2026-03-01T00:00:00Z' } });
    expect(json.status, json.text).toBe(200);
    expect(json.body.readings.map((x: { metric: string; value: number }) => [x.metric, x.value])).toEqual([['ph', 7.2], ['temperature_c', 18.5]]);
  });

  it('answers 422 DECODE_FAILED with the dead-letter reason', async () => {
    const r = await gw.api('/api/v1/models/milesight.em310-udl/decode', { method: 'POST', json: { fPort: 1, hex: '01755C' } });
    expect(r.status, r.text).toBe(422);
    expect(r.body.code).toBe('DECODE_FAILED');
    expect(r.body.reason).toContain('unknown FPort 1');
    expect(r.body.error).toContain(r.body.reason);
  });

  it('applies the pipeline\'s time policy: a reading dated 10 min after the receive time is refused as a device\'s would be', async () => {
    const r = await gw.api('/api/v1/models/generic.water-quality/decode', { method: 'POST', json: { json: { ts: '2026-03-01T00:10:00Z', ph: 7.2 }, receivedAt: '2026-03-01T00:00:00Z' } });
    expect(r.status, r.text).toBe(422);
    expect(r.body.reason).toMatch(/^clock_skew: ph ts 2026-03-01T00:10:00.000Z is more than 300 s ahead/);
    const ok = await gw.api('/api/v1/models/generic.water-quality/decode', { method: 'POST', json: { json: { ts: '2026-03-01T00:04:00Z', ph: 7.2 }, receivedAt: '2026-03-01T00:00:00Z' } });
    expect(ok.status, ok.text).toBe(200);
  });

  it('refuses a body without exactly one payload form, naming the field; 404 for an unknown model', async () => {
    const none = await gw.api('/api/v1/models/milesight.em310-udl/decode', { method: 'POST', json: { fPort: 85 } });
    expect(none.status).toBe(400);
    expect(none.body.details[0].field).toBe('body');
    const two = await gw.api('/api/v1/models/milesight.em310-udl/decode', { method: 'POST', json: { fPort: 85, hex: '01', base64: 'AQ==' } });
    expect(two.status).toBe(400);
    expect(two.body.details[0].field).toBe('body.base64');
    const badHex = await gw.api('/api/v1/models/milesight.em310-udl/decode', { method: 'POST', json: { hex: '0G' } });
    expect(badHex.status).toBe(400);
    expect(badHex.body.details[0].field).toBe('body.hex');
    const badTime = await gw.api('/api/v1/models/milesight.em310-udl/decode', { method: 'POST', json: { hex: '01', receivedAt: 'yesterday' } });
    expect(badTime.body.details[0].field).toBe('body.receivedAt');
    const unknownKey = await gw.api('/api/v1/models/milesight.em310-udl/decode', { method: 'POST', json: { hex: '01', port: 85 } });
    expect(unknownKey.status).toBe(400);
    expect((await gw.api('/api/v1/models/acme.nothing/decode', { method: 'POST', json: { hex: '01' } })).status).toBe(404);
    expect((await gw.api('/api/v1/models/milesight.em310-udl/decode', { method: 'POST', token: null, json: { hex: '01' } })).status).toBe(401);
  });

  it('is in the OpenAPI document with request and response schemas', async () => {
    const spec = (await gw.api('/openapi.json')).body;
    const op = spec.paths['/api/v1/models/{id}/decode'].post;
    expect(Object.keys(op.requestBody.content['application/json'].schema.properties).sort()).toEqual(['base64', 'fPort', 'hex', 'json', 'receivedAt']);
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '403', '404', '422', '429']);
    expect(op.responses['422'].content['application/json'].schema.properties.code.enum).toContain('DECODE_FAILED');
    expect(op.responses['422'].content['application/json'].schema.required).toContain('reason');
    expect(spec.paths['/api/v1/models'].post.requestBody.content['application/json'].schema.properties.decoder).toBeDefined();
  });
});

describe('user codecs', () => {
  it('maps fields with declared unit conversions, before and after a device uses the codec', async () => {
    const created = await gw.api('/api/v1/models', { method: 'POST', json: goodModel('user.acme-ls1') });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ id: 'user.acme-ls1', source: 'user', kind: 'bin_fill', ports: [2] });
    expect(created.body.metrics).toEqual([
      { metric: 'temperature_c', unit: 'Cel', type: 'number' }, { metric: 'distance_mm', unit: 'mm', type: 'number' },
      { metric: 'battery_v', unit: 'V', type: 'number' }, { metric: 'tilt', unit: null, type: 'boolean' }, { metric: 'humidity_pct', unit: '%RH', type: 'number' },
    ]);
    const listed = (await gw.api('/api/v1/models', { token: crewToken })).body;
    // {models} (v1) or the v2 list envelope {items, next}
    const list = (listed.items ?? listed.models) as Array<{ id: string; source: string }>;
    expect(list.find((m) => m.id === 'user.acme-ls1')?.source).toBe('user');
    expect(list.find((m) => m.id === 'milesight.em310-udl')?.source).toBe('builtin');

    // 77.0 °F = 25 °C; 42 cm; 3600 mV; lid open
    const frame = '0302' + '2A' + '0E10' + '01';
    const r = await gw.api('/api/v1/models/user.acme-ls1/decode', { method: 'POST', token: crewToken, json: { fPort: 2, hex: frame, receivedAt: '2026-05-01T00:00:00Z' } });
    expect(r.status, r.text).toBe(200);
    expect(r.body.readings).toEqual([
      { metric: 'temperature_c', value: 25, unit: 'Cel', ts: '2026-05-01T00:00:00.000Z', quality: 'ok' },
      { metric: 'distance_mm', value: 420, unit: 'mm', ts: '2026-05-01T00:00:00.000Z', quality: 'ok' },
      { metric: 'battery_v', value: 3.6, unit: 'V', ts: '2026-05-01T00:00:00.000Z', quality: 'ok' },
      { metric: 'tilt', value: true, unit: null, ts: '2026-05-01T00:00:00.000Z', quality: 'ok' },
    ]);
    expect(r.body.events).toEqual([{ type: 'tamper', ts: '2026-05-01T00:00:00.000Z', data: { port: 2 } }]);
    const short = await gw.api('/api/v1/models/user.acme-ls1/decode', { method: 'POST', json: { fPort: 2, hex: '0302' } });
    expect(short.status).toBe(422);
    expect(short.body.reason).toBe('codec reported errors: frame too short: 2 bytes');
    const port = await gw.api('/api/v1/models/user.acme-ls1/decode', { method: 'POST', json: { fPort: 3, hex: frame } });
    expect(port.body.reason).toMatch(/fPort 3 is not one of user.acme-ls1's ports/);

    const c = await provision('ls1-001', 'user.acme-ls1');
    await publish(c, 'devices/ls1-001/up/2', Buffer.from('0316' + '64' + '0D48' + '00', 'hex')); // 79.0 °F, 100 cm, 3400 mV, closed
    const latest = (await gw.api('/api/v1/devices/ls1-001/latest')).body.readings;
    expect(latest.temperature_c.value).toBeCloseTo(26.111111111, 6);
    expect(latest.distance_mm.value).toBe(1000);
    expect(latest.battery_v.value).toBe(3.4);
    expect(latest.tilt.value).toBe(false);
    expect((await gw.api('/api/v1/devices/ls1-001')).body.kind).toBe('bin_fill');
  });

  it('decodes a device of a user codec behind The Things Stack: envelope fPort, receive time, radio readings', async () => {
    const ttn = (await gw.api('/api/v1/integrations', { method: 'POST', json: { id: 'ttn-codecs', type: 'ttn-v3' } })).body.credentials;
    const dev = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'ls1-lora', model: 'user.acme-ls1', lorawan: { devEui: '70B3D57ED0000001' } } });
    expect(dev.status, dev.text).toBe(201);
    const e = JSON.parse(readFileSync(join(ROOT, '../shared/corpus/ttn-v3-uplink.json'), 'utf8'));
    e.end_device_ids = { device_id: 'ls1-lora', dev_eui: '70B3D57ED0000001' };
    e.uplink_message.frm_payload = Buffer.from('03022A0E1001', 'hex').toString('base64');
    e.uplink_message.f_port = 2;
    const c = await connect(gw.mqttPort, { username: ttn.username, password: ttn.password });
    clients.push(c);
    await publish(c, 'v3/app1@estate/devices/ls1-lora/up', JSON.stringify(e));
    const latest = (await gw.api('/api/v1/devices/ls1-lora/latest')).body.readings;
    expect(latest.temperature_c).toMatchObject({ value: 25, unit: 'Cel' });
    expect(latest.battery_v.value).toBe(3.6);
    expect(latest.rssi_dbm.value).toBe(-35);
    expect(latest.snr_db.value).toBe(5);
    // the network server's receive time is the reading time
    expect(Date.parse(latest.temperature_c.ts)).toBe(Date.parse(latest.rssi_dbm.ts));
    expect(latest.temperature_c.ts.slice(0, 16)).toBe('2020-02-12T15:15');
    // the envelope's fPort reaches the codec's port check
    e.uplink_message.f_port = 9;
    await publish(c, 'v3/app1@estate/devices/ls1-lora/up', JSON.stringify(e));
    expect((await deadLetters('ls1-lora')).map((d) => d.reason)).toEqual(["fPort 9 is not one of user.acme-ls1's ports (2)"]);
  });

  it('a json-format codec gets the parsed payload as input.json; a payload that is not JSON is a dead letter', async () => {
    const def = {
      id: 'user.acme-json', vendor: 'Acme', name: 'JSON meter', kind: 'water_meter', format: 'json', reportIntervalS: 600,
      decoder: 'function decodeUplink(input) { return { data: { v: input.json.reading.litres, n: input.bytes.length } }; }',
      mapping: [{ path: 'v', metric: 'water_volume_m3', unit: 'L' }, { path: 'n', metric: 'pulse_count' }],
    };
    expect((await gw.api('/api/v1/models', { method: 'POST', json: def })).status).toBe(201);
    const r = await gw.api('/api/v1/models/user.acme-json/decode', { method: 'POST', json: { json: { reading: { litres: 1234.5 } } } });
    expect(r.status, r.text).toBe(200);
    expect(r.body.readings.map((x: { metric: string; value: number }) => [x.metric, x.value])).toEqual([['water_volume_m3', 1.2345], ['pulse_count', 29]]);
    const bad = await gw.api('/api/v1/models/user.acme-json/decode', { method: 'POST', json: { hex: '7B7B' } });
    expect(bad.status).toBe(422);
    expect(bad.body.reason).toBe("payload is not JSON (the model's format is json)");
  });

  it('refuses ids that are not user.<name>, clashes, decoders that do not load, and unknown metrics or units', async () => {
    const builtinId = await gw.api('/api/v1/models', { method: 'POST', json: goodModel('milesight.em310-udl') });
    expect(builtinId.status).toBe(400);
    expect(builtinId.body.details[0].field).toBe('body.id');
    const clash = await gw.api('/api/v1/models', { method: 'POST', json: goodModel('user.acme-ls1') });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('MODEL_CONFLICT');
    const syntax = await gw.api('/api/v1/models', { method: 'POST', json: goodModel('user.broken', { decoder: 'function decodeUplink(input) { return {' }) });
    expect(syntax.status).toBe(400);
    expect(syntax.body.details[0].field).toBe('body.decoder');
    expect(syntax.body.error).toMatch(/SyntaxError/);
    const noFn = await gw.api('/api/v1/models', { method: 'POST', json: goodModel('user.nofn', { decoder: 'var decode = 1;' }) });
    expect(noFn.status).toBe(400);
    expect(noFn.body.error).toMatch(/decodeUplink is not a function/);
    const unit = await gw.api('/api/v1/models', { method: 'POST', json: goodModel('user.unit', { mapping: [{ path: 'a', metric: 'temperature_c', unit: 'parsec' }] }) });
    expect(unit.status).toBe(400);
    expect(unit.body.details[0].field).toBe('body.mapping.0.unit');
    const metric = await gw.api('/api/v1/models', { method: 'POST', json: goodModel('user.metric', { mapping: [{ path: 'a', metric: 'warp_factor' }] }) });
    expect(metric.body.details[0].field).toBe('body.mapping.0.metric');
    const crew = await gw.api('/api/v1/models', { method: 'POST', token: crewToken, json: goodModel('user.crew') });
    expect(crew.status).toBe(403);
    expect((await gw.api('/api/v1/models/user.broken')).status).toBe(404);
  });

  it('refuses to delete a model while devices use it, and a built-in model at all', async () => {
    const inUse = await gw.api('/api/v1/models/user.acme-ls1', { method: 'DELETE' });
    expect(inUse.status).toBe(409);
    expect(inUse.body.code).toBe('MODEL_IN_USE');
    expect(inUse.body.error).toContain('ls1-001');
    const builtin = await gw.api('/api/v1/models/milesight.em310-udl', { method: 'DELETE' });
    expect(builtin.status).toBe(409);
    expect(builtin.body.code).toBe('MODEL_BUILTIN');
    const spare = await gw.api('/api/v1/models', { method: 'POST', json: goodModel('user.spare') });
    expect(spare.status).toBe(201);
    expect((await gw.api('/api/v1/models/user.spare', { method: 'DELETE' })).status).toBe(204);
    expect((await gw.api('/api/v1/models/user.spare')).status).toBe(404);
    const dev = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'spare-1', model: 'user.spare' } });
    expect(dev.status).toBe(400);
  });

  it('PUT replaces the codec: the next message decodes with the new one', async () => {
    const def = goodModel('user.acme-ls1', { mapping: [{ path: 'distanceCm', metric: 'distance_mm', unit: 'cm', offset: 1 }] });
    const r = await gw.api('/api/v1/models/user.acme-ls1', { method: 'PUT', json: def });
    expect(r.status, r.text).toBe(200);
    expect(r.body.metrics.map((m: { metric: string }) => m.metric)).toEqual(['distance_mm']);
    const d = await gw.api('/api/v1/models/user.acme-ls1/decode', { method: 'POST', json: { fPort: 2, hex: '030201' + '0E1000' } });
    expect(d.body.readings.map((x: { metric: string; value: number }) => [x.metric, x.value])).toEqual([['distance_mm', 20]]);
    const kind = await gw.api('/api/v1/models/user.acme-ls1', { method: 'PUT', json: { ...def, kind: 'parking' } });
    expect(kind.status).toBe(409);
    expect(kind.body.details[0].field).toBe('body.kind');
    expect((await gw.api('/api/v1/models/user.acme-ls1', { method: 'PUT', json: goodModel('user.other') })).status).toBe(400);
    // back to the full mapping for the restart test
    expect((await gw.api('/api/v1/models/user.acme-ls1', { method: 'PUT', json: goodModel('user.acme-ls1') })).status).toBe(200);
  });

  it('hostile codecs fail as dead letters and 422s; the gateway stays ready and another device is unaffected', async () => {
    for (const [id, { body }] of Object.entries(HOSTILE)) {
      const r = await gw.api('/api/v1/models', { method: 'POST', json: hostile(id, body) });
      expect(r.status, `${id}: ${r.text}`).toBe(201);
    }
    // a bystander on a built-in model, publishing QoS 1 throughout
    const bystander = await provision('wq-bystander', 'generic.water-quality');
    const N = 60;
    const start = Date.parse('2026-04-01T00:00:00Z');
    const bystanding = (async () => {
      for (let i = 0; i < N; i++) await publish(bystander, 'devices/wq-bystander/up', JSON.stringify({ ts: start + i * 60_000, ph: 7 + (i % 10) / 100 }));
    })();
    const hostileRuns = Object.entries(HOSTILE).map(async ([id, { reason }], i) => {
      const dev = `mal-${i}`;
      const c = await provision(dev, id);
      for (let k = 0; k < 3; k++) await publish(c, `devices/${dev}/up`, Buffer.from([1, 2, 3, k]));
      const letters = await eventually(async () => { const l = await deadLetters(dev); return l.length === 3 && l; }, 30_000);
      for (const l of letters) expect(l.reason, id).toMatch(reason);
      const api = await gw.api(`/api/v1/models/${id}/decode`, { method: 'POST', json: { hex: '01020304' } });
      expect(api.status, `${id}: ${api.text}`).toBe(422);
      expect(api.body.reason, id).toMatch(reason);
      expect((await gw.api('/readyz')).status).toBe(200);
    });
    await Promise.all([bystanding, ...hostileRuns]);
    const points = (await gw.api(`/api/v1/telemetry?device=wq-bystander&metric=ph&from=${start}&to=${start + N * 60_000}`)).body.points;
    expect(points).toHaveLength(N);
    expect(points[N - 1].value).toBe(7.09);
    expect((await gw.api('/readyz')).status).toBe(200);
    const metrics = (await gw.api('/metrics', { token: null })).text;
    expect(Number(/^gateway_codec_restarts_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(4); // user.grow: 3 messages and a 422
    // failures inside the sandbox (the type, NaN, errors and no-data ones fail in the host's mapping)
    expect(Number(/^gateway_codec_failures_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(7 * 4);
    expect(metrics).toMatch(/^gateway_messages_dead_lettered_total\{model="user.loop"\} 3$/m);
    // the good codec still decodes, unharmed by all that ran before it in the same thread
    const good = await gw.api('/api/v1/models/user.acme-ls1/decode', { method: 'POST', json: { fPort: 2, hex: '03022A0E1001' } });
    expect(good.status).toBe(200);
    expect(good.body.readings[0]).toMatchObject({ metric: 'temperature_c', value: 25 });
  }, 120_000);

  it('prototype tampering stays inside one call and never reaches the host', async () => {
    const tamper = hostile('user.tamper', `
      var before = ({}).polluted;
      Object.prototype.polluted = 'yes';
      Object.prototype.t = 99;
      Array.prototype.push = function () { throw new Error('push hijacked'); };
      globalThis.leak = (globalThis.leak || 0) + 1;
      return { data: { t: before === undefined && globalThis.leak === 1 ? 20 : -273 } };`);
    expect((await gw.api('/api/v1/models', { method: 'POST', json: tamper })).status).toBe(201);
    // __proto__ in the codec's JSON output is an own key after JSON.parse, not the host's prototype
    const proto = hostile('user.proto', `return JSON.parse('{"data": {"__proto__": {"t": 55, "polluted": 1}, "constructor": {"prototype": {"t": 66}}}}');`);
    expect((await gw.api('/api/v1/models', { method: 'POST', json: proto })).status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const r = await gw.api('/api/v1/models/user.tamper/decode', { method: 'POST', json: { hex: '00' } });
      expect(r.status, r.text).toBe(200);
      expect(r.body.readings.map((x: { value: number }) => x.value)).toEqual([20]);
      const p = await gw.api('/api/v1/models/user.proto/decode', { method: 'POST', json: { hex: '00' } });
      expect(p.status, p.text).toBe(200);
      expect(p.body.readings).toEqual([]);
    }
    const c = await provision('tamper-1', 'user.tamper');
    for (let i = 0; i < 3; i++) await publish(c, 'devices/tamper-1/up', Buffer.from([i]));
    const latest = (await gw.api('/api/v1/devices/tamper-1/latest')).body.readings;
    expect(latest.temperature_c.value).toBe(20);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).t).toBeUndefined();
    expect(typeof [].push).toBe('function');
  });

  it('survives a restart: listed, decodable, and its devices keep decoding', async () => {
    const dataDir = tempDir();
    let g = await startGateway({ dataDir });
    try {
      expect((await g.api('/api/v1/models', { method: 'POST', json: goodModel('user.persist') })).status).toBe(201);
      const dev = await g.api('/api/v1/devices', { method: 'POST', json: { id: 'persist-1', model: 'user.persist' } });
      expect(dev.status).toBe(201);
      await g.stop();
      g = await startGateway({ dataDir });
      const m = await g.api('/api/v1/models/user.persist');
      expect(m.status).toBe(200);
      expect(m.body.codec.decoder).toBe(GOOD_DECODER);
      expect((await g.api('/api/v1/devices/persist-1')).body.kind).toBe('bin_fill');
      const c = await connect(g.mqttPort, { username: 'persist-1', password: dev.body.credentials.password });
      await publish(c, 'devices/persist-1/up/2', Buffer.from('03022A0E1001', 'hex'));
      await c.endAsync();
      const latest = (await g.api('/api/v1/devices/persist-1/latest')).body.readings;
      expect(latest.temperature_c.value).toBe(25);
      expect(latest.battery_v.value).toBe(3.6);
    } finally {
      await g.stop();
    }
  }, 60_000);
});
