import { defineModel } from '../src/core/model.js';
import { batteryGroup, decentlabV2, DECENTLAB_PORT } from './lib/decentlab.js';

export default defineModel({
  id: 'decentlab.dl-mbx',
  vendor: 'Decentlab',
  name: 'DL-MBX ultrasonic distance / level sensor',
  kind: 'bin_fill',
  description: 'Ultrasonic distance to the waste surface; fill_pct from the device attribute binDepthMm.',
  format: 'binary',
  ports: [DECENTLAB_PORT],
  reportIntervalS: 600,
  lowBatteryV: 2.5,
  metrics: ['distance_mm', 'fill_pct', 'battery_v'],
  attributes: { binDepthMm: 'distance from the sensor to the bin floor, mm' },
  deviations: ['number_of_valid_samples is a diagnostic; with 0 valid samples the distance is not a measurement and is not stored.'],
  decode: decentlabV2([
    { words: 2, readings: ([distance, samples]) => (samples! > 0 ? [{ metric: 'distance_mm', value: distance! }] : []) },
    batteryGroup,
  ]),
  examples: [
    { description: 'Distance and battery (corpus) in a 3 m bin', port: 1, hex: '02012F000304D200010BB1', attributes: { binDepthMm: 3000 }, readings: { distance_mm: 1234, fill_pct: 58.9, battery_v: 2.993 } },
    { description: 'Battery only (corpus)', port: 1, hex: '02012F00020BB1', readings: { battery_v: 2.993 } },
    { description: 'no valid sample', port: 1, hex: '02012F000104D20000', readings: {} },
    { description: 'protocol version 1', port: 1, hex: '01012F00020BB1', error: 'protocol version 1' },
    { description: 'truncated group', port: 1, hex: '02012F000304D2', error: 'frame too short' },
  ],
});
