/**
 * Encoders for the models of issue 12 part 2 (Nwave NPS310SM, Milesight EM300-MCS/ZLD,
 * Netvox R311A/R718F/R730F, Elsys EMS Door / ELT Ultrasonic), written from each vendor's
 * byte layout: the simulator speaks them, test/devices/roundtrip.test.ts decodes them back.
 */
import type { EncoderMap, SimValues, VendorEncoder } from './types.js';

const n = (v: SimValues, k: string) => v[k] as number;
const bit = (v: SimValues, k: string) => (v[k] ? 1 : 0);
const u16le = (x: number) => [x & 0xff, (x >> 8) & 0xff];
const u16be = (x: number) => [(x >> 8) & 0xff, x & 0xff];
const u32be = (x: number) => [(x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff];

// Milesight TLV: battery 01 75, temperature 03 67 (int16 LE, 0.1 °C), humidity 04 68 (0.5 %), state channel
const milesight = (stateChannel: number, state: string): VendorEncoder => ({
  metrics: { battery_pct: { min: 0, max: 100, step: 1 }, temperature_c: { min: -30, max: 70, step: 0.1 }, humidity_pct: { min: 0, max: 100, step: 0.5 }, [state]: 'boolean' },
  encode: (v) => ({
    port: 85,
    payload: Buffer.from([0x01, 0x75, n(v, 'battery_pct'), 0x03, 0x67, ...u16le(Math.round(n(v, 'temperature_c') * 10) & 0xffff), 0x04, 0x68, Math.round(n(v, 'humidity_pct') * 2), stateChannel, 0x00, bit(v, state)]),
  }),
});

// Netvox status report on FPort 6: [01][device type][01][battery: bit 7 low, 0.1 V][contact][6 reserved]
const netvox = (deviceType: number, minV: number, maxV: number): VendorEncoder => ({
  metrics: { battery_v: { min: minV, max: maxV, step: 0.1 }, battery_low: 'boolean', door_open: 'boolean' },
  encode: (v) => ({
    port: 6,
    payload: Buffer.from([0x01, deviceType, 0x01, (bit(v, 'battery_low') << 7) | Math.round(n(v, 'battery_v') * 10), bit(v, 'door_open'), 0, 0, 0, 0, 0, 0]),
  }),
});

// Elsys [type][value BE]: 01 temperature (int16, 0.1 °C), 02 humidity (%), 07 VDD (mV)
const elsysCommon = (v: SimValues) => [0x01, ...u16be(Math.round(n(v, 'temperature_c') * 10) & 0xffff), 0x02, n(v, 'humidity_pct'), 0x07, ...u16be(Math.round(n(v, 'battery_v') * 1000))];
const elsysCommonMetrics = { temperature_c: { min: -40, max: 60, step: 0.1 }, humidity_pct: { min: 0, max: 100, step: 1 }, battery_v: { min: 2.8, max: 3.7, step: 0.001 } };

export const newAEncoders: EncoderMap = {
  'nwave.nps310sm': {
    metrics: { occupied: 'boolean' },
    // status frame: bit 0 = occupied; Nwave puts the previous-state duration in bits 1-7 (not decoded by the NPS310 codec)
    encode: (v) => ({ port: 1, payload: Buffer.from([(37 << 1) | bit(v, 'occupied')]) }),
  },
  'milesight.em300-mcs': milesight(0x06, 'door_open'),
  'milesight.em300-zld': milesight(0x05, 'leak'),
  'netvox.r311a': netvox(0x02, 2.0, 3.3),
  'netvox.r718f': netvox(0x1d, 2.5, 3.7),
  'netvox.r730f': netvox(0x7d, 2.5, 3.7),
  'elsys.ems-door': {
    metrics: { ...elsysCommonMetrics, door_open: 'boolean', door_open_count: { min: 0, max: 0xffffffff, step: 1 } },
    // 0x0D digital input (reed switch), 0x0B absolute pulse count (openings)
    encode: (v) => ({ port: 5, payload: Buffer.from([...elsysCommon(v), 0x0d, bit(v, 'door_open'), 0x0b, ...u32be(n(v, 'door_open_count'))]) }),
  },
  'elsys.elt-ultrasonic': {
    metrics: { ...elsysCommonMetrics, distance_mm: { min: 0, max: 10000, step: 1 } },
    // 0x0E distance (mm), 0x03 accelerometer (not stored, sent by the device)
    encode: (v) => ({ port: 5, payload: Buffer.from([...elsysCommon(v), 0x03, 0x00, 0x00, 0x3f, 0x0e, ...u16be(n(v, 'distance_mm'))]) }),
  },
};
