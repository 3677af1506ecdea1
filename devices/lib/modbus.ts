/**
 * Modbus, as pure functions: read requests and responses in both framings a field
 * connector meets (Modbus TCP with its MBAP header; Modbus RTU with CRC-16, as a
 * transparent DTU tunnels it), register maps (address, function, type, scale, word order),
 * batching of adjacent registers, and the "register image" a poll hands to the ingest
 * pipeline. Spec: Modbus Application Protocol V1.1b3 (PDU, exception codes), Modbus over
 * Serial Line V1.02 (RTU frame, CRC), Modbus Messaging on TCP/IP V1.0b (MBAP).
 */
import { z } from 'zod';
import { DecodeError, type DecodedReading } from '../../src/core/model.js';
import { metricDef } from '../../src/core/vocabulary.js';
import { round } from './bytes.js';

export const FUNCTION_CODES = { holding: 0x03, input: 0x04 } as const;
export type RegisterFunction = keyof typeof FUNCTION_CODES;

/** Application Protocol V1.1b3 §7 */
export const EXCEPTIONS: Record<number, string> = {
  0x01: 'illegal function',
  0x02: 'illegal data address',
  0x03: 'illegal data value',
  0x04: 'server device failure',
  0x05: 'acknowledge',
  0x06: 'server device busy',
  0x08: 'memory parity error',
  0x0a: 'gateway path unavailable',
  0x0b: 'gateway target device failed to respond',
};

/** A read request may ask for at most 125 registers (Application Protocol §6.3, §6.4). */
export const MAX_READ_REGISTERS = 125;

const TYPE_WORDS = { uint16: 1, int16: 1, uint32: 2, int32: 2, float32: 2 } as const;
export type RegisterType = keyof typeof TYPE_WORDS;

export const RegisterSchema = z.strictObject({
  metric: z.string().min(1).refine((m) => metricDef(m)?.type === 'number', 'must be a numeric metric of the vocabulary (docs/vocabulary.md)'),
  address: z.number().int().min(0).max(65535),
  function: z.enum(['holding', 'input']).default('holding'),
  type: z.enum(['uint16', 'int16', 'uint32', 'int32', 'float32']).default('uint16'),
  /** 32-bit values: big = high word at the lower address (Modbus' own convention); little = low word first */
  wordOrder: z.enum(['big', 'little']).default('big'),
  scale: z.number().refine((s) => Number.isFinite(s) && s !== 0, 'must be a finite, non-zero number').default(1),
  offset: z.number().default(0),
}).refine((r) => r.address + TYPE_WORDS[r.type] - 1 <= 65535, { message: 'register runs past address 65535', path: ['address'] });
export type Register = z.infer<typeof RegisterSchema>;

export const RegisterListSchema = z.array(RegisterSchema).min(1).max(500).superRefine((regs, ctx) => {
  const seen = new Set<string>();
  regs.forEach((r, i) => {
    if (seen.has(r.metric)) ctx.addIssue({ code: 'custom', path: [i, 'metric'], message: `metric ${r.metric} mapped twice` });
    seen.add(r.metric);
  });
});

export function registerWords(r: Pick<Register, 'type'>): number {
  return TYPE_WORDS[r.type];
}

/** One read request: function, first register, number of registers. */
export interface ReadBlock {
  function: RegisterFunction;
  start: number;
  count: number;
}

/**
 * Merges the registers of a map into as few reads as possible: registers of the same
 * function whose ranges touch or overlap share a read, up to maxCount registers. Gaps
 * are never read across: an unmapped register in between may answer "illegal data
 * address" and fail the whole read.
 */
export function planReads(registers: readonly Register[], maxCount = MAX_READ_REGISTERS): ReadBlock[] {
  const blocks: ReadBlock[] = [];
  for (const fn of ['holding', 'input'] as const) {
    const ranges = registers.filter((r) => r.function === fn).map((r) => [r.address, r.address + registerWords(r) - 1] as const).sort((a, b) => a[0] - b[0]);
    let cur: ReadBlock | undefined;
    for (const [lo, hi] of ranges) {
      const end = cur ? cur.start + cur.count - 1 : -2;
      if (cur && lo <= end + 1 && Math.max(end, hi) - cur.start + 1 <= maxCount) {
        cur.count = Math.max(end, hi) - cur.start + 1;
      } else {
        cur = { function: fn, start: lo, count: hi - lo + 1 };
        blocks.push(cur);
      }
    }
  }
  return blocks;
}

// --- the register image: what a poll read, as one binary payload ---------------------------
// Per block: function code (1), start address (2, BE), byte count (1), register bytes: the
// read response PDU (function, byte count, data) preceded by its request's start address,
// so the payload can be decoded (and dead-lettered) without the request beside it.

export function encodeImage(blocks: ReadonlyArray<{ block: ReadBlock; data: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const { block, data } of blocks) {
    if (data.length !== block.count * 2) throw new Error(`block at ${block.start}: ${data.length} bytes for ${block.count} registers`);
    const head = Buffer.alloc(4);
    head[0] = FUNCTION_CODES[block.function];
    head.writeUInt16BE(block.start, 1);
    head[3] = data.length;
    parts.push(head, data);
  }
  return Buffer.concat(parts);
}

/** register words by function code and address */
export type RegisterImage = Map<number, Map<number, number>>;

export function parseImage(payload: Buffer): RegisterImage {
  const image: RegisterImage = new Map();
  if (payload.length === 0) throw new DecodeError('empty register image');
  let o = 0;
  while (o < payload.length) {
    if (o + 4 > payload.length) throw new DecodeError(`register image truncated at byte ${o}: block header needs 4 bytes`);
    const fc = payload[o]!;
    if (fc !== 0x03 && fc !== 0x04) throw new DecodeError(`register image: function code 0x${fc.toString(16)} at byte ${o} is not a register read (0x03, 0x04)`);
    const start = payload.readUInt16BE(o + 1);
    const bytes = payload[o + 3]!;
    if (bytes === 0 || bytes % 2 !== 0) throw new DecodeError(`register image: odd or zero byte count ${bytes} at byte ${o + 3}`);
    if (o + 4 + bytes > payload.length) throw new DecodeError(`register image truncated: block at byte ${o} needs ${bytes} data bytes, has ${payload.length - o - 4}`);
    let words = image.get(fc);
    if (!words) image.set(fc, (words = new Map()));
    for (let i = 0; i < bytes / 2; i++) {
      if (start + i > 65535) throw new DecodeError(`register image: block at byte ${o} runs past address 65535`);
      words.set(start + i, payload.readUInt16BE(o + 4 + 2 * i));
    }
    o += 4 + bytes;
  }
  return image;
}

function decimalsOf(scale: number): number {
  const s = String(scale);
  const e = /e-(\d+)$/.exec(s);
  if (e) return Number(e[1]);
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

/** The value of one mapped register, scaled; undefined when the image lacks its words. */
export function registerValue(image: RegisterImage, r: Register): number | undefined {
  const words = image.get(FUNCTION_CODES[r.function]);
  const w0 = words?.get(r.address);
  if (w0 === undefined) return undefined;
  let raw: number;
  if (r.type === 'uint16') raw = w0;
  else if (r.type === 'int16') raw = (w0 << 16) >> 16;
  else {
    const w1 = words!.get(r.address + 1);
    if (w1 === undefined) return undefined;
    const [hi, lo] = r.wordOrder === 'big' ? [w0, w1] : [w1, w0];
    const b = Buffer.alloc(4);
    b.writeUInt16BE(hi, 0);
    b.writeUInt16BE(lo, 2);
    raw = r.type === 'uint32' ? b.readUInt32BE(0) : r.type === 'int32' ? b.readInt32BE(0) : b.readFloatBE(0);
  }
  if (!Number.isFinite(raw)) throw new DecodeError(`register ${r.address} (${r.metric}): float32 is NaN or infinite`);
  const v = raw * r.scale + r.offset;
  // a float32 keeps ~7 significant digits; integer registers are exact up to the scale's decimals
  return r.type === 'float32' ? Number(v.toPrecision(7)) : round(v, Math.min(10, decimalsOf(r.scale) + decimalsOf(r.offset)));
}

/** Every register of the map must be in the image: a poll is read whole or not at all. */
export function decodeRegisters(payload: Buffer, registers: readonly Register[]): DecodedReading[] {
  const image = parseImage(payload);
  return registers.map((r) => {
    const value = registerValue(image, r);
    if (value === undefined) throw new DecodeError(`register image lacks ${r.function} register ${r.address}${registerWords(r) === 2 ? `-${r.address + 1}` : ''} (${r.metric})`);
    return { metric: r.metric, value };
  });
}

/** Register words for a value (simulators, tests): the inverse of registerValue. */
export function encodeRegister(r: Register, value: number): number[] {
  const raw = (value - r.offset) / r.scale;
  const b = Buffer.alloc(4);
  if (r.type === 'uint16') return [Math.round(raw) & 0xffff];
  if (r.type === 'int16') return [Math.round(raw) & 0xffff];
  if (r.type === 'uint32') b.writeUInt32BE(Math.round(raw) >>> 0);
  else if (r.type === 'int32') b.writeInt32BE(Math.round(raw));
  else b.writeFloatBE(raw);
  const hi = b.readUInt16BE(0);
  const lo = b.readUInt16BE(2);
  return r.wordOrder === 'big' ? [hi, lo] : [lo, hi];
}

// --- wire framing -------------------------------------------------------------------------

/** CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), sent low byte first (Serial Line §2.5.1.2). */
export function crc16(buf: Buffer): number {
  let crc = 0xffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

function readPdu(block: ReadBlock): Buffer {
  const pdu = Buffer.alloc(5);
  pdu[0] = FUNCTION_CODES[block.function];
  pdu.writeUInt16BE(block.start, 1);
  pdu.writeUInt16BE(block.count, 3);
  return pdu;
}

export function rtuReadRequest(unitId: number, block: ReadBlock): Buffer {
  const body = Buffer.concat([Buffer.from([unitId]), readPdu(block)]);
  const crc = Buffer.alloc(2);
  crc.writeUInt16LE(crc16(body));
  return Buffer.concat([body, crc]);
}

export function mbapReadRequest(transactionId: number, unitId: number, block: ReadBlock): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt16BE(transactionId & 0xffff, 0);
  head.writeUInt16BE(0, 2); // protocol id 0 = Modbus
  head.writeUInt16BE(6, 4); // unit id + 5-byte PDU
  head[6] = unitId;
  return Buffer.concat([head, readPdu(block)]);
}

/** What a response matcher found in the receive buffer. */
export type ResponseMatch =
  | { kind: 'incomplete' }
  | { kind: 'data'; data: Buffer; length: number }
  | { kind: 'exception'; code: number; length: number }
  | { kind: 'invalid'; reason: string; length: number };

export class ModbusException extends Error {
  constructor(readonly code: number, readonly unitId: number, readonly block: ReadBlock) {
    super(`Modbus exception 0x${code.toString(16).padStart(2, '0')} (${EXCEPTIONS[code] ?? 'unknown'}) from unit ${unitId} reading ${block.function} ${block.start}+${block.count}`);
    this.name = 'ModbusException';
  }
}

function pduMatch(pdu: Buffer, fc: number, count: number, frameLength: number): ResponseMatch {
  if (pdu[0] === (fc | 0x80)) return { kind: 'exception', code: pdu[1] ?? 0, length: frameLength };
  if (pdu[0] !== fc) return { kind: 'invalid', reason: `function 0x${pdu[0]?.toString(16)} in the response to 0x${fc.toString(16)}`, length: frameLength };
  if (pdu[1] !== count * 2) return { kind: 'invalid', reason: `byte count ${pdu[1]} for ${count} registers`, length: frameLength };
  return { kind: 'data', data: Buffer.from(pdu.subarray(2, 2 + count * 2)), length: frameLength };
}

/**
 * A Modbus RTU response at the start of buf. RTU has no transaction id: the unit, the
 * function and the length say whose answer it is, and the CRC that it arrived whole.
 */
export function matchRtuResponse(buf: Buffer, unitId: number, block: ReadBlock): ResponseMatch {
  const fc = FUNCTION_CODES[block.function];
  if (buf.length < 2) return { kind: 'incomplete' };
  const exception = buf[1] === (fc | 0x80);
  const length = exception ? 5 : 3 + block.count * 2 + 2;
  if (buf.length < length) return { kind: 'incomplete' };
  const frame = buf.subarray(0, length);
  if (frame.readUInt16LE(length - 2) !== crc16(frame.subarray(0, length - 2))) return { kind: 'invalid', reason: 'CRC mismatch', length };
  if (frame[0] !== unitId) return { kind: 'invalid', reason: `answer from unit ${frame[0]}, asked unit ${unitId}`, length };
  return pduMatch(frame.subarray(1, length - 2), fc, block.count, length);
}

/** A Modbus TCP response (MBAP header + PDU) at the start of buf. */
export function matchMbapResponse(buf: Buffer, transactionId: number, unitId: number, block: ReadBlock): ResponseMatch {
  if (buf.length < 7) return { kind: 'incomplete' };
  const len = buf.readUInt16BE(4);
  const length = 6 + len;
  if (len < 3 || len > 254) return { kind: 'invalid', reason: `MBAP length ${len}`, length: buf.length };
  if (buf.length < length) return { kind: 'incomplete' };
  if (buf.readUInt16BE(2) !== 0) return { kind: 'invalid', reason: `MBAP protocol id ${buf.readUInt16BE(2)}`, length };
  // a late answer to an earlier, timed-out request: skip it and keep waiting for ours
  if (buf.readUInt16BE(0) !== (transactionId & 0xffff)) return { kind: 'invalid', reason: `stale transaction ${buf.readUInt16BE(0)}`, length };
  if (buf[6] !== unitId) return { kind: 'invalid', reason: `answer from unit ${buf[6]}, asked unit ${unitId}`, length };
  return pduMatch(buf.subarray(7, length), FUNCTION_CODES[block.function], block.count, length);
}
