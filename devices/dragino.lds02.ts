import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { Bytes, requirePort } from './lib/bytes.js';
import { draginoBattery } from './lib/dragino.js';

export default defineModel({
  id: 'dragino.lds02',
  vendor: 'Dragino',
  name: 'LDS02 door sensor',
  kind: 'door_access',
  description: 'Door contact with an open counter and the duration of the last opening. MOD 1 = door counters, MOD 2 = water-leak counters (not a door reading: only state and battery are kept), MOD 3 = status only.',
  format: 'binary',
  ports: [10],
  reportIntervalS: 7200,
  lowBatteryV: 2.6,
  metrics: ['door_open', 'door_open_count', 'door_open_duration_min', 'door_alarm', 'battery_v'],
  deviations: [
    'The corpus example is a truncated 7-byte frame (real frames have 10 bytes). The vendor codec reads the missing bytes as undefined, which JavaScript bit operations turn into 0 (LAST_DOOR_OPEN_DURATION = 0x01 << 16 = 65536, ALARM = 0). This decoder reproduces that with a lenient reader for bytes 6-9 only; a frame shorter than the counter field (6 bytes) is refused.',
  ],
  decode: ({ payload, port }) => {
    requirePort(port, [10]);
    if (payload.length < 3) throw new DecodeError(`frame too short: need 3 bytes, have ${payload.length}`);
    const b = new Bytes(payload, true);
    const readings: DecodedReading[] = [
      { metric: 'battery_v', value: draginoBattery(b) },
      { metric: 'door_open', value: (b.u8(0) & 0x80) !== 0 },
    ];
    const mod = b.u8(2);
    if (mod === 1) {
      if (payload.length < 6) throw new DecodeError(`MOD 1 frame too short: need 6 bytes, have ${payload.length}`);
      readings.push(
        { metric: 'door_open_count', value: b.u24be(3) },
        { metric: 'door_open_duration_min', value: b.u24be(6) },
        { metric: 'door_alarm', value: (b.u8(9) & 0x01) !== 0 },
      );
    } else if (mod !== 2 && mod !== 3) {
      throw new DecodeError(`unknown MOD ${mod}`);
    }
    return { readings, events: [] };
  },
  examples: [
    {
      description: 'Distance Detection (corpus; truncated 7-byte frame, read as the vendor codec does)', port: 10, hex: '0B880100250001',
      readings: { battery_v: 2.952, door_open: false, door_open_count: 9472, door_open_duration_min: 65536, door_alarm: false },
    },
    { description: 'full frame: open, alarm', port: 10, hex: 'CBB80100000700000501', readings: { battery_v: 3.0, door_open: true, door_open_count: 7, door_open_duration_min: 5, door_alarm: true } },
    { description: 'status only (MOD 3)', port: 10, hex: '8BB803', readings: { battery_v: 3.0, door_open: true } },
    { description: 'unknown MOD', port: 10, hex: '0BB809', error: 'unknown MOD 9' },
    { description: 'too short', port: 10, hex: '0B', error: 'frame too short' },
  ],
});
