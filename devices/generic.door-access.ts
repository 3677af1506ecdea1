import { defineModel } from '../src/core/model.js';
import { nativeJsonDecoder } from './lib/native-json.js';

const metrics = ['door_open', 'door_open_count', 'door_alarm', 'tamper', 'battery_v', 'battery_pct', 'temperature_c'];
const events = ['access_granted', 'access_denied', 'door_forced', 'door_held_open', 'tamper'] as const;

export default defineModel({
  id: 'generic.door-access',
  vendor: 'Generic',
  name: 'Door access controller (native JSON)',
  kind: 'door_access',
  // the native JSON format is ours (docs/vocabulary.md): no vendor codec to depart from
  deviations: [],
  description: 'Access controllers and door contacts that publish normalised JSON over MQTT. Events carry the raw credential, which the gateway pseudonymises before storing.',
  format: 'json',
  reportIntervalS: 3600,
  lowBatteryV: 3.0,
  metrics,
  events: [...events],
  decode: nativeJsonDecoder({ metrics, events, eventFields: ['credential', 'direction', 'door', 'reason'] }),
  examples: [
    { description: 'door opened', json: { door_open: true, battery_v: 3.6 }, readings: { door_open: true, battery_v: 3.6 } },
    {
      description: 'card granted, with timestamp',
      json: { ts: '2026-11-22T08:00:00Z', event: 'access_granted', credential: 'card:04A1B2C3', direction: 'in' },
      events: [{ type: 'access_granted', data: { credential: 'h:example-13', direction: 'in' } }],
    },
    { description: 'unknown key refused', json: { door_open: true, colour: 'red' }, error: 'unknown key' },
  ],
});
