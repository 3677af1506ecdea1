/**
 * CONTRACT "Device credentials and access rules", driven with mosquitto_pub / mosquitto_sub
 * and MQTT.js over real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, granted, mosquitto, publish } from '../helpers/mqtt.js';

let gw: TestGateway;
let binSecret: string;
let meterSecret: string;

beforeAll(async () => {
  gw = await startGateway();
  const a = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'bin-001', model: 'generic.bin-fill', site: 'jiangnan/yuhua-garden/b3/u1' } });
  expect(a.status).toBe(201);
  binSecret = a.body.credentials.password;
  const b = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'meter-001', model: 'generic.water-meter' } });
  meterSecret = b.body.credentials.password;
});
afterAll(async () => gw?.stop());

const pub = (user: string, pass: string, topic: string, msg: string, extra: string[] = []) =>
  mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(gw.mqttPort), '-u', user, '-P', pass, '-q', '1', '-t', topic, '-m', msg, ...extra]);

const refusals = async (action: string) => {
  const text = await (await fetch(`${gw.http}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^gateway_auth_refusals_total\\{action="${action}",reason="[a-z_]+"\\} (\\d+)$`, 'gm'))].reduce((s, m) => s + Number(m[1]), 0);
};

describe('MQTT access rules', () => {
  it('accepts a device on its own topic and stores the reading (QoS 1)', async () => {
    const r = await pub('bin-001', binSecret, 'devices/bin-001/up', '{"fill_pct": 42}');
    expect(r.code).toBe(0);
    const latest = await gw.api('/api/v1/devices/bin-001/latest');
    expect(latest.body.readings.fill_pct.value).toBe(42);
  });

  it('refuses a wrong password at CONNECT (return code 4)', async () => {
    const before = await refusals('connect');
    const r = await pub('bin-001', 'not-the-secret', 'devices/bin-001/up', '{"fill_pct": 1}');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/bad user name or password|not authori[sz]ed/i);
    expect(await refusals('connect')).toBe(before + 1);
  });

  it('refuses an unknown device id and a missing password', async () => {
    expect((await pub('ghost', binSecret, 'devices/ghost/up', '{}')).code).not.toBe(0);
    const r = await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(gw.mqttPort), '-q', '1', '-t', 'devices/bin-001/up', '-m', '{}']);
    expect(r.code).not.toBe(0);
  });

  it('stores nothing when a device publishes to another device\'s topic, and counts it', async () => {
    const before = await refusals('publish');
    const r = await pub('bin-001', binSecret, 'devices/meter-001/up', '{"water_volume_m3": 999}');
    // MQTT 3.1.1 has no negative PUBACK: acknowledged and dropped [MQTT-3.3.5-2]
    expect(r.code).toBe(0);
    expect(await refusals('publish')).toBe(before + 1);
    const latest = await gw.api('/api/v1/devices/meter-001/latest');
    expect(latest.body.readings).toEqual({});
    const dead = await gw.api('/api/v1/dead-letters');
    expect(dead.body.items.filter((d: { topic: string }) => d.topic.includes('meter-001'))).toEqual([]);
  });

  it('refuses publishes to topics outside devices/{id}/up and a spoofed alert never reaches subscribers', async () => {
    const key = await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'crew-sub', role: 'crew' } });
    const sub = await connect(gw.mqttPort, { username: 'apikey', password: key.body.token });
    const got: string[] = [];
    sub.on('message', (t) => got.push(t));
    await sub.subscribeAsync('alerts/#', { qos: 0 });
    expect((await pub('bin-001', binSecret, 'alerts/x/bin-001', '{"fake":true}')).code).toBe(0);
    expect((await pub('bin-001', binSecret, 'devices/bin-001/down/cmd', 'x')).code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual([]);
    await sub.endAsync();
  });

  it('acknowledges uplinks and dropped publishes without routing them (no client may subscribe to them), and still routes its own', async () => {
    // an in-process subscription to everything, past the ACL: what aedes routes
    const routed: string[] = [];
    const all = (packet: { topic: string }, cb: () => void) => { routed.push(packet.topic); cb(); };
    const aedes = gw.gateway.broker.aedes;
    await new Promise<void>((r) => aedes.subscribe('#', all, () => r()));
    try {
      expect((await pub('bin-001', binSecret, 'devices/bin-001/up', '{"fill_pct": 43}')).code).toBe(0);
      expect((await pub('bin-001', binSecret, 'devices/meter-001/up', '{"water_volume_m3": 1}')).code).toBe(0);
      expect((await gw.api('/api/v1/devices/bin-001/latest')).body.readings.fill_pct.value).toBe(43);
      // the gateway's own publishes (retained status, telemetry, alerts) still go out
      gw.gateway.broker.publish('alerts/test/bin-001', '{}');
      await eventually(() => routed.includes('alerts/test/bin-001'));
      expect(routed.filter((t) => t.startsWith('devices/') && t.endsWith('/up') || t.startsWith('$gateway/refused'))).toEqual([]);
    } finally {
      await new Promise<void>((r) => aedes.unsubscribe('#', all, () => r()));
    }
  });

  it('lets a device subscribe only to its own downlink topics (SUBACK 0x80 otherwise)', async () => {
    const before = await refusals('subscribe');
    const c = await connect(gw.mqttPort, { username: 'bin-001', password: binSecret });
    expect(await granted(c, 'devices/bin-001/down/#', 1)).toBe(1);
    for (const filter of ['devices/meter-001/down/#', 'devices/+/down/#', '#', 'alerts/#', 'telemetry/#', '$SYS/#']) {
      expect(await granted(c, filter, 1), filter).toBe(128);
    }
    expect(await refusals('subscribe')).toBe(before + 6);
    await c.endAsync();
  });

  it('lets consumers subscribe by role and never publish', async () => {
    const crew = await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'crew-1', role: 'crew' } });
    const integ = await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'integrator-1', role: 'integrator' } });
    const c = await connect(gw.mqttPort, { username: 'apikey', password: crew.body.token });
    expect(await granted(c, 'alerts/#', 0)).toBe(0);
    expect(await granted(c, 'telemetry/#', 0)).toBe(128);
    await c.endAsync();

    const i = await connect(gw.mqttPort, { username: 'apikey', password: integ.body.token });
    expect(await granted(i, 'telemetry/#', 1)).toBe(1);
    const seen: Array<{ topic: string; body: any }> = [];
    i.on('message', (topic, payload) => seen.push({ topic, body: JSON.parse(payload.toString()) }));
    expect((await pub('bin-001', binSecret, 'devices/bin-001/up', '{"fill_pct": 43}')).code).toBe(0);
    const msg = await eventually(() => seen.find((s) => s.topic === 'telemetry/bin-001'));
    expect(msg.body).toMatchObject({ deviceId: 'bin-001', readings: [{ metric: 'fill_pct', value: 43, unit: '%' }] });
    // a consumer's publish is refused, counted, and stores nothing
    const refusedBefore = await refusals('publish');
    await publish(i, 'devices/bin-001/up', '{"fill_pct": 99}');
    expect(await refusals('publish')).toBe(refusedBefore + 1);
    await i.endAsync();
    // its telemetry filter left with it: nobody can receive telemetry/ and it is not built
    await eventually(() => !gw.gateway.broker.hasTelemetrySubscribers, 3000, 10);
    const latest = await gw.api('/api/v1/devices/bin-001/latest');
    expect(latest.body.readings.fill_pct.value).toBe(43);

    const wrong = await mosquitto('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(gw.mqttPort), '-u', 'apikey', '-P', 'nope', '-t', 'alerts/#', '-C', '1', '-W', '3']);
    expect(wrong.code).not.toBe(0);
  });

  it('stops accepting the old secret at once after rotation', async () => {
    const rot = await gw.api('/api/v1/devices/meter-001/credentials', { method: 'POST' });
    expect(rot.status).toBe(200);
    const fresh = rot.body.credentials.password;
    expect(fresh).not.toBe(meterSecret);
    expect((await pub('meter-001', meterSecret, 'devices/meter-001/up', '{"water_volume_m3": 1}')).code).not.toBe(0);
    expect((await pub('meter-001', fresh, 'devices/meter-001/up/2', '{"water_volume_m3": 1.5}')).code).toBe(0);
    const latest = await gw.api('/api/v1/devices/meter-001/latest');
    expect(latest.body.readings.water_volume_m3.value).toBe(1.5);
  });
});
