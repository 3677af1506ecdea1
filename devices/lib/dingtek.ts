/**
 * Dingtek frames (DF702, DF703, DO201…): start byte 0x80, end byte 0x81, big-endian fields,
 * byte 3 = packet type (0x03 = parameter packet: configuration, no readings), byte 4 = frame
 * length. Models map the data bytes; this helper checks the frame.
 */
import { DecodeError, type DecodedEvent, type DecodedReading } from '../../src/core/model.js';
import { Bytes, requirePort, round } from './bytes.js';

export const DINGTEK_PORT = 3;

export interface DingtekFrame { b: Bytes; length: number; type: number; parameter: boolean }

export function dingtekFrame(payload: Buffer, port: number | undefined, lengths: readonly number[]): DingtekFrame {
  requirePort(port, [DINGTEK_PORT]);
  const b = new Bytes(payload);
  if (payload.length < 5) throw new DecodeError(`frame too short: ${payload.length} bytes`);
  if (b.u8(0) !== 0x80) throw new DecodeError(`frame must start with 0x80, got 0x${b.u8(0).toString(16)}`);
  if (b.u8(payload.length - 1) !== 0x81) throw new DecodeError(`frame must end with 0x81, got 0x${b.u8(payload.length - 1).toString(16)}`);
  const type = b.u8(3);
  if (!lengths.includes(payload.length)) throw new DecodeError(`unexpected frame length ${payload.length} (expected ${lengths.join(' or ')})`);
  if (b.u8(4) !== payload.length) throw new DecodeError(`length byte says ${b.u8(4)}, frame has ${payload.length}`);
  return { b, length: payload.length, type, parameter: type === 0x03 };
}

/** where the fill-level sensors' (DF702, DF703) fields sit: the 25-byte GPS frame moves them behind the two floats */
export interface BinLayout { temperature: number; sign: number; angle: number; alarms: number }
export const DATA17: BinLayout = { temperature: 8, sign: 9, angle: 10, alarms: 11 };
export const GPS25: BinLayout = { temperature: 16, sign: 17, angle: 18, alarms: 19 };

/**
 * The fill-level sensors' data fields: distance b5-6, then temperature (unsigned), angle sign
 * and angle, and two alarm bytes: full in the high and fire in the low nibble of the first;
 * tilt (DF702) / fall (DF703) in the high and low battery in the low nibble of the second.
 * The angle is negative when the sign byte's low nibble is set, as the layout intends (the
 * vendor codecs' test `b & (0x0f === 0x00)` is always false, so they always negate).
 */
export function binSensorReadings(b: Bytes, at: BinLayout): DecodedReading[] {
  const angle = b.u8(at.angle);
  return [
    { metric: 'distance_mm', value: b.u16be(5) },
    { metric: 'temperature_c', value: b.u8(at.temperature) },
    { metric: 'tilt_angle_deg', value: (b.u8(at.sign) & 0x0f) !== 0 ? -angle : angle },
    { metric: 'full_alarm', value: b.u8(at.alarms) >> 4 !== 0 },
    { metric: 'fire_alarm', value: (b.u8(at.alarms) & 0x0f) !== 0 },
    { metric: 'tilt', value: b.u8(at.alarms + 1) >> 4 !== 0 },
    { metric: 'battery_low', value: (b.u8(at.alarms + 1) & 0x0f) !== 0 },
  ];
}

/** The GPS frame's position (b8-11 longitude, b12-15 latitude, IEEE-754 little-endian): the bin's place, not a reading. */
export function gpsEvent(b: Bytes): DecodedEvent {
  const coord = (o: number) => { const x = b.f32le(o); return Number.isFinite(x) ? round(x, 6) : null; };
  return { type: 'device_info', data: { longitude: coord(8), latitude: coord(12) } };
}

/** the vendor codecs' angle (always the negated byte) differs from the layout's when the sign nibble is clear */
export function angleSignDiffers(hex: string, at: BinLayout): boolean {
  const p = Buffer.from(hex, 'hex');
  return p.length > at.angle && (p[at.sign]! & 0x0f) === 0 && p[at.angle] !== 0;
}
