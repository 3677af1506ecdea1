/**
 * Wireless M-Bus application layer (EN 13757-3) as meters put it in a LoRaWAN payload:
 * a CI field, an optional short (0x7A) or long (0x72) header, then data records
 * DIF [DIFE…] VIF [VIFE…] data, little-endian. Only unencrypted payloads can be read.
 * Records this parser does not understand are skipped by their length; a record whose
 * length it cannot know stops the frame with a DecodeError.
 */
import { DecodeError } from '../../src/core/model.js';
import { Bytes } from './bytes.js';

export interface WmbusRecord {
  /** 0 instantaneous, 1 maximum, 2 minimum, 3 value during error state */
  fn: number;
  storage: number;
  tariff: number;
  vif: number;
  vife: number[];
  /** raw data bytes */
  data: Buffer;
  /** DIF data field 0x9-0xE: the data is BCD (type A), not binary */
  bcd: boolean;
}

const DATA_LEN: Record<number, number> = { 0x0: 0, 0x1: 1, 0x2: 2, 0x3: 3, 0x4: 4, 0x5: 4, 0x6: 6, 0x7: 8, 0x9: 1, 0xa: 2, 0xb: 3, 0xc: 4, 0xe: 6 };

export function parseWmbus(payload: Buffer): WmbusRecord[] {
  const b = new Bytes(payload);
  if (payload.length < 1) throw new DecodeError('empty frame');
  const ci = b.u8(0);
  let i: number;
  if (ci === 0x78) i = 1;
  else if (ci === 0x7a || ci === 0x72) {
    const header = ci === 0x7a ? 4 : 12;
    if (payload.length < 1 + header) throw new DecodeError(`frame too short for the CI 0x${ci.toString(16)} header`);
    const config = b.u16le(1 + header - 2);
    const mode = (config >> 8) & 0x1f;
    if (mode !== 0) throw new DecodeError(`encrypted payload (security mode ${mode}): the gateway has no key for it`);
    i = 1 + header;
  } else throw new DecodeError(`unsupported CI field 0x${ci.toString(16)}`);

  const records: WmbusRecord[] = [];
  while (i < payload.length) {
    let dif = b.u8(i++);
    if (dif === 0x2f) continue; // idle filler
    if (dif === 0x0f || dif === 0x1f) break; // manufacturer-specific data follows to the end
    let storage = (dif >> 6) & 0x01;
    let tariff = 0;
    const fn = (dif >> 4) & 0x03;
    const lenCode = dif & 0x0f;
    let shift = 1;
    let tshift = 0;
    while (dif & 0x80) {
      dif = b.u8(i++);
      storage |= (dif & 0x0f) << shift;
      tariff |= ((dif >> 4) & 0x03) << tshift;
      shift += 4;
      tshift += 2;
    }
    const vif = b.u8(i++);
    const vife: number[] = [];
    let ext = vif & 0x80;
    while (ext) {
      const e = b.u8(i++);
      vife.push(e);
      ext = e & 0x80;
    }
    let len: number;
    if (lenCode === 0xd) len = b.u8(i++); // LVAR (0x00-0xBF: that many bytes of data)
    else if (lenCode === 0x8 || lenCode === 0xf) throw new DecodeError(`record at byte ${i} has no known length (DIF 0x${lenCode.toString(16)})`);
    else len = DATA_LEN[lenCode]!;
    if (len > 0xbf) throw new DecodeError(`LVAR 0x${len.toString(16)} is not supported`);
    const data = b.slice(i, len);
    i += len;
    records.push({ fn, storage, tariff, vif, vife, data, bcd: lenCode >= 0x9 && lenCode <= 0xe && lenCode !== 0xd });
  }
  return records;
}

/** Unsigned little-endian integer of 1-8 bytes (as a double, exact up to 2^53) */
export function uintLE(data: Buffer): number {
  let v = 0;
  for (let k = data.length - 1; k >= 0; k--) v = v * 256 + data[k]!;
  return v;
}

/** Signed little-endian integer; the "invalid" pattern (only the sign bit set) gives undefined */
export function intLE(data: Buffer): number | undefined {
  const u = uintLE(data);
  const bits = data.length * 8;
  const sign = 2 ** (bits - 1);
  if (data.length > 0 && u === sign) return undefined; // 0x80, 0x8000…: the meter's "no value"
  return u >= sign ? u - 2 ** bits : u;
}

/** BCD (type A), little-endian; a nibble above 9 is the meter's "invalid" mark and gives undefined */
export function bcdLE(data: Buffer): number | undefined {
  let v = 0;
  for (let k = data.length - 1; k >= 0; k--) {
    const hi = data[k]! >> 4;
    const lo = data[k]! & 0x0f;
    if (hi > 9 || lo > 9) return undefined;
    v = v * 100 + hi * 10 + lo;
  }
  return v;
}

/**
 * Date and time, type F (CP32), as UTC epoch ms: meters report their local time without a
 * zone. Undefined when the meter marks it invalid (bit 7 of the minute byte) or a field is
 * out of range. Year per EN 13757-3 Annex A: 1900 + 100 x hundred-year bits (13-14) + year,
 * except that with the hundred-year bits 0 the years 00-80 are 2000-2080 (the standard's
 * rule for meters that leave those bits at 0, as most do).
 */
export function dateTimeF(d: Buffer): number | undefined {
  if (d.length !== 4) throw new DecodeError('date/time type F needs 4 bytes');
  if (d[0]! & 0x80) return undefined;
  const min = d[0]! & 0x3f;
  const hour = d[1]! & 0x1f;
  const day = d[2]! & 0x1f;
  const month = d[3]! & 0x0f;
  const yy = ((d[2]! >> 5) & 0x07) | ((d[3]! >> 4) << 3);
  const hundreds = (d[1]! >> 5) & 0x03;
  const year = hundreds === 0 ? (yy <= 80 ? 2000 + yy : 1900 + yy) : 1900 + 100 * hundreds + yy;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || yy > 99) return undefined;
  return Date.UTC(year, month - 1, day, hour, min);
}

/** Date, type G (CP16); undefined for 0xFFFF (no date) or a field out of range */
export function dateG(d: Buffer): number | undefined {
  if (d.length !== 2) throw new DecodeError('date type G needs 2 bytes');
  if (d[0] === 0xff && d[1] === 0xff) return undefined;
  const day = d[0]! & 0x1f;
  const month = d[1]! & 0x0f;
  const year = 2000 + (((d[0]! >> 5) & 0x07) | ((d[1]! >> 4) << 3));
  if (month < 1 || month > 12 || day < 1) return undefined;
  return Date.UTC(year, month - 1, day);
}

/** Date and time, type I (CP48), seconds included; undefined when marked invalid */
export function dateTimeI(d: Buffer): number | undefined {
  if (d.length !== 6) throw new DecodeError('date/time type I needs 6 bytes');
  if (d[1]! & 0x80) return undefined;
  const month = d[4]! & 0x0f;
  const day = d[3]! & 0x1f;
  const year = 2000 + (((d[3]! >> 5) & 0x07) | ((d[4]! >> 4) << 3));
  if (month < 1 || month > 12 || day < 1) return undefined;
  return Date.UTC(year, month - 1, day, d[2]! & 0x1f, d[1]! & 0x3f, d[0]! & 0x3f);
}

/**
 * One step back in an inverse compact profile (EN 13757-3 Annex F): spacing value 1-250 in
 * the spacing unit (s, min, h, days), 254 = one month / quarter / half year (unit 3 / 2 / 1).
 * Undefined for the reserved spacings, which end the profile.
 */
export function stepBack(ts: number, unit: number, spacing: number): number | undefined {
  const t = new Date(ts);
  if (spacing > 0 && spacing < 251) {
    if (unit === 0) t.setUTCSeconds(t.getUTCSeconds() - spacing);
    else if (unit === 1) t.setUTCMinutes(t.getUTCMinutes() - spacing);
    else if (unit === 2) t.setUTCHours(t.getUTCHours() - spacing);
    else t.setUTCDate(t.getUTCDate() - spacing);
  } else if (spacing === 254 && unit >= 1) t.setUTCMonth(t.getUTCMonth() - [0, 6, 3, 1][unit]!);
  else return undefined;
  return t.getTime();
}
