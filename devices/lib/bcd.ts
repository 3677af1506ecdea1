/** Packed BCD as the Chinese meter protocols send it: least significant byte first. */
import { DecodeError } from '../../src/core/model.js';

/** Unsigned BCD, low byte first; `signBit` = the top bit of the last byte is a sign (DL/T 645-2007 Appendix A). */
export function bcdLe(bytes: Buffer, what: string, signBit = false): number {
  let v = 0;
  let negative = false;
  for (let i = bytes.length - 1; i >= 0; i--) {
    let b = bytes[i]!;
    if (signBit && i === bytes.length - 1) { negative = (b & 0x80) !== 0; b &= 0x7f; }
    const hi = b >> 4;
    const lo = b & 0x0f;
    if (hi > 9 || lo > 9) throw new DecodeError(`${what}: byte 0x${bytes[i]!.toString(16).padStart(2, '0')} is not BCD`);
    v = v * 100 + hi * 10 + lo;
  }
  return negative ? -v : v;
}

/** The inverse of bcdLe (simulators, tests). */
export function toBcdLe(value: number, bytes: number, signBit = false): Buffer {
  const out = Buffer.alloc(bytes);
  let v = Math.round(Math.abs(value));
  // with a sign bit the top byte holds at most BCD 79
  if (v >= (signBit ? 80 * 100 ** (bytes - 1) : 100 ** bytes)) throw new RangeError(`${value} does not fit ${bytes} BCD bytes`);
  for (let i = 0; i < bytes; i++) {
    const two = v % 100;
    out[i] = ((Math.floor(two / 10)) << 4) | (two % 10);
    v = Math.floor(v / 100);
  }
  if (signBit && value < 0) out[bytes - 1]! |= 0x80;
  return out;
}

/** Sum of the bytes modulo 256: the check byte of DL/T 645 and CJ/T 188 frames. */
export function sum8(buf: Buffer): number {
  let s = 0;
  for (const b of buf) s = (s + b) & 0xff;
  return s;
}

/**
 * A meter address as printed on the nameplate (12 or 14 digits, most significant first)
 * to the wire's order: least significant byte first. 'A' digits are the broadcast wildcard.
 */
export function addressToWire(printed: string, digits: number): Buffer {
  if (!new RegExp(`^[0-9A-Fa-f]{${digits}}$`).test(printed)) throw new DecodeError(`meterAddress must be ${digits} hex digits as printed on the meter, got "${printed}"`);
  return Buffer.from(printed, 'hex').reverse();
}

export function addressFromWire(wire: Buffer): string {
  return Buffer.from(wire).reverse().toString('hex').toUpperCase();
}
