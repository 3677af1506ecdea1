/**
 * Field connectors against a Modbus peer nobody here wrote: Debian's pymodbus 3.0 slave,
 * over Modbus TCP and with RTU frames through the TCP socket (a transparent DTU).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startModbusSlave, type ModbusSlave } from '../helpers/modbus-slave.js';
import { encodeRegister, RegisterSchema } from '../../devices/lib/modbus.js';
import { startModbusSlave as startSimSlave, type ModbusUnit } from '../../simulators/wired.js';
import { freePort } from '../helpers/gateway.js';

const POLL_S = 1;
/** the alert list, v1 (`alerts`) or v2 (`items`) shape */
const alertsOf = (body: any): any[] => body?.items ?? body?.alerts ?? [];

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
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

const turbidity = encodeRegister(RegisterSchema.parse({ metric: 'turbidity_ntu', address: 1, type: 'float32' }), 0.35);
const WQ_REGISTERS = [
  { metric: 'ph', address: 0, scale: 0.01 },
  { metric: 'turbidity_ntu', address: 1, type: 'float32' },
  { metric: 'free_chlorine_mg_l', address: 3, scale: 0.01 },
  { metric: 'temperature_c', address: 0, function: 'input', type: 'int16', scale: 0.1 },
];

describe('modbus-tcp connector with a pymodbus slave', () => {
  let slave: ModbusSlave;
  let gw: TestGateway;
  let createdAt = 0;

  beforeAll(async () => {
    slave = await startModbusSlave({
      1: { holding: [721, ...turbidity, 42], input: [0xfff1] }, // pH 7.21, 0.35 NTU, 0.42 mg/l, -1.5 °C
      2: { holding: [1, 2] }, // reading 0..3 is past its registers: exception 0x02
      3: { holding: [2150, 705] }, // SenseCAP S-PH-01: 21.50 °C, pH 7.05
    });
    gw = await startGateway({ config: { connectors: [{ name: 'tank-room', type: 'modbus-tcp', host: '127.0.0.1', port: slave.port, pollS: POLL_S, timeoutMs: 500, reconnectMaxMs: 1000 }] } });
    createdAt = Date.now();
    for (const body of [
      { id: 'wq-1', model: 'generic.modbus-water-quality', site: 'jiangnan/yuhua/b1', attributes: { connector: 'tank-room', unitId: 1, registers: WQ_REGISTERS } },
      { id: 'wq-bad', model: 'generic.modbus-water-quality', site: 'jiangnan/yuhua/b1', attributes: { connector: 'tank-room', unitId: 2, registers: WQ_REGISTERS.slice(0, 3) } },
      { id: 'sph-3', model: 'sensecap.s-ph-01', site: 'jiangnan/yuhua/b1', attributes: { connector: 'tank-room', unitId: 3 } },
    ]) expect((await gw.api('/api/v1/devices', { method: 'POST', json: body })).status).toBe(201);
  });
  afterAll(async () => {
    await gw?.stop();
    await slave?.close();
  });

  it('registers appear as readings within two poll intervals', async () => {
    const latest = await until('wq-1 readings', async () => {
      const r = await gw.api('/api/v1/devices/wq-1/latest');
      return r.body?.readings?.ph ? r.body.readings : undefined;
    });
    const ms = Date.now() - createdAt;
    expect(latest.ph.value).toBe(7.21);
    expect(latest.turbidity_ntu.value).toBe(0.35);
    expect(latest.free_chlorine_mg_l.value).toBe(0.42);
    expect(latest.temperature_c.value).toBe(-1.5);
    expect(ms).toBeLessThanOrEqual(2 * POLL_S * 1000 + 500);
    const sph = await until('sph-3 readings', async () => (await gw.api('/api/v1/devices/sph-3/latest')).body?.readings?.ph);
    expect(sph.value).toBe(7.05);
  });

  it('a Modbus exception on one unit is reported for that device and does not stop the others', async () => {
    const c = await until('wq-bad error', async () => {
      const r = await gw.api('/api/v1/connectors');
      const item = r.body.items.find((i: any) => i.name === 'tank-room');
      return item?.devices.find((d: any) => d.id === 'wq-bad')?.lastError ? r.body : undefined;
    });
    expect(c.next).toBeNull();
    const item = c.items[0];
    expect(item).toMatchObject({ name: 'tank-room', type: 'modbus-tcp', status: 'connected' });
    expect(Date.parse(item.lastPollAt)).toBeGreaterThan(createdAt);
    const byId = Object.fromEntries(item.devices.map((d: any) => [d.id, d]));
    expect(byId['wq-bad'].lastError).toMatch(/exception 0x02 \(illegal data address\) from unit 2/);
    expect(byId['wq-bad'].lastOkAt).toBeNull();
    expect(byId['wq-1'].lastError).toBeNull();
    expect(byId['sph-3'].lastError).toBeNull();
    // the others keep being polled after the exception
    const before = Date.parse(byId['wq-1'].lastOkAt);
    await until('another good poll of wq-1', async () => {
      const r = await gw.api('/api/v1/connectors');
      const d = r.body.items[0].devices.find((x: any) => x.id === 'wq-1');
      return Date.parse(d.lastOkAt) > before;
    });
    const metrics = await (await fetch(`${gw.http}/metrics`)).text();
    expect(metrics).toMatch(/gateway_connector_poll_failures_total\{connector="tank-room",reason="exception"\} [1-9]/);
    expect(metrics).toMatch(/gateway_connector_polls_total\{connector="tank-room"\} [1-9]/);
    expect(metrics).toMatch(/gateway_connector_poll_seconds_count\{connector="tank-room"\} [1-9]/);
  });

  it('a changed pH register opens ph_out_of_range', async () => {
    await slave.set(1, 'holding', 0, [950]);
    const alert = await until('ph alert', async () => {
      const r = await gw.api('/api/v1/alerts?rule=ph_out_of_range&device=wq-1');
      return alertsOf(r.body)[0];
    });
    expect(alert).toMatchObject({ rule: 'ph_out_of_range', deviceId: 'wq-1', status: 'open', metric: 'ph', value: 9.5 });
  });

  it('a stopped slave shows the error, the device goes offline by the usual rule, and a restarted slave resumes', async () => {
    await until('wq-1 online', async () => (await gw.api('/api/v1/devices/wq-1')).body.online === true);
    await slave.stop();
    const c = await until('link error', async () => {
      const r = await gw.api('/api/v1/connectors');
      const d = r.body.items[0].devices.find((x: any) => x.id === 'wq-1');
      return r.body.items[0].status !== 'connected' && d.lastError ? r.body.items[0] : undefined;
    });
    expect(c.devices.find((x: any) => x.id === 'wq-1').lastError).toMatch(/not connected to 127\.0\.0\.1:\d+|connection to .* lost|ECONNREFUSED/);
    // offline after 3 x pollS without an answer (+ the 1 s sweep)
    const offlineDevice = await until('wq-1 offline', async () => {
      const d = (await gw.api('/api/v1/devices/wq-1')).body;
      return d.online === false ? d : undefined;
    }, 10_000);
    // the usual rule: no message for 3 x the interval, here the poll interval
    expect(Date.now() - Date.parse(offlineDevice.lastSeen)).toBeGreaterThanOrEqual(3 * POLL_S * 1000);
    const offline = await until('device_offline alert', async () => alertsOf((await gw.api('/api/v1/alerts?rule=device_offline&device=wq-1')).body)[0]);
    expect(offline.status).toBe('open');

    await slave.start();
    const restartedAt = Date.now();
    await until('wq-1 online again', async () => (await gw.api('/api/v1/devices/wq-1')).body.online === true, 10_000);
    const latest = (await gw.api('/api/v1/devices/wq-1/latest')).body.readings;
    expect(Date.parse(latest.ph.ts)).toBeGreaterThanOrEqual(restartedAt - 50);
    const after = await gw.api('/api/v1/connectors');
    expect(after.body.items[0].status).toBe('connected');
    expect(after.body.items[0].devices.find((x: any) => x.id === 'wq-1').lastError).toBeNull();
  }, 40_000);
});

describe('modbus-rtu-tcp connector: RTU frames through a TCP socket (pymodbus ModbusRtuFramer)', () => {
  let slave: ModbusSlave;
  let gw: TestGateway;
  beforeAll(async () => {
    // Remond turbidity: float32 at 0x0001-0x0002, low word first
    const tu = encodeRegister(RegisterSchema.parse({ metric: 'turbidity_ntu', address: 1, type: 'float32', wordOrder: 'little' }), 12.75);
    slave = await startModbusSlave({ 7: { holding: [0, ...tu] }, 8: { holding: [2150, 705] } }, 'rtu');
    gw = await startGateway({ config: { connectors: [{ name: 'dtu-1', type: 'modbus-rtu-tcp', host: '127.0.0.1', port: slave.port, pollS: POLL_S, timeoutMs: 500 }] } });
    await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'tu-7', model: 'remond.turbidity-rs485', attributes: { connector: 'dtu-1', unitId: 7 } } });
    await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'ph-8', model: 'sensecap.s-ph-01', attributes: { connector: 'dtu-1', unitId: 8 } } });
    await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'ph-9', model: 'sensecap.s-ph-01', attributes: { connector: 'dtu-1', unitId: 9 } } });
  });
  afterAll(async () => {
    await gw?.stop();
    await slave?.close();
  });

  it('reads both units on one bus; an absent unit times out without stopping the others', async () => {
    const tu = await until('tu-7', async () => (await gw.api('/api/v1/devices/tu-7/latest')).body?.readings?.turbidity_ntu);
    expect(tu.value).toBe(12.75);
    const ph = await until('ph-8', async () => (await gw.api('/api/v1/devices/ph-8/latest')).body?.readings?.ph);
    expect(ph.value).toBe(7.05);
    // pymodbus answers an unknown unit with 0x0B (gateway target failed to respond)
    const c = await until('ph-9 error', async () => (await gw.api('/api/v1/connectors')).body.items[0].devices.find((d: any) => d.id === 'ph-9')?.lastError);
    expect(c).toMatch(/exception 0x0b|no answer/);
    const turbidityAlert = await until('turbidity alert', async () => alertsOf((await gw.api('/api/v1/alerts?rule=turbidity_high&device=tu-7')).body)[0]);
    expect(turbidityAlert.value).toBe(12.75);
  });
});

describe('modbus-tcp connector with modbus-serial\'s server (the simulator\'s slave)', () => {
  let gw: TestGateway;
  let sim: { close(): Promise<void> };
  const units = new Map<number, ModbusUnit>([
    [1, { registers: [RegisterSchema.parse({ metric: 'ph', address: 0, scale: 0.01 })], values: { ph: 7.4 } }],
    [4, { registers: [RegisterSchema.parse({ metric: 'ph', address: 0, scale: 0.01 })], values: { ph: 7.4 }, exception: 0x04 }],
  ]);
  beforeAll(async () => {
    const port = await freePort();
    sim = await startSimSlave(units, port);
    gw = await startGateway({ config: { connectors: [{ name: 'pump-room', type: 'modbus-tcp', host: '127.0.0.1', port, pollS: POLL_S, timeoutMs: 500 }] } });
    for (const unitId of [1, 4]) {
      await gw.api('/api/v1/devices', { method: 'POST', json: { id: `p-${unitId}`, model: 'generic.modbus-water-quality', attributes: { connector: 'pump-room', unitId, registers: [{ metric: 'ph', address: 0, scale: 0.01 }] } } });
    }
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.close();
  });

  it('a device failure (0x04) is that device\'s error; its neighbour reads on', async () => {
    const err = await until('p-4 error', async () => (await gw.api('/api/v1/connectors')).body.items[0].devices.find((d: any) => d.id === 'p-4')?.lastError);
    expect(err).toMatch(/exception 0x04 \(server device failure\) from unit 4/);
    const ph = await until('p-1', async () => (await gw.api('/api/v1/devices/p-1/latest')).body?.readings?.ph);
    expect(ph.value).toBe(7.4);
    units.get(1)!.values.ph = 6.2;
    const alert = await until('ph alert', async () => alertsOf((await gw.api('/api/v1/alerts?rule=ph_out_of_range&device=p-1')).body)[0]);
    expect(alert.value).toBe(6.2);
  });
});
