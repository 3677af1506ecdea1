/**
 * `npm run simulate -- --wired <port>`: wired devices next to the MQTT fleet. Starts a
 * Modbus TCP slave on <port>, a DL/T 645 DTU on <port>+1 and a CJ/T 188 DTU on <port>+2,
 * provisions one device per model on them, and moves their values every second. The
 * gateway polls them once its config names the three connectors (printed at start).
 */
import { RegisterSchema } from '../devices/lib/modbus.js';
import { SIM_CJT188_ADDRESS, SIM_DLT645_ADDRESS, SIM_METER_REGISTERS, SIM_WATER_QUALITY_REGISTERS } from './encoders/wired.js';
import { startCjt188Dtu, startDlt645Dtu, startModbusSlave, type ModbusUnit, type SimMeter } from './wired.js';
import type { Fault } from './fleet.js';
import { mulberry32 } from './prng.js';

export interface WiredOptions {
  http: string;
  token: string;
  prefix: string;
  site: string;
  host: string;
  basePort: number;
  faults: Fault[];
  seed: number;
  log: (line: string) => void;
}

export function connectorConfig(o: Pick<WiredOptions, 'prefix' | 'host' | 'basePort'>): string {
  return [
    'connectors:',
    `  - { name: ${o.prefix}-modbus, type: modbus-tcp, host: ${o.host}, port: ${o.basePort}, pollS: 10 }`,
    `  - { name: ${o.prefix}-dlt645, type: dlt645-tcp, host: ${o.host}, port: ${o.basePort + 1}, pollS: 30 }`,
    `  - { name: ${o.prefix}-cjt188, type: cjt188-tcp, host: ${o.host}, port: ${o.basePort + 2}, pollS: 30 }`,
  ].join('\n');
}

export async function startWired(o: WiredOptions): Promise<{ stop(): Promise<void>; devices: number }> {
  const rnd = mulberry32(o.seed ^ 0x5eed);
  const regs = (list: unknown[]) => list.map((r) => RegisterSchema.parse(r));
  const units = new Map<number, ModbusUnit>([
    [1, { registers: regs(SIM_WATER_QUALITY_REGISTERS), values: { ph: 7.2, turbidity_ntu: 0.3, free_chlorine_mg_l: 0.4, temperature_c: 16, conductivity_us_cm: 420 } }],
    [2, { registers: regs([{ metric: 'temperature_c', address: 0, type: 'int16', scale: 0.01 }, { metric: 'ph', address: 1, type: 'int16', scale: 0.01 }]), values: { temperature_c: 16.5, ph: 7.3 } }],
    [3, { registers: regs(SIM_METER_REGISTERS), values: { voltage_v: 229, current_a: 3.2, power_w: 700, energy_import_kwh: 5021.3 } }],
  ]);
  const elec: SimMeter = { fault: 'none', values: { energy_import_kwh: 1000, energy_import_t1_kwh: 400, energy_import_t2_kwh: 600, energy_import_t3_kwh: 0, energy_import_t4_kwh: 0, voltage_v: 228.5, current_a: 2.1, power_w: 480 } };
  const water: SimMeter = { fault: 'none', values: { water_volume_m3: 321.5, water_volume_settlement_m3: 300, valve_open: true, battery_low: false } };
  const modbus = await startModbusSlave(units, o.basePort, o.host);
  const dlt = await startDlt645Dtu(new Map([[SIM_DLT645_ADDRESS, elec]]), o.basePort + 1, o.host);
  const cjt = await startCjt188Dtu(new Map([[SIM_CJT188_ADDRESS, water]]), o.basePort + 2, o.host);

  const c = (kind: string) => `${o.prefix}-${kind}`;
  const devices = [
    { id: `${o.prefix}-wired-wq-1`, model: 'generic.modbus-water-quality', site: o.site, attributes: { connector: c('modbus'), unitId: 1, registers: SIM_WATER_QUALITY_REGISTERS } },
    { id: `${o.prefix}-wired-ph-2`, model: 'sensecap.s-ph-01', site: o.site, attributes: { connector: c('modbus'), unitId: 2 } },
    { id: `${o.prefix}-wired-em-3`, model: 'generic.modbus-meter', site: o.site, attributes: { connector: c('modbus'), unitId: 3, registers: SIM_METER_REGISTERS } },
    { id: `${o.prefix}-wired-dlt645-1`, model: 'generic.dlt645-meter', site: o.site, attributes: { connector: c('dlt645'), meterAddress: SIM_DLT645_ADDRESS } },
    { id: `${o.prefix}-wired-cjt188-1`, model: 'generic.cjt188-water-meter', site: o.site, attributes: { connector: c('cjt188'), meterAddress: SIM_CJT188_ADDRESS } },
  ];
  const res = await fetch(`${o.http}/api/v1/devices/bulk`, { method: 'POST', headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' }, body: JSON.stringify(devices) });
  if (res.status >= 300) throw new Error(`POST /api/v1/devices/bulk: ${res.status} ${await res.text()}`);
  o.log(`wired: Modbus TCP slave on ${o.host}:${o.basePort}, DL/T 645 DTU on :${o.basePort + 1}, CJ/T 188 DTU on :${o.basePort + 2}; ${devices.length} devices provisioned. The gateway polls them with:\n${connectorConfig(o)}`);

  const phFault = o.faults.includes('ph');
  const timer = setInterval(() => {
    const wq = units.get(1)!.values;
    wq.ph = phFault && rnd() < 0.05 ? 9.3 : Math.round(Math.min(8.2, Math.max(6.9, (wq.ph as number) + (rnd() - 0.5) * 0.06)) * 100) / 100;
    wq.turbidity_ntu = Math.round(Math.min(0.7, Math.max(0.05, (wq.turbidity_ntu as number) + (rnd() - 0.5) * 0.04)) * 100) / 100;
    const em = units.get(3)!.values;
    em.power_w = Math.round(400 + rnd() * 800);
    em.energy_import_kwh = Math.round(((em.energy_import_kwh as number) + (em.power_w as number) / 3.6e6) * 100) / 100;
    const kw = 0.2 + rnd() * 1.5;
    elec.values.power_w = Math.round(kw * 10000) / 10;
    elec.values.energy_import_kwh = Math.round(((elec.values.energy_import_kwh as number) + kw / 3600) * 100) / 100;
    elec.values.energy_import_t1_kwh = Math.round(((elec.values.energy_import_kwh as number) * 0.4) * 100) / 100;
    water.values.water_volume_m3 = Math.round(((water.values.water_volume_m3 as number) + rnd() * 0.002) * 100) / 100;
  }, 1000);
  timer.unref();
  return {
    devices: devices.length,
    stop: async () => {
      clearInterval(timer);
      await Promise.all([modbus.close(), dlt.close(), cjt.close()]);
    },
  };
}
