import { defineModel } from '../src/core/model.js';
import { nativeJsonDecoder } from './lib/native-json.js';

const metrics = ['fill_pct', 'distance_mm', 'tilt', 'fire_alarm', 'temperature_c', 'battery_v', 'battery_pct'];

export default defineModel({
  id: 'generic.bin-fill',
  vendor: 'Generic',
  name: 'Waste-bin fill sensor (native JSON)',
  kind: 'bin_fill',
  // the native JSON format is ours (docs/vocabulary.md): no vendor codec to depart from
  deviations: [],
  description: 'Bins that publish fill_pct directly, or an ultrasonic distance_mm converted with the attribute binDepthMm.',
  format: 'json',
  reportIntervalS: 1800,
  lowBatteryV: 3.0,
  metrics,
  attributes: { binDepthMm: 'distance from the sensor to the bin floor, mm: fill_pct = 100 x (depth - distance) / depth' },
  decode: nativeJsonDecoder({ metrics }),
  examples: [
    { description: 'fill level', json: { ts: '2026-11-22T08:00:00Z', fill_pct: 85, battery_v: 3.6 }, series: [{ metric: 'fill_pct', ts: '2026-11-22T08:00:00Z', value: 85 }, { metric: 'battery_v', ts: '2026-11-22T08:00:00Z', value: 3.6 }] },
    { description: 'distance in a 1000 mm bin', json: { distance_mm: 250 }, attributes: { binDepthMm: 1000 }, readings: { distance_mm: 250, fill_pct: 75 } },
  ],
});
