import { defineModel } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { milesightTlv, MILESIGHT_PORT } from './lib/milesight-tlv.js';

const amps = (raw: number, metric: string): DecodedReading[] => (raw === 0xffff ? [] : [{ metric, value: raw / 100 }]); // 0xFFFF = read failed
/** 0xFFFD = over range, 0xFFFF = read failed (ct101.js 5e5e495): sensor states, not temperatures */
const celsius = (raw: number): DecodedReading[] => (raw === 0xfffd || raw === 0xffff ? [] : [{ metric: 'temperature_c', value: ((raw << 16) >> 16) / 10 }]);

const ALARM_CURRENT_KEYS = ['current_max', 'current_min', 'current'] as const;

export default defineModel({
  id: 'milesight.ct101',
  vendor: 'Milesight',
  name: 'CT101 smart current transformer',
  kind: 'electricity_meter',
  description: 'Clamp-on current sensor for a circuit: current, cumulative ampere-hours, the minimum and maximum over the alarm period, current and temperature threshold alarms.',
  format: 'binary',
  ports: [MILESIGHT_PORT],
  reportIntervalS: 600,
  metrics: ['current_a', 'current_max_a', 'current_min_a', 'current_alarm', 'current_total_ah', 'temperature_c', 'temperature_alarm'],
  events: ['device_info'],
  vendorCodec: {
    codec: 'vendor/milesight-iot/ct101.js',
    commit: '5e5e495',
    vectors: ['milesight.ct101.jsonl'],
    expect: (d) => {
      const out: DecodedReading[] = [];
      if (d.current !== undefined) out.push({ metric: 'current_a', value: d.current });
      if (d.current_max !== undefined) out.push({ metric: 'current_max_a', value: d.current_max });
      if (d.current_min !== undefined) out.push({ metric: 'current_min_a', value: d.current_min });
      if (d.total_current !== undefined) out.push({ metric: 'current_total_ah', value: d.total_current });
      if (d.temperature !== undefined) out.push({ metric: 'temperature_c', value: d.temperature });
      if (d.current_alarm !== undefined) {
        const a = d.current_alarm;
        out.push({ metric: 'current_alarm', value: a.current_threshold_alarm === 'yes' || a.current_over_range_alarm === 'yes' });
      }
      if (d.temperature_alarm === 'temperature threshold alarm') out.push({ metric: 'temperature_alarm', value: true });
      if (d.temperature_alarm === 'temperature threshold alarm release') out.push({ metric: 'temperature_alarm', value: false });
      return out;
    },
  },
  deviations: [
    'An unknown channel makes the frame a dead letter (its length is unknown, so nothing after it can be delimited, and the raw frame is kept for inspection); the vendor codecs stop there and return what came before. No vendor vector has one.',
    'The alarm byte\'s four flags become one boolean current_alarm: threshold alarm or over-range alarm set (the *_release flags clear it).',
    'A current of 0xFFFF on channel 04 98 and a temperature of 0xFFFD / 0xFFFF on channel 09 67 are sensor states in the vendor codec (current_sensor_status, temperature_sensor_status: "over range alarm", "read failed"): no reading is stored for them, as the vendor stores none.',
    {
      id: 'alarm-current-read-failed',
      reason: 'In the current-alarm record (84 98) the vendor codec divides 0xFFFF by 100 and reports 655.35 A, although its own 04 98 channel treats the same value as "read failed". A failed read is no current: the gateway stores no current_max_a / current_min_a / current_a for it (the alarm flag is kept).',
      commit: '5e5e495',
      applies: (v) => ALARM_CURRENT_KEYS.some((k) => v.vendor.data?.[k] === 655.35) && v.hex.startsWith('8498'),
      expect: (exp, v) => {
        if (exp === 'error') return exp;
        const failed = new Set(ALARM_CURRENT_KEYS.filter((k) => v.vendor.data[k] === 655.35).map((k) => `${k}_a`));
        return exp.filter((r) => !failed.has(r.metric));
      },
    },
  ],
  decode: milesightTlv({
    0x0498: { size: 2, read: (b, at) => amps(b.u16le(at), 'current_a') },
    0x0397: { size: 4, read: (b, at) => [{ metric: 'current_total_ah', value: b.u32le(at) / 100 }] },
    0x0967: { size: 2, read: (b, at) => celsius(b.u16le(at)) },
    0x8498: {
      size: 7,
      read: (b, at) => [
        ...amps(b.u16le(at), 'current_max_a'), ...amps(b.u16le(at + 2), 'current_min_a'), ...amps(b.u16le(at + 4), 'current_a'),
        { metric: 'current_alarm', value: (b.u8(at + 6) & 0b0101) !== 0 },
      ],
    },
    // temperature threshold alarm: temperature, then 1 = alarm, 0 = released (other values: no alarm state)
    0x8967: {
      size: 3,
      read: (b, at) => {
        const state = b.u8(at + 2);
        return [{ metric: 'temperature_c', value: b.i16le(at) / 10 }, ...(state <= 1 ? [{ metric: 'temperature_alarm', value: state === 1 }] : [])];
      },
    },
  }),
  examples: [
    { description: 'Current alarm record (corpus)', port: 85, hex: '8498B80BD007C40905', readings: { current_max_a: 30, current_min_a: 20, current_a: 25, current_alarm: true } },
    { description: 'current 12.34 A and temperature', port: 85, hex: '0498D2040967FA00', readings: { current_a: 12.34, temperature_c: 25 } },
    { description: 'read failed', port: 85, hex: '0498FFFF', readings: {} },
    { description: 'temperature threshold alarm 89 67 (issue 12 repro): 31.9 °C, released', port: 85, hex: '89673F0100', readings: { temperature_c: 31.9, temperature_alarm: false } },
    { description: 'temperature threshold alarm at -16.3 °C', port: 85, hex: '89675DFF01', readings: { temperature_c: -16.3, temperature_alarm: true } },
    { description: 'temperature sentinels 0xFFFD (over range) and 0xFFFF (read failed) are no temperatures (issue 12)', port: 85, hex: '0967FDFF0498D204', readings: { current_a: 12.34 } },
    { description: 'temperature read failed, cumulative 60432.79 Ah', port: 85, hex: '0967FFFF03978F365C00', readings: { current_total_ah: 60432.79 } },
    {
      description: 'TSL version and device status (FF FF, FF 0B) are device information', port: 85, hex: 'FF0BFFFFFF0100',
      readings: {}, events: [{ type: 'device_info', data: { device_status: 'on', tsl_version: 'v1.0' } }],
    },
  ],
});
