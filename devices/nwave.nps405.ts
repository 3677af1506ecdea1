import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { Bytes, requirePort, round } from './lib/bytes.js';

/** Nwave's compressed duration: minutes, coarser steps for longer durations. */
export function previousStateMinutes(c: number): number | undefined {
  if (c < 90) return c;
  if (c < 120) return 90 + (c - 90) * 5;
  if (c < 127) return 240 + (c - 120) * 60;
  return undefined; // 127 = overflow: longer than 11 h, not known
}

function status(b: Bytes): DecodedReading[] {
  const byte = b.u8(0);
  const out: DecodedReading[] = [{ metric: 'occupied', value: (byte & 0x01) === 1 }];
  const minutes = previousStateMinutes((byte >> 1) & 0x7f);
  if (minutes !== undefined) out.push({ metric: 'previous_state_duration_min', value: minutes });
  return out;
}

export default defineModel({
  id: 'nwave.nps405',
  vendor: 'Nwave',
  name: 'NPS405 parking sensor (NPS405SM/FM)',
  kind: 'parking',
  description: 'Bay occupancy with how long the bay was in its previous state; heartbeat with battery, temperature and hardware health; start-up frame; SDI tag registration (FPort 10).',
  format: 'binary',
  ports: [1, 2, 3, 10],
  reportIntervalS: 3600,
  lowBatteryV: 3.0,
  metrics: ['occupied', 'previous_state_duration_min', 'battery_v', 'battery_low', 'temperature_c', 'sensor_fault'],
  deviations: [
    'previous_state_duration overflow (code 127, longer than 11 h) has no value: no previous_state_duration_min is stored.',
    'Heartbeat hardware health: the layout in words gives byte0 & 0x7F, which overlaps the occupancy bit (bit 0), so every occupied heartbeat would report a fault. This decoder takes bits 1-6 ((byte0 >> 1) & 0x3F) as the health code and sets sensor_fault when it is non-zero; the corpus heartbeat (byte0 = 0x00) gives no fault either way.',
    'FPort 10 tag registration: the tag\'s battery and id belong to the tag, not to the bay sensor; only the occupancy part is stored.',
  ],
  decode: ({ payload, port }) => {
    const p = requirePort(port, [1, 2, 3, 10]);
    const b = new Bytes(payload);
    const need = { 1: 1, 2: 3, 3: 5, 10: 6 }[p]!;
    if (payload.length < need) throw new DecodeError(`frame too short: need ${need} bytes, have ${payload.length}`);
    if (p === 1 || p === 10) return { readings: status(b), events: [] };
    if (p === 3) return { readings: [{ metric: 'occupied', value: (b.u8(4) & 0x01) === 1 }], events: [] };
    const mv = 2500 + b.u8(1) * 4;
    const temp = b.i8(2) / 2 + 10;
    const low = temp >= -5 ? mv < 3000 : mv < 2900;
    return {
      readings: [
        { metric: 'occupied', value: (b.u8(0) & 0x01) === 1 },
        { metric: 'battery_v', value: round(mv / 1000, 3) },
        { metric: 'temperature_c', value: temp },
        { metric: 'battery_low', value: low },
        { metric: 'sensor_fault', value: ((b.u8(0) >> 1) & 0x3f) !== 0 },
      ],
      events: [],
    };
  },
  examples: [
    { description: 'Parking Status (corpus)', port: 1, hex: '95', readings: { occupied: true, previous_state_duration_min: 74 } },
    { description: 'User Registration (corpus)', port: 10, hex: 'D1201F345678', readings: { occupied: true, previous_state_duration_min: 160 } },
    { description: 'Heartbeat (corpus)', port: 2, hex: '00D3D800590B', readings: { occupied: false, battery_v: 3.344, temperature_c: -10, battery_low: false, sensor_fault: false } },
    { description: 'Startup (corpus)', port: 3, hex: '0204090200', readings: { occupied: false } },
    { description: 'overflowed duration', port: 1, hex: 'FF', readings: { occupied: true } },
    { description: 'low battery heartbeat', port: 2, hex: '017814', readings: { occupied: true, battery_v: 2.98, temperature_c: 20, battery_low: true, sensor_fault: false } },
    { description: 'empty heartbeat', port: 2, hex: '00', error: 'frame too short' },
  ],
});
