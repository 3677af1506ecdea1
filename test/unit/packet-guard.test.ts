/** The MQTT packet-size guard: Remaining Length decoded across chunk boundaries, bodies skipped, oversize refused. */
import { PassThrough } from 'node:stream';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { guardPacketSize } from '../../src/broker/limits.js';

function packet(type: number, bodyLength: number): Buffer {
  const len: number[] = [];
  let n = bodyLength;
  do { let b = n % 128; n = Math.floor(n / 128); if (n > 0) b |= 0x80; len.push(b); } while (n > 0);
  return Buffer.concat([Buffer.from([type, ...len]), Buffer.alloc(bodyLength, 0x61)]);
}

/** feeds `bytes` in the given chunk sizes and reads after each, as aedes does on 'readable' */
function feed(bytes: Buffer, sizes: number[], max: number) {
  const s = new PassThrough();
  const refused: number[] = [];
  guardPacketSize(s as unknown as Socket, max, (b) => refused.push(b));
  const out: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    s.write(bytes.subarray(at, at + size));
    at += size;
    const chunk = s.read() as Buffer | null;
    if (chunk) out.push(chunk);
  }
  return { out: Buffer.concat(out), refused, destroyed: s.destroyed };
}

describe('packet-size guard', () => {
  const stream = Buffer.concat([packet(0x32, 300), packet(0xc0, 0), packet(0x30, 16_383), packet(0x30, 16_384), packet(0x40, 2)]);

  it('passes packets within the limit unchanged, whatever the chunking', () => {
    for (const sizes of [[stream.length], [1, 1, 1, 500, 3, 20_000, 20_000], [2, 301, 2, 3, 16_385, 1, 1, 1, 16_384, 4, 100]]) {
      const r = feed(stream, sizes, 20_000);
      expect(r.refused).toEqual([]);
      expect(r.destroyed).toBe(false);
      expect(r.out.equals(stream.subarray(0, r.out.length))).toBe(true);
      expect(r.out.length).toBe(Math.min(stream.length, sizes.reduce((a, b) => a + b, 0)));
    }
  });

  it('refuses a packet announcing more than the limit, before its body arrives', () => {
    const big = Buffer.concat([packet(0x32, 10), packet(0x30, 5000).subarray(0, 5)]);
    const r = feed(big, [12, 3], 1000);
    expect(r.refused).toEqual([5000]);
    expect(r.destroyed).toBe(true);
  });

  it('decodes four-byte Remaining Lengths', () => {
    const header = Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]); // 268 435 455, the MQTT maximum
    const r = feed(header, [2, 3], 1_000_000);
    expect(r.refused).toEqual([268_435_455]);
  });
});
