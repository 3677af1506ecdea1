/**
 * DL/T 645-2007 (multi-function electricity meters over RS-485), as pure functions.
 * Frame (§4.1): [FE…] 68 A0…A5 68 C L DATA CS 16
 * - A0…A5: the address, 12 BCD digits, least significant byte first (A0 = the last two
 *   digits printed on the nameplate); AA…AA is the broadcast wildcard.
 * - C: D7 direction (1 = the meter answers), D6 abnormal answer, D5 a follow-up frame
 *   exists, D4…D0 function (0x11 = read data). Normal answer 0x91 (0xB1 with follow-ups),
 *   abnormal 0xD1 with one error byte.
 * - DATA: every byte sent +0x33 (and −0x33 on receipt); first the 4-byte data identifier
 *   DI0…DI3 (low byte first), then the value, BCD, low byte first (Appendix A formats).
 * - CS: the sum of every byte from the first 68 to the end of DATA, modulo 256.
 * - FE FE FE FE: the wake-up preamble a master sends first; meters may echo it.
 */
import { DecodeError, type DecodedReading } from '../../src/core/model.js';
import { addressFromWire, addressToWire, bcdLe, sum8, toBcdLe } from './bcd.js';

export const DLT645_READ = 0x11;
export const PREAMBLE = Buffer.from([0xfe, 0xfe, 0xfe, 0xfe]);

/** Error byte of an abnormal answer (§7.1, bits D0…D6). */
const ERROR_BITS = ['other error', 'no such data (DI not supported)', 'password error / not authorised', 'baud rate cannot be changed', 'too many annual time zones', 'too many daily time periods', 'too many tariffs'];

interface Item { bytes: number; decimals: number; signed?: boolean; metrics: string[]; perKw?: boolean }

/**
 * The data identifiers the models read (Appendix A, table A.1 energy, A.3 variables).
 * A block DI (…FF…) answers its items one after another; a meter may send fewer tariffs
 * than the block can hold, so a block's length decides how many items it carries.
 */
export const DATA_ITEMS: Record<number, Item> = {
  0x00010000: { bytes: 4, decimals: 2, metrics: ['energy_import_kwh'] },                 // (current) forward active energy, total, XXXXXX.XX kWh
  0x0001ff00: { bytes: 4, decimals: 2, metrics: ['energy_import_kwh', 'energy_import_t1_kwh', 'energy_import_t2_kwh', 'energy_import_t3_kwh', 'energy_import_t4_kwh'] },
  0x00020000: { bytes: 4, decimals: 2, metrics: ['energy_export_kwh'] },                 // reverse active energy, total
  0x02010100: { bytes: 2, decimals: 1, metrics: ['voltage_v'] },                         // phase A voltage, XXX.X V
  0x0201ff00: { bytes: 2, decimals: 1, metrics: ['voltage_l1_v', 'voltage_l2_v', 'voltage_l3_v'] },
  0x02020100: { bytes: 3, decimals: 3, signed: true, metrics: ['current_a'] },           // phase A current, XXX.XXX A, sign bit
  0x0202ff00: { bytes: 3, decimals: 3, signed: true, metrics: ['current_l1_a', 'current_l2_a', 'current_l3_a'] },
  0x02030000: { bytes: 3, decimals: 4, signed: true, perKw: true, metrics: ['power_w'] }, // total active power, XX.XXXX kW, sign bit
  0x0203ff00: { bytes: 3, decimals: 4, signed: true, perKw: true, metrics: ['power_w', 'power_l1_w', 'power_l2_w', 'power_l3_w'] },
};

export const DLT645_METRICS = [...new Set(Object.values(DATA_ITEMS).flatMap((i) => i.metrics))];

/** What one poll reads: single-phase meters answer the phase-A items, three-phase meters the blocks. */
export function dlt645Reads(phases: 1 | 3): number[] {
  return phases === 3 ? [0x0001ff00, 0x0201ff00, 0x0202ff00, 0x0203ff00] : [0x0001ff00, 0x02010100, 0x02020100, 0x02030000];
}

export function dlt645Frame(addressWire: Buffer, control: number, data: Buffer, preamble = true): Buffer {
  if (addressWire.length !== 6) throw new Error('DL/T 645 address is 6 bytes');
  const body = Buffer.concat([Buffer.from([0x68]), addressWire, Buffer.from([0x68, control, data.length]), Buffer.from(data.map((b) => (b + 0x33) & 0xff))]);
  return Buffer.concat([preamble ? PREAMBLE : Buffer.alloc(0), body, Buffer.from([sum8(body), 0x16])]);
}

function diBytes(di: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(di >>> 0);
  return b;
}

export function dlt645ReadRequest(meterAddress: string, di: number): Buffer {
  return dlt645Frame(addressToWire(meterAddress, 12), DLT645_READ, diBytes(di));
}

/** A meter's normal answer to a read (simulators, tests): values in the metrics' units. */
export function dlt645ReadAnswer(meterAddress: string, di: number, values: number[], preamble = true): Buffer {
  const item = DATA_ITEMS[di];
  if (!item) throw new Error(`DI ${di.toString(16)} not in the table`);
  const parts = values.map((v) => toBcdLe((item.perKw ? v / 1000 : v) * 10 ** item.decimals, item.bytes, item.signed));
  return dlt645Frame(addressToWire(meterAddress, 12), 0x80 | DLT645_READ, Buffer.concat([diBytes(di), ...parts]), preamble);
}

export function dlt645ErrorAnswer(meterAddress: string, errorByte: number): Buffer {
  return dlt645Frame(addressToWire(meterAddress, 12), 0xc0 | DLT645_READ, Buffer.from([errorByte]));
}

export type FrameScan = { kind: 'incomplete' } | { kind: 'frame'; start: number; length: number } | { kind: 'garbage'; skip: number };

/**
 * Where the next whole frame in buf is, for a link collecting a reply: leading FE and
 * stray bytes before a 68 are skipped; the length byte says where the frame ends.
 */
export function scanDlt645(buf: Buffer): FrameScan {
  let i = 0;
  while (i < buf.length && buf[i] !== 0x68) i++;
  if (i === buf.length) return buf.length > 0 ? { kind: 'garbage', skip: buf.length } : { kind: 'incomplete' };
  if (buf.length < i + 10) return { kind: 'incomplete' };
  if (buf[i + 7] !== 0x68) return { kind: 'garbage', skip: i + 1 };
  const length = 12 + buf[i + 9]!;
  if (buf.length < i + length) return { kind: 'incomplete' };
  return { kind: 'frame', start: i, length };
}

export interface Dlt645Frame { address: string; control: number; data: Buffer }

/** Splits a payload of one or more answers (each with or without its preamble) and checks each. */
export function parseDlt645Frames(payload: Buffer): Dlt645Frame[] {
  const frames: Dlt645Frame[] = [];
  let o = 0;
  while (o < payload.length) {
    while (o < payload.length && payload[o] === 0xfe) o++;
    if (o === payload.length) break;
    if (payload[o] !== 0x68) throw new DecodeError(`DL/T 645: byte ${o} is 0x${payload[o]!.toString(16)}, expected start 0x68`);
    if (o + 12 > payload.length) throw new DecodeError(`DL/T 645: frame at byte ${o} truncated (${payload.length - o} bytes, a frame has at least 12)`);
    if (payload[o + 7] !== 0x68) throw new DecodeError(`DL/T 645: second start byte 0x68 missing at byte ${o + 7}`);
    const len = payload[o + 9]!;
    const end = o + 10 + len;
    if (end + 2 > payload.length) throw new DecodeError(`DL/T 645: frame at byte ${o} truncated: L=${len} needs ${12 + len} bytes, have ${payload.length - o}`);
    const cs = sum8(payload.subarray(o, end));
    if (payload[end] !== cs) throw new DecodeError(`DL/T 645: checksum 0x${payload[end]!.toString(16).padStart(2, '0')} != computed 0x${cs.toString(16).padStart(2, '0')}`);
    if (payload[end + 1] !== 0x16) throw new DecodeError(`DL/T 645: end byte 0x${payload[end + 1]!.toString(16)} at byte ${end + 1}, expected 0x16`);
    frames.push({
      address: addressFromWire(payload.subarray(o + 1, o + 7)),
      control: payload[o + 8]!,
      data: Buffer.from(payload.subarray(o + 10, end).map((b) => (b - 0x33) & 0xff)),
    });
    o = end + 2;
  }
  if (frames.length === 0) throw new DecodeError('DL/T 645: no frame in the payload');
  return frames;
}

/**
 * Readings from a meter's answers. `expectedAddress` (the device's meterAddress) must
 * match every frame: on a shared bus a reply from another meter is not this device's.
 */
export function decodeDlt645(payload: Buffer, expectedAddress?: string): DecodedReading[] {
  const readings: DecodedReading[] = [];
  for (const f of parseDlt645Frames(payload)) {
    if (expectedAddress !== undefined && f.address !== expectedAddress.toUpperCase()) {
      throw new DecodeError(`DL/T 645: answer from meter ${f.address}, device is meter ${expectedAddress.toUpperCase()}`);
    }
    if ((f.control & 0x80) === 0) throw new DecodeError(`DL/T 645: control code 0x${f.control.toString(16)} is a request (D7 = 0), not a meter's answer`);
    if ((f.control & 0x1f) !== DLT645_READ) throw new DecodeError(`DL/T 645: control code 0x${f.control.toString(16)} is not an answer to read data (0x11)`);
    if (f.control & 0x40) {
      const err = f.data[0] ?? 0;
      const why = ERROR_BITS.filter((_, i) => err & (1 << i)).join(', ') || 'unspecified';
      throw new DecodeError(`DL/T 645: meter ${f.address} answered abnormally (0x${f.control.toString(16)}), error 0x${err.toString(16).padStart(2, '0')}: ${why}`);
    }
    if (f.data.length < 4) throw new DecodeError(`DL/T 645: answer without a data identifier (L=${f.data.length})`);
    const di = f.data.readUInt32LE(0);
    const item = DATA_ITEMS[di];
    if (!item) throw new DecodeError(`DL/T 645: data identifier ${di.toString(16).padStart(8, '0').toUpperCase()} is not one the models read`);
    const values = f.data.subarray(4);
    const single = item.metrics.length === 1;
    if (values.length === 0 || values.length % item.bytes !== 0 || (single && values.length !== item.bytes)) {
      throw new DecodeError(`DL/T 645: ${values.length} value bytes for DI ${di.toString(16).toUpperCase()} (items of ${item.bytes} bytes${single ? ', one item' : ''})`);
    }
    // a block answers every item the meter has: a meter with more than 4 tariffs sends them
    // all; the vocabulary names t1..t4, so items past the known ones are not stored
    for (let k = 0; k < Math.min(values.length / item.bytes, item.metrics.length); k++) {
      const raw = bcdLe(values.subarray(k * item.bytes, (k + 1) * item.bytes), `DI ${di.toString(16).toUpperCase()} item ${k}`, item.signed);
      const v = raw / 10 ** item.decimals;
      readings.push({ metric: item.metrics[k]!, value: item.perKw ? Math.round(v * 1000 * 10) / 10 : v });
    }
  }
  return readings;
}
