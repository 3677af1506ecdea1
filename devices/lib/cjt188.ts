/**
 * CJ/T 188-2004 (household meters: water, heat, gas over RS-485 / M-Bus), as pure functions.
 * Frame: [FE…] 68 T A0…A6 C L DATA CS 16
 * - T: meter type, 0x10 cold water (0x11 hot, 0x12 drinking, 0x13 reclaimed water).
 * - A0…A6: the address, 14 BCD digits, least significant byte first.
 * - C: D7 direction (1 = the meter answers), D6 abnormal answer; read data = 0x01, its
 *   answer 0x81, abnormal 0xC1 (then DATA = SER, ST). No +0x33 offset, unlike DL/T 645.
 * - DATA of a read: DI0 DI1 SER. DI 901F (current metering data) is sent 1F 90 — DI0,
 *   the low byte, first — which is what meters in the field answer to; some meters echo
 *   it back as 90 1F, so both orders are accepted in an answer.
 * - The 901F answer (L = 0x16): DI, SER, current cumulative flow (4 bytes BCD XXXXXX.XX)
 *   and its unit code, settlement-day cumulative flow and unit, the meter's clock
 *   (7 bytes BCD ss mm hh DD MM YY YY), status ST (2 bytes).
 * - ST, first byte: D0–D1 valve (00 open, 01 closed, 11 abnormal), D2 battery
 *   (1 = low); the second byte is the manufacturer's.
 * - CS: the sum of every byte from 68 to the end of DATA, modulo 256.
 */
import { DecodeError, type DecodedReading } from '../../src/core/model.js';
import { addressFromWire, addressToWire, bcdLe, sum8, toBcdLe } from './bcd.js';

export const CJT188_READ = 0x01;
export const WATER_METER_TYPES = [0x10, 0x11, 0x12, 0x13];
export const DI_METER_DATA = 0x901f;
const PREAMBLE = Buffer.from([0xfe, 0xfe, 0xfe]);

/** Unit codes of the volume fields, as m³ per unit (the standard's unit table). */
const VOLUME_UNITS: Record<number, { name: string; m3: number }> = {
  0x29: { name: 'L', m3: 0.001 },
  0x2c: { name: 'm3', m3: 1 },
};

export const CJT188_METRICS = ['water_volume_m3', 'water_volume_settlement_m3', 'valve_open', 'valve_fault', 'battery_low'];

export function cjt188Frame(type: number, addressWire: Buffer, control: number, data: Buffer, preamble = true): Buffer {
  if (addressWire.length !== 7) throw new Error('CJ/T 188 address is 7 bytes');
  const body = Buffer.concat([Buffer.from([0x68, type]), addressWire, Buffer.from([control, data.length]), data]);
  return Buffer.concat([preamble ? PREAMBLE : Buffer.alloc(0), body, Buffer.from([sum8(body), 0x16])]);
}

export function cjt188ReadRequest(meterAddress: string, type = 0x10, ser = 0): Buffer {
  return cjt188Frame(type, addressToWire(meterAddress, 14), CJT188_READ, Buffer.from([DI_METER_DATA & 0xff, DI_METER_DATA >> 8, ser & 0xff]));
}

export interface Cjt188Values {
  water_volume_m3: number;
  water_volume_settlement_m3: number;
  valve_open: boolean;
  valve_fault: boolean;
  battery_low: boolean;
  /** meter clock, epoch ms (UTC+8 wall time is what the meter keeps) */
  clock?: number;
}

/** A meter's 901F answer (simulators, tests). */
export function cjt188ReadAnswer(meterAddress: string, v: Cjt188Values, opts: { type?: number; ser?: number; preamble?: boolean; diOrder?: 'low-first' | 'high-first' } = {}): Buffer {
  const di = opts.diOrder === 'high-first' ? [0x90, 0x1f] : [0x1f, 0x90];
  const d = new Date((v.clock ?? Date.UTC(2026, 0, 1)) + 8 * 3600_000);
  const bcd2 = (n: number) => toBcdLe(n, 1)[0]!;
  const clock = Buffer.from([bcd2(d.getUTCSeconds()), bcd2(d.getUTCMinutes()), bcd2(d.getUTCHours()), bcd2(d.getUTCDate()), bcd2(d.getUTCMonth() + 1), bcd2(d.getUTCFullYear() % 100), bcd2(Math.floor(d.getUTCFullYear() / 100))]);
  const st0 = (v.valve_fault ? 0b11 : v.valve_open ? 0b00 : 0b01) | (v.battery_low ? 0b100 : 0);
  const data = Buffer.concat([
    Buffer.from([...di, opts.ser ?? 0]),
    toBcdLe(v.water_volume_m3 * 100, 4), Buffer.from([0x2c]),
    toBcdLe(v.water_volume_settlement_m3 * 100, 4), Buffer.from([0x2c]),
    clock, Buffer.from([st0, 0x00]),
  ]);
  return cjt188Frame(opts.type ?? 0x10, addressToWire(meterAddress, 14), 0x80 | CJT188_READ, data, opts.preamble ?? true);
}

export type FrameScan = { kind: 'incomplete' } | { kind: 'frame'; start: number; length: number } | { kind: 'garbage'; skip: number };

export function scanCjt188(buf: Buffer): FrameScan {
  let i = 0;
  while (i < buf.length && buf[i] !== 0x68) i++;
  if (i === buf.length) return buf.length > 0 ? { kind: 'garbage', skip: buf.length } : { kind: 'incomplete' };
  if (buf.length < i + 11) return { kind: 'incomplete' };
  const length = 13 + buf[i + 10]!;
  if (buf.length < i + length) return { kind: 'incomplete' };
  return { kind: 'frame', start: i, length };
}

export interface Cjt188Frame { type: number; address: string; control: number; data: Buffer }

export function parseCjt188Frames(payload: Buffer): Cjt188Frame[] {
  const frames: Cjt188Frame[] = [];
  let o = 0;
  while (o < payload.length) {
    while (o < payload.length && payload[o] === 0xfe) o++;
    if (o === payload.length) break;
    if (payload[o] !== 0x68) throw new DecodeError(`CJ/T 188: byte ${o} is 0x${payload[o]!.toString(16)}, expected start 0x68`);
    if (o + 13 > payload.length) throw new DecodeError(`CJ/T 188: frame at byte ${o} truncated (${payload.length - o} bytes, a frame has at least 13)`);
    const len = payload[o + 10]!;
    const end = o + 11 + len;
    if (end + 2 > payload.length) throw new DecodeError(`CJ/T 188: frame at byte ${o} truncated: L=${len} needs ${13 + len} bytes, have ${payload.length - o}`);
    const cs = sum8(payload.subarray(o, end));
    if (payload[end] !== cs) throw new DecodeError(`CJ/T 188: checksum 0x${payload[end]!.toString(16).padStart(2, '0')} != computed 0x${cs.toString(16).padStart(2, '0')}`);
    if (payload[end + 1] !== 0x16) throw new DecodeError(`CJ/T 188: end byte 0x${payload[end + 1]!.toString(16)} at byte ${end + 1}, expected 0x16`);
    frames.push({ type: payload[o + 1]!, address: addressFromWire(payload.subarray(o + 2, o + 9)), control: payload[o + 9]!, data: Buffer.from(payload.subarray(o + 11, end)) });
    o = end + 2;
  }
  if (frames.length === 0) throw new DecodeError('CJ/T 188: no frame in the payload');
  return frames;
}

function volume(bytes: Buffer, unit: number, what: string): number {
  const u = VOLUME_UNITS[unit];
  if (!u) throw new DecodeError(`CJ/T 188: ${what} has unit code 0x${unit.toString(16)}, not a volume unit (0x29 L, 0x2C m3)`);
  return Math.round((bcdLe(bytes, what) / 100) * u.m3 * 1e6) / 1e6;
}

export function decodeCjt188(payload: Buffer, expectedAddress?: string): DecodedReading[] {
  const readings: DecodedReading[] = [];
  for (const f of parseCjt188Frames(payload)) {
    if (expectedAddress !== undefined && f.address !== expectedAddress.toUpperCase()) {
      throw new DecodeError(`CJ/T 188: answer from meter ${f.address}, device is meter ${expectedAddress.toUpperCase()}`);
    }
    if (!WATER_METER_TYPES.includes(f.type)) throw new DecodeError(`CJ/T 188: meter type 0x${f.type.toString(16)} is not a water meter (0x10–0x13)`);
    if ((f.control & 0x80) === 0) throw new DecodeError(`CJ/T 188: control code 0x${f.control.toString(16)} is a request (D7 = 0), not a meter's answer`);
    if ((f.control & 0x3f) !== CJT188_READ) throw new DecodeError(`CJ/T 188: control code 0x${f.control.toString(16)} is not an answer to read data (0x01)`);
    if (f.control & 0x40) throw new DecodeError(`CJ/T 188: meter ${f.address} answered abnormally (0x${f.control.toString(16)}), ST 0x${(f.data[1] ?? 0).toString(16).padStart(2, '0')}${(f.data[2] ?? 0).toString(16).padStart(2, '0')}`);
    const di = f.data.length >= 2 ? f.data.readUInt16LE(0) : -1;
    if (di !== DI_METER_DATA && di !== 0x1f90) throw new DecodeError(`CJ/T 188: data identifier ${di.toString(16)} is not 901F (current metering data)`);
    if (f.data.length !== 0x16) throw new DecodeError(`CJ/T 188: 901F answer has ${f.data.length} data bytes, expected 22`);
    const d = f.data;
    readings.push({ metric: 'water_volume_m3', value: volume(d.subarray(3, 7), d[7]!, 'current cumulative flow') });
    readings.push({ metric: 'water_volume_settlement_m3', value: volume(d.subarray(8, 12), d[12]!, 'settlement-day cumulative flow') });
    const valve = d[20]! & 0b11;
    readings.push({ metric: 'valve_open', value: valve === 0b00 });
    readings.push({ metric: 'valve_fault', value: valve === 0b11 || valve === 0b10 });
    readings.push({ metric: 'battery_low', value: (d[20]! & 0b100) !== 0 });
  }
  return readings;
}
