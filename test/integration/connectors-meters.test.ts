/**
 * DL/T 645-2007 and CJ/T 188-2004 meters behind simulated DTUs (simulators/wired.ts), polled
 * by dlt645-tcp / cjt188-tcp connectors: good answers become readings; a bad checksum or an
 * answer from another meter is a dead letter with the model's reason; a silent meter is a
 * failed poll; a meter that omits the wake-up preamble is still read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, freePort, type TestGateway } from '../helpers/gateway.js';
import { startCjt188Dtu, startDlt645Dtu, type MeterFault, type SimMeter } from '../../simulators/wired.js';

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) { last = err; }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
}

const elec = (fault: MeterFault): SimMeter => ({ fault, values: { energy_import_kwh: 12345.67, energy_import_t1_kwh: 4000.01, energy_import_t2_kwh: 5000.02, energy_import_t3_kwh: 3345.64, energy_import_t4_kwh: 0, voltage_v: 229.8, current_a: 5.123, power_w: 1175.2 } });
const water = (fault: MeterFault): SimMeter => ({ fault, values: { water_volume_m3: 1234.56, water_volume_settlement_m3: 1200.5, valve_open: true, battery_low: false } });

describe('DL/T 645 and CJ/T 188 meters through simulated DTUs', () => {
  let gw: TestGateway;
  let dlt: { close(): Promise<void> };
  let cjt: { close(): Promise<void> };

  beforeAll(async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    dlt = await startDlt645Dtu(new Map([
      ['000000000001', elec('none')], ['000000000002', elec('checksum')], ['000000000003', elec('address')],
      ['000000000004', elec('no-preamble')], ['000000000005', elec('silent')], ['000000000006', elec('error')],
    ]), p1);
    cjt = await startCjt188Dtu(new Map([['00000000000001', water('none')], ['00000000000002', water('checksum')], ['00000000000003', water('address')]]), p2);
    gw = await startGateway({ config: { connectors: [
      { name: 'elec-dtu', type: 'dlt645-tcp', host: '127.0.0.1', port: p1, pollS: 1, timeoutMs: 300 },
      { name: 'water-dtu', type: 'cjt188-tcp', host: '127.0.0.1', port: p2, pollS: 1, timeoutMs: 300 },
    ] } });
    for (let i = 1; i <= 6; i++) {
      expect((await gw.api('/api/v1/devices', { method: 'POST', json: { id: `em-${i}`, model: 'generic.dlt645-meter', attributes: { connector: 'elec-dtu', meterAddress: `00000000000${i}` } } })).status).toBe(201);
    }
    for (let i = 1; i <= 3; i++) {
      expect((await gw.api('/api/v1/devices', { method: 'POST', json: { id: `wm-${i}`, model: 'generic.cjt188-water-meter', attributes: { connector: 'water-dtu', meterAddress: `0000000000000${i}` } } })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await gw?.stop();
    await dlt?.close();
    await cjt?.close();
  });

  const deviceState = async (connector: string, id: string) => {
    const r = await gw.api('/api/v1/connectors');
    return r.body.items.find((c: any) => c.name === connector)?.devices.find((d: any) => d.id === id);
  };

  it('reads a DL/T 645 meter (with and without the preamble) into readings', async () => {
    for (const id of ['em-1', 'em-4']) {
      const r = await until(`${id} readings`, async () => {
        const l = (await gw.api(`/api/v1/devices/${id}/latest`)).body?.readings;
        return l?.power_w ? l : undefined;
      });
      expect(Object.fromEntries(Object.entries(r).map(([k, v]: [string, any]) => [k, v.value]))).toEqual({
        energy_import_kwh: 12345.67, energy_import_t1_kwh: 4000.01, energy_import_t2_kwh: 5000.02, energy_import_t3_kwh: 3345.64, energy_import_t4_kwh: 0,
        voltage_v: 229.8, current_a: 5.123, power_w: 1175.2,
      });
      expect(r.power_w.unit).toBe('W');
    }
  });

  it('reads a CJ/T 188 water meter', async () => {
    const r = await until('wm-1 readings', async () => (await gw.api('/api/v1/devices/wm-1/latest')).body?.readings?.water_volume_m3 ? (await gw.api('/api/v1/devices/wm-1/latest')).body.readings : undefined);
    expect(r.water_volume_m3).toMatchObject({ value: 1234.56, unit: 'm3' });
    expect(r.water_volume_settlement_m3.value).toBe(1200.5);
    expect(r.valve_open.value).toBe(true);
    expect(r.battery_low.value).toBe(false);
  });

  it('dead-letters a bad checksum and an answer from another meter, with the reason, for both protocols', async () => {
    const cases = [
      ['elec-dtu', 'em-2', /DL\/T 645: checksum 0x[0-9a-f]{2} != computed/],
      ['elec-dtu', 'em-3', /DL\/T 645: answer from meter 000000000004, device is meter 000000000003/],
      ['elec-dtu', 'em-6', /DL\/T 645: meter 000000000006 answered abnormally \(0xd1\), error 0x02: no such data/],
      ['water-dtu', 'wm-2', /CJ\/T 188: checksum/],
      ['water-dtu', 'wm-3', /CJ\/T 188: answer from meter 00000000000004, device is meter 00000000000003/],
    ] as const;
    for (const [connector, id, reason] of cases) {
      const d = await until(`${id} error`, async () => (await deviceState(connector, id))?.lastError);
      expect(d, id).toMatch(new RegExp(`^dead letter: ${reason.source}`));
      const dl = await gw.api(`/api/v1/dead-letters?device=${id}`);
      const item = dl.body.items[0];
      expect(item.reason, id).toMatch(reason);
      expect(item.topic).toBe(`connectors/${connector}/${id}`);
      expect(item.clientId).toBe(`connector:${connector}`);
      // the frames as the meter sent them
      expect(Buffer.from(item.payloadBase64, 'base64').includes(0x68)).toBe(true);
      expect((await gw.api(`/api/v1/devices/${id}/latest`)).body.readings).toEqual({});
    }
  });

  it('lists connectors in pages for every role, and not without a token', async () => {
    const first = await gw.api('/api/v1/connectors?limit=1');
    expect(first.body.items.map((c: any) => c.name)).toEqual(['elec-dtu']);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await gw.api(`/api/v1/connectors?limit=1&cursor=${first.body.next}`);
    expect(second.body.items.map((c: any) => c.name)).toEqual(['water-dtu']);
    expect(second.body.next).toBeNull();
    expect(second.body.items[0].devices.map((d: any) => d.id)).toEqual(['wm-1', 'wm-2', 'wm-3']);
    const crew = await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'crew-1', role: 'crew' } });
    expect((await gw.api('/api/v1/connectors', { token: crew.body.token })).status).toBe(200);
    expect((await gw.api('/api/v1/connectors', { token: null })).status).toBe(401);
    expect((await gw.api('/api/v1/connectors?limit=0')).status).toBe(400);
  });

  it('a silent meter is a failed poll and the others on the bus go on', async () => {
    const err = await until('em-5 error', async () => (await deviceState('elec-dtu', 'em-5'))?.lastError);
    expect(err).toMatch(/no answer from 127\.0\.0\.1:\d+ within 300 ms/);
    const before = Date.parse((await deviceState('elec-dtu', 'em-1')).lastOkAt);
    await until('em-1 polled again', async () => Date.parse((await deviceState('elec-dtu', 'em-1')).lastOkAt) > before);
    const metrics = await (await fetch(`${gw.http}/metrics`)).text();
    expect(metrics).toMatch(/gateway_connector_poll_failures_total\{connector="elec-dtu",reason="timeout"\} [1-9]/);
    expect(metrics).toMatch(/gateway_connector_poll_failures_total\{connector="elec-dtu",reason="dead_letter"\} [1-9]/);
  });
});

describe('meter frames pushed over MQTT (a DTU in MQTT transparent mode) take the same decoder with the device attributes', () => {
  let gw: TestGateway;
  beforeAll(async () => { gw = await startGateway(); });
  afterAll(async () => gw?.stop());

  it('good and preamble frames are readings; bad checksum and another meter\'s frame are dead letters', async () => {
    const { connect, publish } = await import('../helpers/mqtt.js');
    const created = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'em-mqtt', model: 'generic.dlt645-meter', attributes: { meterAddress: '123456789012' } } });
    const client = await connect(gw.mqttPort, { username: 'em-mqtt', password: created.body.credentials.password });
    const frames = {
      good: '6812907856341268910633343435cb550d16', // 229.8 V
      preamble: 'fefefefe6812907856341268910733343535568433fc16', // 5.123 A
      badChecksum: '6812907856341268910633343435cb550e16',
      otherMeter: '6813907856341268910633343435cb550e16',
    };
    for (const hex of Object.values(frames)) await publish(client, 'devices/em-mqtt/up', Buffer.from(hex, 'hex'));
    client.end();
    const latest = (await gw.api('/api/v1/devices/em-mqtt/latest')).body.readings;
    expect(latest.voltage_v.value).toBe(229.8);
    expect(latest.current_a.value).toBe(5.123);
    const dead = (await gw.api('/api/v1/dead-letters?device=em-mqtt')).body.items.map((d: any) => d.reason).sort();
    expect(dead).toEqual(['DL/T 645: answer from meter 123456789013, device is meter 123456789012', 'DL/T 645: checksum 0x0e != computed 0x0d']);
  });
});

describe('meter frames through POST /api/v1/models/{id}/decode (no device, no attributes)', () => {
  let gw: TestGateway;
  beforeAll(async () => { gw = await startGateway(); });
  afterAll(async () => { await gw?.stop(); });
  const decode = (model: string, hex: string) => gw.api(`/api/v1/models/${model}/decode`, { method: 'POST', json: { hex, receivedAt: '2026-03-01T00:00:00Z' } });
  const values = (body: any) => Object.fromEntries(body.readings.map((r: any) => [r.metric, r.value]));

  it('DL/T 645: a good frame with and without the FE preamble decodes; a bad checksum and a request are 422 with the reason', async () => {
    const plain = await decode('generic.dlt645-meter', '68129078563412689118333234339a785634343373333533833397786633333333333616');
    expect(plain.status, plain.text).toBe(200);
    expect(values(plain.body)).toEqual({ energy_import_kwh: 12345.67, energy_import_t1_kwh: 4000.01, energy_import_t2_kwh: 5000.02, energy_import_t3_kwh: 3345.64, energy_import_t4_kwh: 0 });
    const pre = await decode('generic.dlt645-meter', 'fefefefe68129078563412689118333234339a785634343373333533833397786633333333333616');
    expect(values(pre.body)).toEqual(values(plain.body));
    const bad = await decode('generic.dlt645-meter', '6812907856341268910633343435cb550e16');
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ code: 'DECODE_FAILED', reason: expect.stringContaining('checksum 0x0e != computed 0x0d') });
    const req = await decode('generic.dlt645-meter', 'fefefefe68129078563412681104333234336716');
    expect(req.status).toBe(422);
    expect(req.body.reason).toContain('control code 0x11');
  });

  it('CJ/T 188: 901F with and without preamble decodes; a bad checksum is 422', async () => {
    const ok = await decode('generic.cjt188-water-meter', '68103412907856341281161f9000563412002c500012002c0000080101262000004e16');
    expect(ok.status, ok.text).toBe(200);
    expect(values(ok.body)).toEqual({ water_volume_m3: 1234.56, water_volume_settlement_m3: 1200.5, valve_open: true, valve_fault: false, battery_low: false });
    const pre = await decode('generic.cjt188-water-meter', 'fefefe68103412907856341281161f9000028800002c008000002c0000080101262005005f16');
    expect(values(pre.body)).toMatchObject({ water_volume_m3: 88.02, valve_open: false, battery_low: true });
    const bad = await decode('generic.cjt188-water-meter', '68103412907856341281161f9000563412002c500012002c0000080101262000004f16');
    expect(bad.status).toBe(422);
    expect(bad.body.reason).toContain('checksum');
  });
});
