import { defineModel } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { milesightTlv, temperature, MILESIGHT_PORT } from './lib/milesight-tlv.js';

const amps = (raw: number, metric: string): DecodedReading[] => (raw === 0xffff ? [] : [{ metric, value: raw / 100 }]); // 0xFFFF = read failed

export default defineModel({
  id: 'milesight.ct101',
  vendor: 'Milesight',
  name: 'CT101 smart current transformer',
  kind: 'electricity_meter',
  description: 'Clamp-on current sensor for a circuit: current, its minimum and maximum over the alarm period, threshold and over-range alarms.',
  format: 'binary',
  ports: [MILESIGHT_PORT],
  reportIntervalS: 600,
  metrics: ['current_a', 'current_max_a', 'current_min_a', 'current_alarm', 'temperature_c'],
  deviations: [
    'Channel 03 97 (total current, Ah) has no vocabulary name: skipped.',
    'The alarm byte\'s four flags become one boolean current_alarm: threshold alarm or over-range alarm set (the *_release flags clear it).',
    'A current of 0xFFFF means "read failed" in the vendor codec: no reading is stored for it.',
  ],
  decode: milesightTlv({
    0x0498: { size: 2, read: (b, at) => amps(b.u16le(at), 'current_a') },
    0x0397: { size: 4, read: () => [] },
    0x0967: temperature,
    0x8498: {
      size: 7,
      read: (b, at) => [
        ...amps(b.u16le(at), 'current_max_a'), ...amps(b.u16le(at + 2), 'current_min_a'), ...amps(b.u16le(at + 4), 'current_a'),
        { metric: 'current_alarm', value: (b.u8(at + 6) & 0b0101) !== 0 },
      ],
    },
  }),
  examples: [
    { description: 'Current alarm record (corpus)', port: 85, hex: '8498B80BD007C40905', readings: { current_max_a: 30, current_min_a: 20, current_a: 25, current_alarm: true } },
    { description: 'current 12.34 A and temperature', port: 85, hex: '0498D2040967FA00', readings: { current_a: 12.34, temperature_c: 25 } },
    { description: 'read failed', port: 85, hex: '0498FFFF', readings: {} },
  ],
});
