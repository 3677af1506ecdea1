/**
 * Encoders for the wired models (polled through src/connectors): what one poll's answer
 * looks like, from the protocols' layouts (devices/lib/modbus.ts register image, the
 * DL/T 645-2007 and CJ/T 188-2004 answer frames). The DTU and Modbus simulators answer
 * with these; the round-trip test decodes them back.
 */
import type { EncoderMap, SimValues } from './types.js';
import { RegisterSchema, encodeImage, encodeRegister, planReads, type Register } from '../../devices/lib/modbus.js';
import { dlt645ReadAnswer } from '../../devices/lib/dlt645.js';
import { cjt188ReadAnswer } from '../../devices/lib/cjt188.js';

/** The register image a slave with these values answers to a poll of this map. */
export function registerImage(registers: readonly Register[], values: SimValues): Buffer {
  const words = new Map<string, number>();
  for (const r of registers) encodeRegister(r, values[r.metric] as number).forEach((w, i) => words.set(`${r.function}:${r.address + i}`, w));
  return encodeImage(planReads(registers).map((block) => {
    const data = Buffer.alloc(block.count * 2);
    for (let i = 0; i < block.count; i++) data.writeUInt16BE(words.get(`${block.function}:${block.start + i}`) ?? 0, 2 * i);
    return { block, data };
  }));
}

const regs = (list: unknown[]) => list.map((r) => RegisterSchema.parse(r));

/** register maps the simulators give their generic Modbus devices */
export const SIM_WATER_QUALITY_REGISTERS = [
  { metric: 'ph', address: 0, scale: 0.01 },
  { metric: 'turbidity_ntu', address: 1, scale: 0.01 },
  { metric: 'free_chlorine_mg_l', address: 2, scale: 0.01 },
  { metric: 'temperature_c', address: 3, type: 'int16', scale: 0.1 },
  { metric: 'conductivity_us_cm', address: 10, function: 'input', type: 'float32' },
];
export const SIM_METER_REGISTERS = [
  { metric: 'voltage_v', address: 0, scale: 0.1 },
  { metric: 'current_a', address: 1, scale: 0.01 },
  { metric: 'power_w', address: 2, type: 'int32' },
  { metric: 'energy_import_kwh', address: 0x100, type: 'uint32', scale: 0.01, wordOrder: 'little' },
];

export const SIM_DLT645_ADDRESS = '000000000001';
export const SIM_CJT188_ADDRESS = '00000000000001';

const wq = regs(SIM_WATER_QUALITY_REGISTERS);
const meter = regs(SIM_METER_REGISTERS);
const sph = regs([{ metric: 'temperature_c', address: 0, type: 'int16', scale: 0.01 }, { metric: 'ph', address: 1, type: 'int16', scale: 0.01 }]);
const remond = regs([{ metric: 'turbidity_ntu', address: 1, type: 'float32', wordOrder: 'little' }]);
const n = (v: SimValues, k: string) => v[k] as number;

/** The answers of one DL/T 645 poll of a single-phase meter (dlt645Reads(1)), concatenated. */
export function dlt645PollAnswer(address: string, v: SimValues, preamble = true): Buffer {
  return Buffer.concat([
    dlt645ReadAnswer(address, 0x0001ff00, [n(v, 'energy_import_kwh'), n(v, 'energy_import_t1_kwh'), n(v, 'energy_import_t2_kwh'), n(v, 'energy_import_t3_kwh'), n(v, 'energy_import_t4_kwh')], preamble),
    dlt645ReadAnswer(address, 0x02010100, [n(v, 'voltage_v')], preamble),
    dlt645ReadAnswer(address, 0x02020100, [n(v, 'current_a')], preamble),
    dlt645ReadAnswer(address, 0x02030000, [n(v, 'power_w')], preamble),
  ]);
}

const energy = { min: 0, max: 999_999.99, step: 0.01 };

export const wiredEncoders: EncoderMap = {
  'generic.modbus-water-quality': {
    attributes: { registers: SIM_WATER_QUALITY_REGISTERS },
    metrics: { ph: { min: 0, max: 14, step: 0.01 }, turbidity_ntu: { min: 0, max: 100, step: 0.01 }, free_chlorine_mg_l: { min: 0, max: 5, step: 0.01 }, temperature_c: { min: -20, max: 60, step: 0.1 }, conductivity_us_cm: { min: 0, max: 5000, step: 0.5 } },
    encode: (v) => ({ port: 0, payload: registerImage(wq, v) }),
  },
  'generic.modbus-meter': {
    attributes: { registers: SIM_METER_REGISTERS },
    metrics: { voltage_v: { min: 0, max: 450, step: 0.1 }, current_a: { min: 0, max: 100, step: 0.01 }, power_w: { min: -50_000, max: 50_000, step: 1 }, energy_import_kwh: { min: 0, max: 40_000_000, step: 0.01 } },
    encode: (v) => ({ port: 0, payload: registerImage(meter, v) }),
  },
  'sensecap.s-ph-01': {
    metrics: { ph: { min: 0, max: 14, step: 0.01 }, temperature_c: { min: -40, max: 80, step: 0.01 } },
    encode: (v) => ({ port: 0, payload: registerImage(sph, v) }),
  },
  'remond.turbidity-rs485': {
    metrics: { turbidity_ntu: { min: 0, max: 4000, step: 0.25 } },
    encode: (v) => ({ port: 0, payload: registerImage(remond, v) }),
  },
  'generic.dlt645-meter': {
    attributes: { meterAddress: SIM_DLT645_ADDRESS },
    metrics: {
      energy_import_kwh: energy, energy_import_t1_kwh: energy, energy_import_t2_kwh: energy, energy_import_t3_kwh: energy, energy_import_t4_kwh: energy,
      voltage_v: { min: 0, max: 999.9, step: 0.1 }, current_a: { min: 0, max: 799.999, step: 0.001 }, power_w: { min: 0, max: 79_999.9, step: 0.1 },
    },
    encode: (v) => ({ port: 0, payload: dlt645PollAnswer(SIM_DLT645_ADDRESS, v) }),
  },
  'generic.cjt188-water-meter': {
    attributes: { meterAddress: SIM_CJT188_ADDRESS },
    metrics: { water_volume_m3: { min: 0, max: 999_999.99, step: 0.01 }, water_volume_settlement_m3: { min: 0, max: 999_999.99, step: 0.01 }, valve_open: 'boolean', battery_low: 'boolean' },
    encode: (v) => ({
      port: 0,
      payload: cjt188ReadAnswer(SIM_CJT188_ADDRESS, { water_volume_m3: n(v, 'water_volume_m3'), water_volume_settlement_m3: n(v, 'water_volume_settlement_m3'), valve_open: v.valve_open === true, valve_fault: false, battery_low: v.battery_low === true }),
    }),
  },
};
