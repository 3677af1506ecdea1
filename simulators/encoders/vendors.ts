/**
 * Encoders for the vendor models, written from each vendor's byte layout (not from the
 * decoders): the simulator speaks them, and test/devices/roundtrip.test.ts checks that
 * decoding what they encode gives the values back.
 */
import type { EncoderMap, SimValues } from './types.js';

const u8 = (v: number) => Buffer.from([v & 0xff]);
const u16be = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const i16be = (v: number) => { const b = Buffer.alloc(2); b.writeInt16BE(v); return b; };
const u16le = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
const i16le = (v: number) => { const b = Buffer.alloc(2); b.writeInt16LE(v); return b; };
const u24be = (v: number) => Buffer.from([(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
const u24le = (v: number) => Buffer.from([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff]);
const u32be = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };
const i32be = (v: number) => { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; };
const u32le = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
const n = (v: SimValues, k: string) => v[k] as number;
const bit = (v: SimValues, k: string) => (v[k] ? 1 : 0);
const cat = (...parts: Buffer[]) => Buffer.concat(parts);

// Decentlab protocol v2: version 2, device id, flags, words of the present groups
const decentlab = (groups: number[][], id = 0x1234) => {
  let flags = 0;
  const words: number[] = [];
  groups.forEach((g, i) => { if (g.length) { flags |= 1 << i; words.push(...g); } });
  return { port: 1, payload: cat(u8(2), u16be(id), u16be(flags), ...words.map(u16be)) };
};
const s16 = (v: number, scale: number) => Math.round(v * scale) + 32768;

// Dingtek 17-byte data frame: 80 00 01 01 11 | level | 00 | temp | sign | angle | alarms | alarms | counter | 00 | 81
const dingtek17 = (v: SimValues, b11: number, b12: number) => ({
  port: 3,
  payload: cat(Buffer.from([0x80, 0x00, 0x01, 0x01, 0x11]), u16be(n(v, 'distance_mm')), u8(0), u8(n(v, 'temperature_c')),
    u8(n(v, 'tilt_angle_deg') < 0 ? 1 : 0), u8(Math.abs(n(v, 'tilt_angle_deg'))), u8(b11), u8(b12), u16be(1), u8(0), u8(0x81)),
});

// YOBIIQ [channel][type][value BE]
const yobiiq = (records: Array<[number, number, Buffer]>) => ({ port: 1, payload: cat(...records.map(([ch, type, val]) => cat(u8(ch), u8(type), val))) });

// CP32 date/time type F
const cp32 = (ms: number) => {
  const d = new Date(ms);
  const y = d.getUTCFullYear() - 2000;
  return Buffer.from([d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate() | ((y & 0x07) << 5), (d.getUTCMonth() + 1) | ((y >> 3) << 4)]);
};

const T0 = Date.UTC(2026, 10, 22, 8, 0);

export const vendorEncoders: EncoderMap = {
  'milesight.em300-di': {
    metrics: { battery_pct: { min: 0, max: 100, step: 1 }, pulse_count: { min: 0, max: 4e9, step: 1 }, temperature_c: { min: -30, max: 70, step: 0.1 }, humidity_pct: { min: 0, max: 100, step: 0.5 } },
    encode: (v) => ({ port: 85, payload: cat(Buffer.from([0x01, 0x75]), u8(n(v, 'battery_pct')), Buffer.from([0x03, 0x67]), i16le(Math.round(n(v, 'temperature_c') * 10)), Buffer.from([0x04, 0x68]), u8(Math.round(n(v, 'humidity_pct') * 2)), Buffer.from([0x05, 0xc8]), u32le(n(v, 'pulse_count'))) }),
  },
  'milesight.em310-udl': {
    metrics: { battery_pct: { min: 0, max: 100, step: 1 }, distance_mm: { min: 20, max: 4500, step: 1 }, tilt: 'boolean' },
    encode: (v) => ({ port: 85, payload: cat(Buffer.from([0x01, 0x75]), u8(n(v, 'battery_pct')), Buffer.from([0x03, 0x82]), u16le(n(v, 'distance_mm')), Buffer.from([0x04, 0x00]), u8(bit(v, 'tilt'))) }),
  },
  'milesight.ws301': {
    metrics: { battery_pct: { min: 0, max: 100, step: 1 }, door_open: 'boolean', tamper: 'boolean' },
    encode: (v) => ({ port: 85, payload: cat(Buffer.from([0x01, 0x75]), u8(n(v, 'battery_pct')), Buffer.from([0x03, 0x00]), u8(bit(v, 'door_open')), Buffer.from([0x04, 0x00]), u8(bit(v, 'tamper'))) }),
  },
  'milesight.ct101': {
    metrics: { current_a: { min: 0, max: 600, step: 0.01 }, current_max_a: { min: 0, max: 600, step: 0.01 }, current_min_a: { min: 0, max: 600, step: 0.01 }, current_alarm: 'boolean', temperature_c: { min: 0, max: 70, step: 0.1 } },
    encode: (v) => ({ port: 85, payload: cat(Buffer.from([0x84, 0x98]), u16le(Math.round(n(v, 'current_max_a') * 100)), u16le(Math.round(n(v, 'current_min_a') * 100)), u16le(Math.round(n(v, 'current_a') * 100)), u8(v.current_alarm ? 0b0001 : 0b0010), Buffer.from([0x09, 0x67]), i16le(Math.round(n(v, 'temperature_c') * 10))) }),
  },
  'dragino.lds02': {
    metrics: { battery_v: { min: 2.4, max: 3.6, step: 0.001 }, door_open: 'boolean', door_open_count: { min: 0, max: 0xffffff, step: 1 }, door_open_duration_min: { min: 0, max: 0xffffff, step: 1 }, door_alarm: 'boolean' },
    encode: (v) => ({ port: 10, payload: cat(u16be((bit(v, 'door_open') << 15) | Math.round(n(v, 'battery_v') * 1000)), u8(1), u24be(n(v, 'door_open_count')), u24be(n(v, 'door_open_duration_min')), u8(bit(v, 'door_alarm'))) }),
  },
  'dragino.lds03a': {
    metrics: { door_open: 'boolean', door_alarm: 'boolean', door_open_count: { min: 0, max: 0xffffff, step: 1 }, door_open_duration_min: { min: 0, max: 0xffffff, step: 1 } },
    encode: (v) => ({ port: 2, payload: cat(u8((bit(v, 'door_alarm') << 1) | bit(v, 'door_open')), u24be(n(v, 'door_open_count')), u24be(n(v, 'door_open_duration_min')), u32be(T0 / 1000)) }),
  },
  'dragino.ldds75': {
    metrics: { battery_v: { min: 2.5, max: 3.6, step: 0.001 }, distance_mm: { min: 280, max: 7500, step: 1 }, temperature_c: { min: -40, max: -0.1, step: 0.1 } },
    encode: (v) => ({ port: 2, payload: cat(u16be(Math.round(n(v, 'battery_v') * 1000)), u16be(n(v, 'distance_mm')), u8(0), i16be(Math.round(n(v, 'temperature_c') * 10)), u8(1)) }),
  },
  'browan.tbdw100': {
    metrics: { door_open: 'boolean', battery_v: { min: 2.5, max: 4.0, step: 0.1 }, temperature_c: { min: -32, max: 95, step: 1 }, door_open_count: { min: 0, max: 0xffffff, step: 1 } },
    encode: (v) => ({ port: 100, payload: cat(u8(bit(v, 'door_open')), u8(Math.round(n(v, 'battery_v') * 10) - 25), u8(n(v, 'temperature_c') + 32), u16le(0), u24le(n(v, 'door_open_count'))) }),
  },
  'bosch.tps110': {
    metrics: { occupied: 'boolean', temperature_c: { min: -40, max: 85, step: 1 } },
    encode: (v) => ({ port: 2, payload: Buffer.from([bit(v, 'occupied'), n(v, 'temperature_c') & 0xff]) }),
  },
  'nwave.nps405': {
    metrics: { occupied: 'boolean', battery_v: { min: 2.5, max: 3.52, step: 0.004 }, temperature_c: { min: -50, max: 70, step: 0.5 } },
    encode: (v) => ({ port: 2, payload: Buffer.from([bit(v, 'occupied'), Math.round((n(v, 'battery_v') * 1000 - 2500) / 4), Math.round((n(v, 'temperature_c') - 10) * 2) & 0xff, 0, 0, 0]) }),
  },
  'decentlab.dl-mbx': {
    metrics: { distance_mm: { min: 0, max: 65535, step: 1 }, battery_v: { min: 2, max: 4, step: 0.001 } },
    encode: (v) => decentlab([[n(v, 'distance_mm'), 1], [Math.round(n(v, 'battery_v') * 1000)]]),
  },
  'decentlab.dl-pheht': {
    metrics: { ph: { min: 0, max: 14, step: 0.01 }, orp_mv: { min: -2000, max: 2000, step: 0.1 }, temperature_c: { min: -20, max: 60, step: 0.01 }, battery_v: { min: 2, max: 4, step: 0.001 } },
    encode: (v) => decentlab([[0, s16(n(v, 'temperature_c'), 100), s16(n(v, 'ph'), 100), s16(n(v, 'orp_mv'), 10), s16(0, 10)], [Math.round(n(v, 'battery_v') * 1000)]]),
  },
  'decentlab.dl-ntu': {
    metrics: { turbidity_ntu: { min: 0, max: 4000, step: 0.1 }, temperature_c: { min: -20, max: 60, step: 0.01 }, battery_v: { min: 2, max: 4, step: 0.001 } },
    encode: (v) => decentlab([[0, s16(n(v, 'temperature_c'), 100), Math.round(n(v, 'turbidity_ntu') * 10), Math.round(n(v, 'turbidity_ntu') * 10), 0], [Math.round(n(v, 'battery_v') * 1000)]]),
  },
  'decentlab.dl-ctd10': {
    metrics: { water_depth_mm: { min: -1000, max: 30000, step: 1 }, temperature_c: { min: -20, max: 60, step: 0.1 }, conductivity_us_cm: { min: 0, max: 65535, step: 1 }, battery_v: { min: 2, max: 4, step: 0.001 } },
    encode: (v) => decentlab([[n(v, 'water_depth_mm') + 32768, s16(n(v, 'temperature_c'), 10), n(v, 'conductivity_us_cm'), 0], [Math.round(n(v, 'battery_v') * 1000)]]),
  },
  'decentlab.dl-optod': {
    metrics: { dissolved_oxygen_mg_l: { min: 0, max: 20, step: 0.01 }, oxygen_saturation_pct: { min: 0, max: 200, step: 0.01 }, temperature_c: { min: -20, max: 60, step: 0.01 }, battery_v: { min: 2, max: 4, step: 0.001 } },
    encode: (v) => decentlab([[0, s16(n(v, 'temperature_c'), 100), s16(n(v, 'oxygen_saturation_pct'), 100), s16(n(v, 'dissolved_oxygen_mg_l'), 100), s16(n(v, 'dissolved_oxygen_mg_l'), 100)], [Math.round(n(v, 'battery_v') * 1000)]]),
  },
  'dingtek.df702': {
    metrics: { distance_mm: { min: 0, max: 65535, step: 1 }, temperature_c: { min: 0, max: 255, step: 1 }, tilt_angle_deg: { min: -90, max: 90, step: 1 }, fire_alarm: 'boolean', tilt: 'boolean', battery_low: 'boolean' },
    encode: (v) => dingtek17(v, bit(v, 'fire_alarm'), (bit(v, 'tilt') << 4) | bit(v, 'battery_low')),
  },
  'dingtek.df703': {
    metrics: { distance_mm: { min: 0, max: 65535, step: 1 }, temperature_c: { min: 0, max: 255, step: 1 }, tilt_angle_deg: { min: -90, max: 90, step: 1 }, fire_alarm: 'boolean', tilt: 'boolean', battery_low: 'boolean' },
    encode: (v) => dingtek17(v, bit(v, 'fire_alarm'), (bit(v, 'tilt') << 4) | bit(v, 'battery_low')),
  },
  'dingtek.do201': {
    metrics: { occupied: 'boolean', vehicle_distance_mm: { min: 0, max: 65535, step: 1 }, battery_v: { min: 2.5, max: 3.7, step: 0.01 }, magnetic_x: { min: -32768, max: 32767, step: 1 }, magnetic_y: { min: -32768, max: 32767, step: 1 }, magnetic_z: { min: -32768, max: 32767, step: 1 }, temperature_c: { min: -40, max: 85, step: 1 }, humidity_pct: { min: 0, max: 100, step: 1 } },
    encode: (v) => ({
      port: 3,
      payload: cat(Buffer.from([0x80, 0x00, 0x31, 0x02, 0x17]), u16be(n(v, 'vehicle_distance_mm')), u8(bit(v, 'occupied') << 4), u8(0), u16be(Math.round(n(v, 'battery_v') * 100)),
        i16be(n(v, 'magnetic_x')), i16be(n(v, 'magnetic_y')), i16be(n(v, 'magnetic_z')), u8(n(v, 'temperature_c') & 0xff), u8(n(v, 'humidity_pct')), u16be(1), u8(0), u8(0x81)),
    }),
  },
  'kamstrup.flowiq2200': {
    metrics: { water_volume_m3: { min: 0, max: 99999, step: 0.001 }, leak: 'boolean', burst: 'boolean', reverse_flow: 'boolean', meter_dry: 'boolean' },
    encode: (v) => ({
      port: 1,
      payload: cat(u8(0x78), Buffer.from([0x04, 0x6d]), cp32(T0), Buffer.from([0x04, 0x13]), u32le(Math.round(n(v, 'water_volume_m3') * 1000)),
        Buffer.from([0x52, 0xff, 0x25]), u16le(bit(v, 'meter_dry') | (bit(v, 'reverse_flow') << 1) | (bit(v, 'leak') << 2) | (bit(v, 'burst') << 3))),
    }),
  },
  'adeunis.pulse4': {
    metrics: { pulse_count: { min: 0, max: 4e9, step: 1 }, battery_low: 'boolean' },
    encode: (v) => ({ port: 1, payload: cat(u8(0x5a), u8(0x20 | 0x01 | (bit(v, 'battery_low') << 1)), u32be(n(v, 'pulse_count')), Buffer.alloc(8)) }),
  },
  'yobiiq.em4301': {
    metrics: { energy_import_t1_kwh: { min: 0, max: 4e6, step: 0.001 }, energy_import_t2_kwh: { min: 0, max: 4e6, step: 0.001 }, energy_export_t1_kwh: { min: 0, max: 4e6, step: 0.001 }, energy_export_t2_kwh: { min: 0, max: 4e6, step: 0.001 } },
    encode: (v) => yobiiq([[1, 0x01, u32be(T0 / 1000)], [3, 0x04, u32be(Math.round(n(v, 'energy_import_t1_kwh') * 1000))], [4, 0x05, u32be(Math.round(n(v, 'energy_import_t2_kwh') * 1000))],
      [5, 0x06, u32be(Math.round(n(v, 'energy_export_t1_kwh') * 1000))], [6, 0x07, u32be(Math.round(n(v, 'energy_export_t2_kwh') * 1000))], [11, 0x0a, u8(0)]]),
  },
  'yobiiq.iq-dsmr-lrw': {
    metrics: { energy_import_t1_kwh: { min: 0, max: 4e6, step: 0.001 }, energy_import_t2_kwh: { min: 0, max: 4e6, step: 0.001 }, voltage_l1_v: { min: 180, max: 260, step: 0.1 }, current_l1_a: { min: 0, max: 100, step: 1 } },
    encode: (v) => yobiiq([[0xff, 0xfe, u32be(T0 / 1000)], [0xdd, 0x06, u32be(Math.round(n(v, 'energy_import_t1_kwh') * 1000))], [0xdd, 0x08, u32be(Math.round(n(v, 'energy_import_t2_kwh') * 1000))],
      [0xdd, 0x22, i32be(Math.round(n(v, 'voltage_l1_v') * 10))], [0xdd, 0x26, i32be(n(v, 'current_l1_a'))]]),
  },
};
