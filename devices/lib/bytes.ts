/**
 * Byte readers for vendor frames. Every reader checks bounds and throws a DecodeError
 * naming the offset, so a truncated frame is a dead letter with a reason, never a
 * garbage reading. Vendors whose codec reads past the end on purpose (Dragino LDS02)
 * use `lenient` views, where missing bytes read as 0 like JavaScript bit-ops on undefined.
 */
import { DecodeError } from '../../src/core/model.js';

export class Bytes {
  constructor(readonly buf: Buffer, readonly lenient = false) {}

  get length(): number { return this.buf.length; }

  private need(offset: number, size: number): boolean {
    if (offset >= 0 && offset + size <= this.buf.length) return true;
    if (this.lenient) return false;
    throw new DecodeError(`frame too short: need ${offset + size} bytes, have ${this.buf.length}`);
  }

  u8(o: number): number { return this.need(o, 1) ? this.buf[o]! : 0; }
  i8(o: number): number { return this.need(o, 1) ? this.buf.readInt8(o) : 0; }
  u16be(o: number): number { return this.need(o, 2) ? this.buf.readUInt16BE(o) : this.u8(o) << 8 | this.u8(o + 1); }
  u16le(o: number): number { return this.need(o, 2) ? this.buf.readUInt16LE(o) : this.u8(o) | this.u8(o + 1) << 8; }
  i16be(o: number): number { return this.need(o, 2) ? this.buf.readInt16BE(o) : (this.u16be(o) << 16) >> 16; }
  i16le(o: number): number { return this.need(o, 2) ? this.buf.readInt16LE(o) : (this.u16le(o) << 16) >> 16; }
  u24be(o: number): number { return this.need(o, 3) ? this.buf.readUIntBE(o, 3) : (this.u8(o) << 16 | this.u8(o + 1) << 8 | this.u8(o + 2)); }
  u24le(o: number): number { return this.need(o, 3) ? this.buf.readUIntLE(o, 3) : (this.u8(o) | this.u8(o + 1) << 8 | this.u8(o + 2) << 16); }
  u32be(o: number): number { return this.need(o, 4) ? this.buf.readUInt32BE(o) : (this.u16be(o) * 0x10000 + this.u16be(o + 2)); }
  u32le(o: number): number { return this.need(o, 4) ? this.buf.readUInt32LE(o) : (this.u16le(o) + this.u16le(o + 2) * 0x10000); }
  i32be(o: number): number { return this.need(o, 4) ? this.buf.readInt32BE(o) : this.u32be(o) | 0; }
  i32le(o: number): number { return this.need(o, 4) ? this.buf.readInt32LE(o) : this.u32le(o) | 0; }
  f32le(o: number): number { this.need(o, 4); return this.buf.readFloatLE(o); }
  f32be(o: number): number { this.need(o, 4); return this.buf.readFloatBE(o); }
  hex(o: number, n: number): string { this.need(o, n); return this.buf.subarray(o, o + n).toString('hex').toUpperCase(); }
  slice(o: number, n: number): Buffer { this.need(o, n); return this.buf.subarray(o, o + n); }
}

export function requirePort(port: number | undefined, ports: readonly number[]): number {
  if (port === undefined) throw new DecodeError(`FPort required (one of ${ports.join(', ')})`);
  if (!ports.includes(port)) throw new DecodeError(`unknown FPort ${port}`);
  return port;
}

export function requireLength(b: Bytes, min: number, what = 'frame'): void {
  if (b.length < min) throw new DecodeError(`${what} too short: need ${min} bytes, have ${b.length}`);
}

/** Round to a fixed number of decimals without binary-float noise (3.3440000000000003). */
export function round(v: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
}
