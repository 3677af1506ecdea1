/**
 * Limits at the MQTT edge: a packet-size guard in front of the MQTT parser, a token bucket
 * per client for publishes, and an exponential delay for failed logins per username and per
 * address (a brute-force attempt costs the attacker time, a typo costs a user little).
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/**
 * Reads MQTT fixed headers as bytes arrive and destroys the connection as soon as a packet
 * announces a Remaining Length above the limit [MQTT-2.2.3], before the parser buffers it.
 *
 * aedes takes bytes with `socket.read()` on 'readable'; the guard wraps that one method of
 * this socket, so every byte is inspected once on its way to the parser and nothing is
 * copied. (A Duplex in front of the socket did the same and cost ~20 % of the gateway's
 * throughput: two streams' machinery for every packet in and every PUBACK out.)
 */
export function guardPacketSize<S extends Socket>(socket: S, maxBytes: number, onTooLarge: (bytes: number, socket: S) => void): S {
  let skip = 0; // bytes of the current packet body still to pass
  let seen = 0; // bytes of the fixed header read so far: type byte, then 1-4 length bytes
  let len = 0; // Remaining Length being decoded (variable-length, 7 bits a byte, low first)
  let mul = 1;
  const read = socket.read;
  // one closure per socket and no name of its own: tsx (esbuild's keepNames) gives every named
  // function expression or const-bound arrow an own `name` property, and with it a property
  // dictionary of ~250 bytes per function, per connection (bench/heap-per-device.ts)
  socket.read = function (this: S, size?: number) {
    const chunk = read.call(this, size) as Buffer | string | null;
    if (chunk === null || typeof chunk === 'string') return chunk;
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        continue;
      }
      const byte = chunk[i++]!;
      if (seen === 0) { seen = 1; len = 0; mul = 1; continue; } // packet type and flags
      seen++;
      len += (byte & 0x7f) * mul;
      mul *= 128;
      if (byte & 0x80 && seen < 5) continue; // more length bytes follow
      seen = 0;
      if (len > maxBytes) {
        onTooLarge(len, this);
        this.destroy();
        return null;
      }
      skip = len;
    }
    return chunk;
  } as S['read'];
  return socket;
}

/** the verified client certificate's CN on a TLS connection that requested one */
export function clientCertCn(conn: unknown): string | undefined {
  const tls = conn as TLSSocket;
  if (typeof tls?.getPeerCertificate !== 'function' || !tls.authorized) return undefined;
  const cn = tls.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' ? cn : Array.isArray(cn) ? cn[0] : undefined;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(private readonly perSecond: number, private readonly burst: number, private readonly clock: () => number) {
    this.tokens = burst;
    this.last = clock();
  }
  take(): boolean {
    const now = this.clock();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface Failures { count: number; last: number }

/** Failed logins per key (username, address): the next attempt waits base x 2^(n-1), capped. */
export class LoginThrottle {
  private readonly failures = new Map<string, Failures>();
  constructor(private readonly opts: { baseDelayMs: number; maxDelayMs: number; forgetAfterMs: number }, private readonly clock: () => number) {}

  delayFor(keys: string[]): number {
    const now = this.clock();
    let delay = 0;
    for (const k of keys) {
      const f = this.failures.get(k);
      if (!f) continue;
      if (now - f.last > this.opts.forgetAfterMs) { this.failures.delete(k); continue; }
      delay = Math.max(delay, Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (f.count - 1)));
    }
    return delay;
  }

  failed(keys: string[]): void {
    const now = this.clock();
    for (const k of keys) {
      const f = this.failures.get(k);
      this.failures.set(k, { count: (f && now - f.last <= this.opts.forgetAfterMs ? f.count : 0) + 1, last: now });
    }
    if (this.failures.size > 100_000) this.prune(now);
  }

  succeeded(keys: string[]): void {
    for (const k of keys) this.failures.delete(k);
  }

  private prune(now: number): void {
    for (const [k, f] of this.failures) if (now - f.last > this.opts.forgetAfterMs) this.failures.delete(k);
  }
}
