/**
 * Limits at the MQTT edge: a packet-size guard in front of the MQTT parser, a token bucket
 * per client for publishes, and an exponential delay for failed logins per username and per
 * address (a brute-force attempt costs the attacker time, a typo costs a user little).
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/**
 * Reads MQTT fixed headers as bytes arrive and destroys the connection as soon as a packet
 * announces a Remaining Length above the limit [MQTT-2.2.3], before the parser buffers it.
 * It forwards bytes unchanged; aedes reads from and writes to this duplex.
 */
export class PacketSizeGuard extends Duplex {
  private skip = 0; // bytes of the current packet body still to pass
  private header: number[] = []; // fixed header being read: type byte + length bytes
  readonly remoteAddress: string | undefined;
  readonly socket: Socket;

  constructor(socket: Socket, private readonly maxBytes: number, private readonly onTooLarge: (bytes: number) => void) {
    super({ allowHalfOpen: false });
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress;
    socket.on('data', (chunk: Buffer) => {
      if (!this.inspect(chunk)) return;
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  private inspect(chunk: Buffer): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const byte = chunk[i++]!;
      this.header.push(byte);
      if (this.header.length === 1) continue; // packet type and flags
      if (byte & 0x80 && this.header.length < 5) continue; // more length bytes follow
      let len = 0;
      for (let k = this.header.length - 1; k >= 1; k--) len = len * 128 + (this.header[k]! & 0x7f);
      this.header = [];
      if (len > this.maxBytes) {
        this.onTooLarge(len);
        this.socket.destroy();
        this.destroy();
        return false;
      }
      this.skip = len;
    }
    return true;
  }

  override _read(): void { this.socket.resume(); }
  override _write(chunk: Buffer, enc: BufferEncoding, cb: (err?: Error | null) => void): void { this.socket.write(chunk, enc, cb); }
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.socket.write(Buffer.concat(chunks.map((c) => c.chunk)), cb);
  }
  override _final(cb: (err?: Error | null) => void): void { this.socket.end(cb); }
  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (!this.socket.destroyed) this.socket.destroy();
    cb(err);
  }

  /** the verified client certificate's CN on a TLS connection that requested one */
  get clientCertCn(): string | undefined {
    const tls = this.socket as TLSSocket;
    if (typeof tls.getPeerCertificate !== 'function' || !tls.authorized) return undefined;
    const cn = tls.getPeerCertificate()?.subject?.CN;
    return typeof cn === 'string' ? cn : Array.isArray(cn) ? cn[0] : undefined;
  }
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
