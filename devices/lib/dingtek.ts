/**
 * Dingtek frames (DF702, DF703, DO201…): start byte 0x80, end byte 0x81, big-endian fields,
 * byte 3 = packet type (0x03 = parameter packet: configuration, no readings), byte 4 = frame
 * length. Models map the data bytes; this helper checks the frame.
 */
import { DecodeError } from '../../src/core/model.js';
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
