import { defineModel } from '../src/core/model.js';
import { nativeJsonDecoder } from './lib/native-json.js';

const metrics = ['occupied', 'sensor_fault', 'battery_v', 'battery_pct', 'temperature_c'];

export default defineModel({
  id: 'generic.parking',
  vendor: 'Generic',
  name: 'Parking bay sensor (native JSON)',
  kind: 'parking',
  // the native JSON format is ours (docs/vocabulary.md): no vendor codec to depart from
  deviations: [],
  description: 'Bay sensors that publish {"occupied": bool}; the gateway derives arrival / departure events from changes.',
  format: 'json',
  reportIntervalS: 3600,
  lowBatteryV: 3.0,
  metrics,
  decode: nativeJsonDecoder({ metrics }),
  examples: [
    { description: 'bay occupied', json: { occupied: true, battery_pct: 88 }, readings: { occupied: true, battery_pct: 88 } },
    { description: 'string where a boolean belongs', json: { occupied: 'yes' }, error: 'must be a boolean' },
  ],
});
