import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { Bytes, requirePort } from './lib/bytes.js';

export default defineModel({
  id: 'bosch.tps110',
  vendor: 'Bosch',
  name: 'TPS110 parking lot sensor (fw 0.29.2)',
  kind: 'parking',
  description: 'Bay occupancy on change (FPort 1), heartbeat with temperature (FPort 2), start-up frame (FPort 3). Firmware version, reset cause and debug codes of the start-up frame are diagnostics, not readings.',
  format: 'binary',
  ports: [1, 2, 3],
  reportIntervalS: 3600,
  metrics: ['occupied', 'temperature_c'],
  decode: ({ payload, port }) => {
    const p = requirePort(port, [1, 2, 3]);
    const b = new Bytes(payload);
    const readings: DecodedReading[] = [];
    if (p === 1 || p === 2) {
      if (payload.length < 1) throw new DecodeError('empty frame');
      readings.push({ metric: 'occupied', value: (b.u8(0) & 0x01) === 1 });
      if (p === 2 && payload.length >= 2) readings.push({ metric: 'temperature_c', value: b.i8(1) });
    } else {
      if (payload.length < 17) throw new DecodeError(`start-up frame too short: need 17 bytes, have ${payload.length}`);
      readings.push({ metric: 'occupied', value: (b.u8(16) & 0x01) === 1 });
    }
    return { readings, events: [] };
  },
  examples: [
    { description: 'Parking Status (corpus)', port: 1, hex: '01', readings: { occupied: true } },
    { description: 'Heartbeat (corpus)', port: 2, hex: '01FF', readings: { occupied: true, temperature_c: -1 } },
    { description: 'Startup with codes 804 and 885 (corpus)', port: 3, hex: '240300007503000000000000001D020301', readings: { occupied: true } },
    { description: 'bay free', port: 1, hex: '00', readings: { occupied: false } },
    { description: 'empty status', port: 1, hex: '', error: 'empty frame' },
    { description: 'unknown port', port: 9, hex: '01', error: 'unknown FPort 9' },
  ],
});
