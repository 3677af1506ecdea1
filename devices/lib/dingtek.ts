/**
 * Dingtek frames (DF702, DF703, DO201…): start byte 0x80, end byte 0x81, big-endian fields,
 * byte 3 = packet type (0x03 = parameter packet: configuration, no readings), byte 4 = frame
 * length. Models map the data bytes; this helper checks the frame.
 */
import { DecodeError, type DecodedReading } from '../../src/core/model.js';
import { Bytes, requirePort } from './bytes.js';

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

/**
 * The fill-level sensors' data fields (DF702, DF703): distance b5-6, then at the given
 * offsets temperature, angle sign and angle, and two alarm bytes: fire in the low nibble
 * of the first; tilt (DF702) / fall (DF703) in the high nibble and low battery in the low
 * nibble of the second. The angle sign is applied as the layout intends (non-zero = negative).
 */
export function binSensorReadings(b: Bytes, at: { temperature: number; sign: number; angle: number; alarms: number }): DecodedReading[] {
  const angle = b.u8(at.angle);
  return [
    { metric: 'distance_mm', value: b.u16be(5) },
    { metric: 'temperature_c', value: b.u8(at.temperature) },
    { metric: 'tilt_angle_deg', value: b.u8(at.sign) !== 0 ? -angle : angle },
    { metric: 'fire_alarm', value: (b.u8(at.alarms) & 0x0f) !== 0 },
    { metric: 'tilt', value: b.u8(at.alarms + 1) >> 4 !== 0 },
    { metric: 'battery_low', value: (b.u8(at.alarms + 1) & 0x0f) !== 0 },
  ];
}

/** 17-byte data frame offsets */
export const DATA17 = { temperature: 8, sign: 9, angle: 10, alarms: 11 };
