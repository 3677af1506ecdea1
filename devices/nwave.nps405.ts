import { defineModel, DecodeError } from '../src/core/model.js';
import type { Decoded, DecodedReading } from '../src/core/model.js';
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

/**
 * SDI tag registration: the occupancy part only when bit 0 is set (Nwave: a clear bit means
 * "unknown", not "free"); the tag id as a credential, which ingest pseudonymises.
 */
function registration(b: Bytes): Decoded {
  const tag = b.hex(1, 4);
  return { readings: (b.u8(0) & 0x01) === 1 ? status(b) : [], events: [{ type: 'device_info', data: { registration: 'sdi_tag', credential: `tag:${tag}` } }] };
}

const RESET_CAUSES = ['rejoining_lorawan_network', 'watchdog', 'power_on', 'user_request', undefined, undefined, 'brownout', 'other'];

export default defineModel({
  id: 'nwave.nps405',
  vendor: 'Nwave',
  name: 'NPS405 parking sensor (NPS405SM/FM)',
  kind: 'parking',
  description: 'Bay occupancy with how long the bay was in its previous state; heartbeat with battery, temperature and hardware health; start-up frame (occupancy, firmware and reset cause); SDI tag registration (FPort 10); debug frames (FPort 6, recorded as device_info).',
  format: 'binary',
  ports: [1, 2, 3, 6, 10],
  reportIntervalS: 3600,
  lowBatteryV: 3.0,
  metrics: ['occupied', 'previous_state_duration_min', 'battery_v', 'battery_low', 'temperature_c', 'sensor_fault'],
  events: ['device_info'],
  vendorCodec: {
    codec: 'vendor/nwave/nps405.js',
    commit: '62c8acd',
    vectors: ['nwave.nps405.jsonl'],
    expect: (d) => [
      ...(typeof d.occupied === 'boolean' ? [{ metric: 'occupied', value: d.occupied }] : []),
      ...(typeof d.previous_state_duration === 'number' ? [{ metric: 'previous_state_duration_min', value: d.previous_state_duration }] : []),
      ...(d.battery_voltage !== undefined ? [{ metric: 'battery_v', value: d.battery_voltage }] : []),
      ...(d.battery_health !== undefined ? [{ metric: 'battery_low', value: d.battery_health !== 'normal' }] : []),
      ...(d.temperature !== undefined ? [{ metric: 'temperature_c', value: d.temperature }] : []),
      ...(d.hw_health_status !== undefined ? [{ metric: 'sensor_fault', value: d.hw_health_status !== 0 }] : []),
    ],
  },
  deviations: [
    'previous_state_duration code 127 is an overflow: the vendor codec gives 660 min with previous_state_duration_overflow = true and no error bound, i.e. "longer than 11 h", a lower bound and not a duration. No previous_state_duration_min is stored for it (no vector has it; the example "overflowed duration" shows it).',
    {
      id: 'hw-health-without-occupancy-bit',
      reason: 'Heartbeat hardware health: the vendor codec takes byte0 & 0x7F, which includes the occupancy bit (bit 0), so every occupied heartbeat with a healthy sensor reads hw_health_status = 1, a fault. This decoder takes bits 1-6 ((byte0 >> 1) & 0x3F) as the health code and sets sensor_fault only when that is non-zero.',
      commit: '62c8acd',
      applies: (v) => v.fPort === 2 && (parseInt(v.hex.slice(0, 2), 16) & 0x7f) === 0x01,
      expect: (exp) => (exp === 'error' ? exp : exp.map((r) => (r.metric === 'sensor_fault' ? { ...r, value: false } : r))),
    },
    'FPort 10 tag registration: the tag id identifies a resident\'s tag, so it is recorded as the credential of a device_info event, which ingest pseudonymises (VOCABULARY.md, privacy), never in clear; the vendor codec prints it from a signed 32-bit value ("-210D75FD"), this decoder as the 4 bytes in hex. With bit 0 clear the vendor codec gives occupied = null (unknown): no occupancy is stored then, so a registration never fakes a departure.',
    'Start-up (FPort 3) firmware version and reset cause, and debug frames (FPort 6), are recorded as device_info events, not readings.',
  ],
  decode: ({ payload, port }) => {
    const p = requirePort(port, [1, 2, 3, 6, 10]);
    const b = new Bytes(payload);
    const need = { 1: 1, 2: 3, 3: 5, 6: 1, 10: 6 }[p]!;
    if (payload.length < need) throw new DecodeError(`frame too short: need ${need} bytes, have ${payload.length}`);
    if (p === 1) return { readings: status(b), events: [] };
    if (p === 10) return registration(b);
    if (p === 6) return { readings: [], events: [{ type: 'device_info', data: { debug: b.hex(0, payload.length) } }] };
    if (p === 3) {
      const data: Record<string, unknown> = { firmware_version: `${b.u8(0)}.${b.u8(1)}.${b.u8(2)}`, reset_cause: RESET_CAUSES[b.u8(3)] ?? null };
      return { readings: [{ metric: 'occupied', value: (b.u8(4) & 0x01) === 1 }], events: [{ type: 'device_info', data }] };
    }
    const mv = 2500 + b.u8(1) * 4;
    const temp = b.i8(2) / 2 + 10;
    // Nwave's battery health: "normal" at or above 3.0 V (2.9 V below -5 °C); low and critical both set battery_low
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
    {
      description: 'User Registration (corpus)', port: 10, hex: 'D1201F345678', readings: { occupied: true, previous_state_duration_min: 160 },
      events: [{ type: 'device_info', data: { registration: 'sdi_tag', credential: 'h:example-12' } }],
    },
    // issue 12: bit 0 clear was stored as occupied = false; vendor: occupied null (unknown)
    {
      description: 'tag registration with occupancy unknown (vendor vector): no occupancy stored', port: 10, hex: '825812C4FFD3', readings: {},
      events: [{ type: 'device_info', data: { registration: 'sdi_tag', credential: 'h:example-12' } }],
    },
    { description: 'Heartbeat (corpus)', port: 2, hex: '00D3D800590B', readings: { occupied: false, battery_v: 3.344, temperature_c: -10, battery_low: false, sensor_fault: false } },
    { description: 'Startup (corpus)', port: 3, hex: '0204090200', readings: { occupied: false }, events: [{ type: 'device_info', data: { firmware_version: '2.4.9', reset_cause: 'power_on' } }] },
    { description: 'debug frame (vendor vector)', port: 6, hex: '01020304', readings: {}, events: [{ type: 'device_info', data: { debug: '01020304' } }] },
    { description: 'overflowed duration', port: 1, hex: 'FF', readings: { occupied: true } },
    { description: 'low battery heartbeat', port: 2, hex: '017814', readings: { occupied: true, battery_v: 2.98, temperature_c: 20, battery_low: true, sensor_fault: false } },
    { description: 'empty heartbeat', port: 2, hex: '00', error: 'frame too short' },
  ],
});
