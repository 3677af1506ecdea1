/**
 * Encoders for the models added in issue 12 (Quandify CubicMeter 1.1, Dragino SW3L,
 * DDS75-LB, WQS-LB, LWL03A, Dingtek DC410), written from the vendors' byte layouts as their
 * TTN codecs read them (not from our decoders).
 */
import type { EncoderMap, SimValues } from './types.js';

const n = (v: SimValues, k: string) => v[k] as number;
const bit = (v: SimValues, k: string) => (v[k] ? 1 : 0);
const u16be = (x: number) => [(x >> 8) & 0xff, x & 0xff];
const u24be = (x: number) => [(x >> 16) & 0xff, (x >> 8) & 0xff, x & 0xff];
const u32be = (x: number) => [(x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff];
const u16le = (x: number) => [x & 0xff, (x >> 8) & 0xff];
const u32le = (x: number) => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff];
const T0 = Date.UTC(2026, 10, 22, 8, 0) / 1000;

// Quandify: 1800 mV + 8 mV steps; temperatures 0.5 °C steps from -20 °C
const qBattery = (v: number) => Math.round((v * 1000 - 1800) / 8);
const qTemp = (c: number) => Math.round((c + 20) * 2);
// Dragino: battery in mV (top two bits are flags), DS18B20 signed 0.1 °C
const drBattery = (v: number) => Math.round(v * 1000) & 0x3fff;
const ds18b20 = (c: number) => Math.round(c * 10) & 0xffff;

export const newBEncoders: EncoderMap = {
  'quandify.cubicmeter': {
    metrics: {
      water_volume_m3: { min: 0, max: 4e6, step: 0.001 }, battery_v: { min: 1.8, max: 3.84, step: 0.008 },
      temperature_c: { min: -20, max: 107.5, step: 0.5 }, water_temperature_min_c: { min: -20, max: 107.5, step: 0.5 }, water_temperature_max_c: { min: -20, max: 107.5, step: 0.5 },
      leak: 'boolean', reverse_flow: 'boolean', meter_dry: 'boolean',
    },
    encode: (v) => {
      // status report, 28 bytes LE: error word (bit 15 = not sensing, 384 = reverse flow) at 4, litres at 6, leak state at 22, batteries at 23-24, temperatures at 25-27
      const error = (v.reverse_flow ? 384 : 0) | (v.meter_dry ? 0x8000 : 0);
      const p = [0x49, 0xfb, 0xdf, 0x01, ...u16le(error), ...u32le(Math.round(n(v, 'water_volume_m3') * 1000)), ...Array(12).fill(0),
        v.leak ? 4 : 0, qBattery(n(v, 'battery_v')), qBattery(n(v, 'battery_v')),
        qTemp(n(v, 'water_temperature_min_c')), qTemp(n(v, 'water_temperature_max_c')), qTemp(n(v, 'temperature_c'))];
      return { port: 1, payload: Buffer.from(p) };
    },
  },
  'dragino.sw3l': {
    metrics: { pulse_count: { min: 0, max: 4e9, step: 1 }, leak: 'boolean' },
    // flag 0 (DW-004, 450 pulses/L) | alarm bit 1; total pulses; MOD 0 (totalising); byte 6; unix time
    encode: (v) => ({ port: 2, payload: Buffer.from([bit(v, 'leak') << 1, ...u32be(n(v, 'pulse_count')), 0, 0, ...u32be(T0)]) }),
  },
  'dragino.dds75-lb': {
    metrics: {
      battery_v: { min: 2.5, max: 3.6, step: 0.001 }, temperature_c: { min: 0.1, max: 60, step: 0.1 },
      distance_mm: { min: 280, max: 7500, step: 1 }, distance_2_mm: { min: 280, max: 7500, step: 1 }, distance_3_mm: { min: 280, max: 7500, step: 1 },
    },
    encode: (v) => ({
      port: 2,
      payload: Buffer.from([...u16be(drBattery(n(v, 'battery_v'))), ...u16be(ds18b20(n(v, 'temperature_c'))),
        ...u16be(n(v, 'distance_mm')), ...u16be(n(v, 'distance_2_mm')), ...u16be(n(v, 'distance_3_mm')), 0x10]),
    }),
  },
  'dragino.wqs-lb': {
    metrics: {
      battery_v: { min: 2.5, max: 3.6, step: 0.001 }, temperature_c: { min: -10, max: -0.1, step: 0.1 },
      turbidity_ntu: { min: 0, max: 1000, step: 0.1 }, dissolved_oxygen_mg_l: { min: 0, max: 20, step: 0.01 }, orp_mv: { min: -600, max: 1200, step: 1 },
      conductivity_us_cm: { min: 0, max: 200000, step: 10 }, ph: { min: 0, max: 14, step: 0.01 },
    },
    // probe mask 0x3D: turbidity, DO, ORP, EC (K=10 electrode), pH, in that order
    encode: (v) => ({
      port: 2,
      payload: Buffer.from([...u16be(drBattery(n(v, 'battery_v'))), ...u16be(ds18b20(n(v, 'temperature_c'))), 0x3d,
        ...u16be(Math.round(n(v, 'turbidity_ntu') * 10)), ...u16be(Math.round(n(v, 'dissolved_oxygen_mg_l') * 100)), ...u16be(n(v, 'orp_mv') & 0xffff),
        ...u16be(Math.round(n(v, 'conductivity_us_cm') / 10)), ...u16be(Math.round(n(v, 'ph') * 100))]),
    }),
  },
  'dingtek.dc410': {
    metrics: {
      distance_mm: { min: 0, max: 5000, step: 1 }, temperature_c: { min: 0, max: 60, step: 1 }, tilt_angle_deg: { min: -90, max: 90, step: 1 },
      level_alarm: 'boolean', tilt: 'boolean', battery_low: 'boolean',
    },
    // 80 00 01 | type 02 | length 0x11 | level | 00 | temp | sign | angle | full<<4 | motion<<4 + battery | counter | 00 81
    encode: (v) => ({
      port: 3,
      payload: Buffer.from([0x80, 0x00, 0x01, 0x02, 0x11, ...u16be(n(v, 'distance_mm')), 0x00, n(v, 'temperature_c'), n(v, 'tilt_angle_deg') < 0 ? 1 : 0, Math.abs(n(v, 'tilt_angle_deg')),
        bit(v, 'level_alarm') << 4, (bit(v, 'tilt') << 4) | bit(v, 'battery_low'), 0x00, 0x01, 0x00, 0x81]),
    }),
  },
  'dragino.lwl03a': {
    metrics: { leak: 'boolean', leak_alarm: 'boolean', leak_count: { min: 0, max: 0xffffff, step: 1 }, leak_duration_min: { min: 0, max: 0xffffff, step: 1 } },
    encode: (v) => ({
      port: 2,
      payload: Buffer.from([(bit(v, 'leak_alarm') << 1) | bit(v, 'leak'), ...u24be(n(v, 'leak_count')), ...u24be(n(v, 'leak_duration_min')), ...u32be(T0)]),
    }),
  },
};
