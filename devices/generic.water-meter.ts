import { defineModel } from '../src/core/model.js';
import { nativeJsonDecoder } from './lib/native-json.js';

const metrics = ['water_volume_m3', 'water_flow_m3h', 'pulse_count', 'leak', 'burst', 'reverse_flow', 'meter_dry', 'battery_v', 'battery_pct', 'temperature_c'];

export default defineModel({
  id: 'generic.water-meter',
  vendor: 'Generic',
  name: 'Water meter (native JSON)',
  kind: 'water_meter',
  // the native JSON format is ours (docs/vocabulary.md): no vendor codec to depart from
  deviations: [],
  description: 'Meters that publish a cumulative index in m3, or raw pulses converted with the attribute litresPerPulse. An array of objects with ts carries logged history.',
  format: 'json',
  reportIntervalS: 3600,
  lowBatteryV: 3.0,
  metrics,
  attributes: { litresPerPulse: 'litres per pulse: pulse_count is converted to water_volume_m3', volumeOffsetM3: 'meter index at pulse 0, added to the converted volume' },
  decode: nativeJsonDecoder({ metrics }),
  examples: [
    { description: 'index reading', json: { water_volume_m3: 123.456, water_flow_m3h: 0.02 }, readings: { water_volume_m3: 123.456, water_flow_m3h: 0.02 } },
    { description: 'pulses with 10 l/pulse', json: { pulse_count: 1500 }, attributes: { litresPerPulse: 10 }, readings: { pulse_count: 1500, water_volume_m3: 15 } },
    {
      description: 'logged hourly history',
      json: [{ ts: '2026-11-22T00:00:00Z', water_volume_m3: 10 }, { ts: '2026-11-22T01:00:00Z', water_volume_m3: 10.2 }],
      series: [{ metric: 'water_volume_m3', ts: '2026-11-22T00:00:00Z', value: 10 }, { metric: 'water_volume_m3', ts: '2026-11-22T01:00:00Z', value: 10.2 }],
    },
  ],
});
