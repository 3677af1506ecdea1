import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { Bytes, requirePort } from './lib/bytes.js';

const RESET_CAUSES = [undefined, 'watchdog', 'power on', 'system request', 'other'];

export default defineModel({
  id: 'bosch.tps110',
  vendor: 'Bosch',
  name: 'TPS110 parking lot sensor (fw 0.29.2)',
  kind: 'parking',
  description: 'Bay occupancy on change (FPort 1), heartbeat with temperature (FPort 2), start-up frame (FPort 3). Firmware version, reset cause and debug codes of the start-up frame, and the device information, usage and debug frames (FPort 4-6), are diagnostics: device_info events.',
  format: 'binary',
  ports: [1, 2, 3, 4, 5, 6],
  reportIntervalS: 3600,
  metrics: ['occupied', 'temperature_c'],
  events: ['device_info'],
  vendorCodec: {
    codec: 'vendor/bosch/tpl110-0292.js',
    commit: '0a254aa',
    vectors: ['bosch.tps110.jsonl'],
    expect: (d) => [
      ...(typeof d.occupied === 'boolean' ? [{ metric: 'occupied', value: d.occupied }] : []),
      ...(d.temperature !== undefined ? [{ metric: 'temperature_c', value: d.temperature }] : []),
    ],
  },
  deviations: [
    'Start-up (FPort 3) debug codes, firmware version and reset cause, device information (FPort 4), device usage (FPort 5) and debug frames (FPort 6) are diagnostics: recorded as device_info events, not readings. FPort 4 and 5 are opaque to the vendor codec too (it returns the raw bytes); they are kept as hex.',
  ],
  decode: ({ payload, port }) => {
    const p = requirePort(port, [1, 2, 3, 4, 5, 6]);
    const b = new Bytes(payload);
    if (p === 1 || p === 2) {
      if (payload.length < 1) throw new DecodeError('empty frame');
      const readings: DecodedReading[] = [{ metric: 'occupied', value: (b.u8(0) & 0x01) === 1 }];
      if (p === 2 && payload.length >= 2) readings.push({ metric: 'temperature_c', value: b.i8(1) });
      return { readings, events: [] };
    }
    if (p === 3) {
      if (payload.length < 17) throw new DecodeError(`start-up frame too short: need 17 bytes, have ${payload.length}`);
      const debugCodes = [0, 4, 8].map((i) => ((b.u8(i + 1) & 0x0f) << 8) | b.u8(i)).filter((c) => c !== 0);
      const data = { debug_codes: debugCodes, firmware_version: `${b.u8(12)}.${b.u8(13)}.${b.u8(14)}`, reset_cause: RESET_CAUSES[b.u8(15)] ?? null };
      return { readings: [{ metric: 'occupied', value: (b.u8(16) & 0x01) === 1 }], events: [{ type: 'device_info', data }] };
    }
    if (payload.length < 1) throw new DecodeError('empty frame');
    if (p === 6) {
      if (payload.length < 10) throw new DecodeError(`debug frame too short: need 10 bytes, have ${payload.length}`);
      return { readings: [], events: [{ type: 'device_info', data: { debug_time: b.u32le(0), debug_code: ((b.u8(5) & 0x0f) << 8) | b.u8(4), sequence_number: b.u16le(8) } }] };
    }
    return { readings: [], events: [{ type: 'device_info', data: { [p === 4 ? 'device_information' : 'device_usage']: b.hex(0, payload.length) } }] };
  },
  examples: [
    { description: 'Parking Status (corpus)', port: 1, hex: '01', readings: { occupied: true } },
    { description: 'Heartbeat (corpus)', port: 2, hex: '01FF', readings: { occupied: true, temperature_c: -1 } },
    {
      description: 'Startup with codes 804 and 885 (corpus)', port: 3, hex: '240300007503000000000000001D020301', readings: { occupied: true },
      events: [{ type: 'device_info', data: { debug_codes: [804, 885], firmware_version: '0.29.2', reset_cause: 'system request' } }],
    },
    {
      description: 'debug frame (vendor vector)', port: 6, hex: '4C009627802AD3EA3BC4', readings: {},
      events: [{ type: 'device_info', data: { debug_time: 664141900, debug_code: 2688, sequence_number: 50235 } }],
    },
    { description: 'device usage (vendor vector)', port: 5, hex: '3600AECF0C98B3EF0990', readings: {}, events: [{ type: 'device_info', data: { device_usage: '3600AECF0C98B3EF0990' } }] },
    { description: 'bay free', port: 1, hex: '00', readings: { occupied: false } },
    { description: 'empty status', port: 1, hex: '', error: 'empty frame' },
    { description: 'unknown port', port: 9, hex: '01', error: 'unknown FPort 9' },
  ],
});
