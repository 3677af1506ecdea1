import { defineModel, DecodeError } from '../src/core/model.js';
import type { Decoded, VendorVector } from '../src/core/model.js';
import { Bytes, requirePort } from './lib/bytes.js';

const COMMIT = '0a254aa';
const RESET_CAUSES = [undefined, 'watchdog', 'power_on', 'user_request', 'brownout', 'other'];
const kind = (...kinds: string[]) => (v: VendorVector) => kinds.includes(v.kind);

export default defineModel({
  id: 'nwave.nps310sm',
  vendor: 'Nwave',
  name: 'NPS310SM surface-mounted parking sensor (NPS-3.10-SM)',
  kind: 'parking',
  description: 'Bay occupancy on every change (FPort 1) and in the heartbeat (FPort 2); start-up frame with firmware version and reset cause (FPort 3); debug frames (FPort 6) are recorded as device information.',
  format: 'binary',
  ports: [1, 2, 3, 6],
  // Nwave sensors send a heartbeat every hour (as the NPS405 model); occupancy changes come in between
  reportIntervalS: 3600,
  metrics: ['occupied'],
  events: ['device_info'],
  vendorCodec: {
    codec: 'vendor/nwave/nps310sm.js',
    commit: COMMIT,
    vectors: ['nwave.nps310sm.jsonl'],
    expect: (d) => (d.occupied !== undefined && d.type !== 'debug' ? [{ metric: 'occupied', value: d.occupied }] : []),
  },
  deviations: [
    {
      id: 'empty-frame',
      reason: 'An empty status or heartbeat frame carries no occupancy byte; the vendor codec reads the missing byte as 0 and reports occupied=false, which would fake a departure. The gateway dead-letters it.',
      commit: COMMIT,
      applies: kind('empty'),
      expect: () => 'error',
    },
    {
      id: 'truncated-startup',
      reason: 'A start-up frame shorter than its 5 bytes has no occupancy byte; the vendor codec reports occupied=false (and a firmware version "1.13.undefined"). The gateway dead-letters it instead of faking a state.',
      commit: COMMIT,
      applies: kind('truncated-startup'),
      expect: () => 'error',
    },
    'Firmware version and reset cause of the start-up frame, and debug frames, are device information (device_info events), not readings.',
  ],
  decode: ({ payload, port }): Decoded => {
    const p = requirePort(port, [1, 2, 3, 6]);
    const b = new Bytes(payload);
    if (p === 6) return { readings: [], events: [{ type: 'device_info', data: { frame: 'debug', hex: payload.toString('hex').toUpperCase() } }] };
    const need = p === 3 ? 5 : 1;
    if (payload.length < need) throw new DecodeError(`frame too short: need ${need} bytes, have ${payload.length}`);
    if (p !== 3) return { readings: [{ metric: 'occupied', value: (b.u8(0) & 0x01) === 1 }], events: [] };
    const cause = RESET_CAUSES[b.u8(3)];
    return {
      readings: [{ metric: 'occupied', value: (b.u8(4) & 0x01) === 1 }],
      events: [{ type: 'device_info', data: { frame: 'startup', firmwareVersion: `${b.u8(0)}.${b.u8(1)}.${b.u8(2)}`, ...(cause ? { resetCause: cause } : {}) } }],
    };
  },
  examples: [
    { description: 'Parking Status (vendor example)', port: 1, hex: '01', readings: { occupied: true } },
    { description: 'Heartbeat (vendor example)', port: 2, hex: '00', readings: { occupied: false } },
    {
      description: 'Startup (vendor example)', port: 3, hex: '010D000200', readings: { occupied: false },
      events: [{ type: 'device_info', data: { frame: 'startup', firmwareVersion: '1.13.0', resetCause: 'power_on' } }],
    },
    { description: 'status byte with other bits set: only bit 0 is occupancy', port: 1, hex: 'FE', readings: { occupied: false } },
    { description: 'debug frame', port: 6, hex: '0102', events: [{ type: 'device_info', data: { frame: 'debug', hex: '0102' } }] },
    { description: 'empty status frame', port: 1, hex: '', error: 'frame too short' },
    { description: 'truncated startup frame', port: 3, hex: '010D0002', error: 'frame too short' },
    { description: 'wrong port', port: 4, hex: '01', error: 'unknown FPort 4' },
  ],
});
