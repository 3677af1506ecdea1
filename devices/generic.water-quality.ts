import { defineModel } from '../src/core/model.js';
import { nativeJsonDecoder } from './lib/native-json.js';

const metrics = ['ph', 'turbidity_ntu', 'free_chlorine_mg_l', 'conductivity_us_cm', 'tds_mg_l', 'orp_mv', 'dissolved_oxygen_mg_l', 'oxygen_saturation_pct', 'water_depth_mm', 'temperature_c', 'battery_v', 'battery_pct'];

export default defineModel({
  id: 'generic.water-quality',
  vendor: 'Generic',
  name: 'Water-quality probe (native JSON)',
  kind: 'water_quality',
  // the native JSON format is ours (docs/vocabulary.md): no vendor codec to depart from
  deviations: [],
  description: 'Multi-parameter probes on secondary-supply tanks publishing normalised JSON.',
  format: 'json',
  reportIntervalS: 600,
  lowBatteryV: 3.0,
  metrics,
  decode: nativeJsonDecoder({ metrics }),
  examples: [
    { description: 'tank probe', json: { ph: 7.2, turbidity_ntu: 0.3, free_chlorine_mg_l: 0.4, temperature_c: 18.5 }, readings: { ph: 7.2, turbidity_ntu: 0.3, free_chlorine_mg_l: 0.4, temperature_c: 18.5 } },
  ],
});
