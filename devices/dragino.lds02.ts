import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { Bytes, requirePort } from './lib/bytes.js';
import { draginoBattery } from './lib/dragino.js';

const has = (d: Record<string, unknown>, k: string) => d[k] !== undefined;

export default defineModel({
  id: 'dragino.lds02',
  vendor: 'Dragino',
  name: 'LDS02 door sensor',
  kind: 'door_access',
  description: 'Door contact (byte 0 bit 7) and water-leak probe (bit 6). MOD 1 = door counters (openings, last opening, alarm), MOD 2 = water-leak counters (leaks, last leak), MOD 3 = door and leak state with the alarm; any other MOD carries the battery only.',
  format: 'binary',
  ports: [10],
  reportIntervalS: 7200,
  lowBatteryV: 2.6,
  metrics: ['door_open', 'door_open_count', 'door_open_duration_min', 'door_alarm', 'leak', 'leak_count', 'leak_duration_min', 'battery_v'],
  vendorCodec: {
    codec: 'vendor/dragino/lds02.js',
    commit: '0a254aa',
    vectors: ['dragino.lds02.jsonl'],
    expect: (d) => [
      { metric: 'battery_v', value: d.BAT_V },
      ...(has(d, 'DOOR_OPEN_STATUS') ? [{ metric: 'door_open', value: d.DOOR_OPEN_STATUS === 1 }] : []),
      ...(has(d, 'DOOR_OPEN_TIMES') ? [{ metric: 'door_open_count', value: d.DOOR_OPEN_TIMES }] : []),
      ...(has(d, 'LAST_DOOR_OPEN_DURATION') ? [{ metric: 'door_open_duration_min', value: d.LAST_DOOR_OPEN_DURATION }] : []),
      ...(has(d, 'ALARM') ? [{ metric: 'door_alarm', value: d.ALARM === 1 }] : []),
      ...(has(d, 'WATER_LEAK_STATUS') ? [{ metric: 'leak', value: d.WATER_LEAK_STATUS === 1 }] : []),
      ...(has(d, 'WATER_LEAK_TIMES') ? [{ metric: 'leak_count', value: d.WATER_LEAK_TIMES }] : []),
      ...(has(d, 'LAST_WATER_LEAK_DURATION') ? [{ metric: 'leak_duration_min', value: d.LAST_WATER_LEAK_DURATION }] : []),
    ],
  },
  deviations: [
    'The corpus example is a truncated 7-byte frame (real frames have 10 bytes). The vendor codec reads the missing bytes as undefined, which JavaScript bit operations turn into 0 (LAST_DOOR_OPEN_DURATION = 0x01 << 16 = 65536, ALARM = 0). This decoder reproduces that with a lenient reader for bytes 6-9 only; a frame shorter than the counter field (6 bytes) is refused.',
  ],
  decode: ({ payload, port }) => {
    requirePort(port, [10]);
    if (payload.length < 3) throw new DecodeError(`frame too short: need 3 bytes, have ${payload.length}`);
    const b = new Bytes(payload, true);
    const readings: DecodedReading[] = [{ metric: 'battery_v', value: draginoBattery(b) }];
    const door = (b.u8(0) & 0x80) !== 0;
    const leak = (b.u8(0) & 0x40) !== 0;
    const alarm = (b.u8(9) & 0x01) !== 0;
    const mod = b.u8(2);
    if (mod === 1 || mod === 2) {
      if (payload.length < 6) throw new DecodeError(`MOD ${mod} frame too short: need 6 bytes, have ${payload.length}`);
      if (mod === 1) {
        readings.push(
          { metric: 'door_open', value: door },
          { metric: 'door_open_count', value: b.u24be(3) },
          { metric: 'door_open_duration_min', value: b.u24be(6) },
          { metric: 'door_alarm', value: alarm },
        );
      } else {
        readings.push({ metric: 'leak', value: leak }, { metric: 'leak_count', value: b.u24be(3) }, { metric: 'leak_duration_min', value: b.u24be(6) });
      }
    } else if (mod === 3) {
      readings.push({ metric: 'door_open', value: door }, { metric: 'leak', value: leak }, { metric: 'door_alarm', value: alarm });
    }
    // other MOD values: the vendor codec decodes the battery only, and so does this one
    return { readings, events: [] };
  },
  examples: [
    {
      description: 'Distance Detection (corpus; truncated 7-byte frame, read as the vendor codec does)', port: 10, hex: '0B880100250001',
      readings: { battery_v: 2.952, door_open: false, door_open_count: 9472, door_open_duration_min: 65536, door_alarm: false },
    },
    { description: 'full frame: open, alarm', port: 10, hex: 'CBB80100000700000501', readings: { battery_v: 3.0, door_open: true, door_open_count: 7, door_open_duration_min: 5, door_alarm: true } },
    {
      // issue 12: the MOD 3 alarm was dropped; vendor: BAT_V 3.273, DOOR_OPEN_STATUS 1, WATER_LEAK_STATUS 0, ALARM 0
      description: 'MOD 3 status (vendor vector): door, leak and alarm', port: 10, hex: '8CC90301605900107200', readings: { battery_v: 3.273, door_open: true, leak: false, door_alarm: false },
    },
    { description: 'MOD 3 with the alarm set', port: 10, hex: '4CA8030047B1000D1F01', readings: { battery_v: 3.24, door_open: false, leak: true, door_alarm: true } },
    {
      // issue 12: MOD 2 was stored as a door reading; vendor: WATER_LEAK_STATUS 1, WATER_LEAK_TIMES 3263, LAST_WATER_LEAK_DURATION 109
      description: 'MOD 2 water-leak counters (vendor vector)', port: 10, hex: 'CD4602000CBF00006D01', readings: { battery_v: 3.398, leak: true, leak_count: 3263, leak_duration_min: 109 },
    },
    // issue 12: other MOD values were dead-lettered; vendor: BAT_V 2.835, MOD 0
    { description: 'MOD 0 (vendor vector): battery only', port: 10, hex: 'CB13000130BF000CC100', readings: { battery_v: 2.835 } },
    { description: 'MOD 3 status only, 3 bytes', port: 10, hex: '8BB803', readings: { battery_v: 3.0, door_open: true, leak: false, door_alarm: false } },
    { description: 'too short', port: 10, hex: '0B', error: 'frame too short' },
  ],
});
