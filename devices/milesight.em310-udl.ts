import { defineModel } from '../src/core/model.js';
import { battery, milesightTlv, MILESIGHT_PORT } from './lib/milesight-tlv.js';

export default defineModel({
  id: 'milesight.em310-udl',
  vendor: 'Milesight',
  name: 'EM310-UDL ultrasonic distance / level sensor (waste bins)',
  kind: 'bin_fill',
  description: 'Ultrasonic distance to the waste surface; fill_pct from the device attribute binDepthMm.',
  format: 'binary',
  ports: [MILESIGHT_PORT],
  reportIntervalS: 1200,
  metrics: ['distance_mm', 'fill_pct', 'tilt', 'battery_pct'],
  attributes: { binDepthMm: 'distance from the sensor to the bin floor, mm' },
  vendorCodec: {
    codec: 'vendor/milesight-iot/em310-udl.js',
    commit: '62c8acd',
    vectors: ['milesight.em310-udl.jsonl', 'milesight.em310-udl.codec-em310-udl-2025.jsonl'],
    expect: (d) => [
      ...(d.battery !== undefined ? [{ metric: 'battery_pct', value: d.battery }] : []),
      ...(d.distance !== undefined ? [{ metric: 'distance_mm', value: d.distance }] : []),
      ...(d.tilt !== undefined ? [{ metric: 'tilt', value: d.tilt === 'tilt' }] : []),
      ...(d.position !== undefined ? [{ metric: 'tilt', value: d.position === 'tilt' }] : []),
    ],
  },
  deviations: [
    'Key drift in the vendor codec: em310-udl.js (62c8acd) emits tilt: "tilt" | "normal", the 2025 rewrite (5c12ba1) emits position: "tilt" for the same bytes. Both come from channel 04 00; this decoder maps that channel to the boolean tilt, so either codec generation\'s devices give the same reading.',
  ],
  decode: milesightTlv({
    0x0175: battery,
    0x0382: { size: 2, read: (b, at) => [{ metric: 'distance_mm', value: b.u16le(at) }] },
    0x0400: { size: 1, read: (b, at) => [{ metric: 'tilt', value: b.u8(at) !== 0 }] },
  }),
  examples: [
    {
      description: 'Distance, battery and tilt (corpus), in a 3 m bin', port: 85, hex: '01755C03824408040001', attributes: { binDepthMm: 3000 },
      readings: { battery_pct: 92, distance_mm: 2116, fill_pct: 29.5, tilt: true },
    },
    { description: 'upright bin', port: 85, hex: '0382B400040000', attributes: { binDepthMm: 1200 }, readings: { distance_mm: 180, fill_pct: 85, tilt: false } },
    { description: 'wrong port', port: 1, hex: '01755C', error: 'unknown FPort 1' },
    { description: 'truncated distance', port: 85, hex: '0382B4', error: 'frame too short' },
  ],
});
