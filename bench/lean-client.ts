/**
 * The load generator's MQTT 3.1.1 client: CONNECT, QoS 1 PUBLISH, PUBACK, DISCONNECT, and
 * nothing else. The bench runs its generator on the same 2 cores as the broker it measures;
 * MQTT.js spent ~50 µs of CPU per QoS 1 message there (its packet objects, stores, timers,
 * streams), about 0.8 of a core at 15 000 msgs/s, more than plain aedes itself, so the
 * generator, not the broker, set much of what both brokers could show. This client writes
 * each PUBLISH as one buffer and matches a PUBACK by its packet id; the PUBACKs of one socket
 * read, and the publishes their callbacks make, go out in one write (cork / uncork).
 * `npm run bench -- --generator mqttjs` keeps the old generator for comparison.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connectPacket, remainingLength, utf8 } from './mqtt-wire.js';

export type PublishCallback = (err?: Error) => void;

/** what the load loops need of a client (MQTT.js' MqttClient has the same shape) */
export interface LoadClient {
  publish(topic: string, payload: Buffer | string, opts: { qos: 0 | 1 }, cb?: PublishCallback): unknown;
  readonly stream: unknown;
  endAsync(): Promise<unknown>;
}

let clientSeq = 0;

export class LeanClient implements LoadClient {
  /** packet id -> callback of the QoS 1 messages in flight (a Map: 10 000 clients with 65 536-slot arrays were 5 GB) */
  private readonly waiting = new Map<number, PublishCallback>();
  private nextId = 1;
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;
  /** topic string -> its encoded length-prefixed bytes (a load client publishes to one topic) */
  private readonly topics = new Map<string, Buffer>();

  private constructor(readonly stream: Socket) {}

  static connect(port: number, host: string, o: { username?: string; password?: string; keepalive?: number; timeoutMs?: number }): Promise<LeanClient> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({ port, host });
      const client = new LeanClient(socket);
      const timer = setTimeout(() => { socket.destroy(); reject(new Error('CONNACK timeout')); }, o.timeoutMs ?? 60_000);
      let connected = false;
      socket.once('error', (err) => { clearTimeout(timer); if (!connected) reject(err); });
      socket.once('connect', () => socket.write(connectPacket({ clientId: `bench-lean-${process.pid}-${++clientSeq}`, username: o.username, password: o.password, keepalive: o.keepalive ?? 600 })));
      socket.on('data', (chunk: Buffer) => {
        if (!connected) {
          client.buf = client.buf.length ? Buffer.concat([client.buf, chunk]) : chunk;
          if (client.buf.length < 4) return;
          if (client.buf[0] !== 0x20) { socket.destroy(); reject(new Error(`expected CONNACK, got packet type ${client.buf[0]! >> 4}`)); return; }
          const rc = client.buf[3]!;
          clearTimeout(timer);
          if (rc !== 0) { socket.destroy(); reject(new Error(`CONNACK return code ${rc}`)); return; }
          connected = true;
          const rest = client.buf.subarray(4);
          client.buf = Buffer.alloc(0);
          resolve(client);
          if (rest.length) client.onData(rest);
          return;
        }
        client.onData(chunk);
      });
      socket.on('close', () => client.failAll(new Error('connection closed')));
    });
  }

  publish(topic: string, payload: Buffer | string, opts: { qos: 0 | 1 }, cb?: PublishCallback): void {
    if (this.closed) { cb?.(new Error('client closed')); return; }
    let t = this.topics.get(topic);
    if (!t) this.topics.set(topic, (t = utf8(topic)));
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const qos1 = opts.qos === 1;
    const len = t.length + (qos1 ? 2 : 0) + body.length;
    const rl = remainingLength(len);
    const out = Buffer.allocUnsafe(1 + rl.length + len);
    let o = 0;
    out[o++] = qos1 ? 0x32 : 0x30;
    for (const b of rl) out[o++] = b;
    o += t.copy(out, o);
    if (qos1) {
      if (this.waiting.size >= 65535) { cb?.(new Error('65 535 messages in flight')); return; }
      let id = this.nextId;
      while (this.waiting.has(id)) id = id === 65535 ? 1 : id + 1;
      this.nextId = id === 65535 ? 1 : id + 1;
      this.waiting.set(id, cb ?? (() => undefined));
      out[o++] = id >> 8;
      out[o++] = id & 0xff;
    }
    body.copy(out, o);
    this.stream.write(out);
    if (!qos1) cb?.();
  }

  private onData(chunk: Buffer): void {
    const b = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let o = 0;
    // the callbacks' publishes of this read leave in one write
    this.stream.cork();
    try {
      while (b.length - o >= 2) {
        let len = 0;
        let mul = 1;
        let i = o + 1;
        for (;;) {
          if (i >= b.length) { len = -1; break; }
          const d = b[i++]!;
          len += (d & 0x7f) * mul;
          if ((d & 0x80) === 0) break;
          mul *= 128;
        }
        if (len < 0 || b.length - i < len) break;
        const type = b[o]! >> 4;
        if (type === 4 && len >= 2) {
          const id = (b[i]! << 8) | b[i + 1]!;
          const cb = this.waiting.get(id);
          if (cb) {
            this.waiting.delete(id);
            cb();
          }
        }
        // anything else (PINGRESP, a PUBLISH to a subscription) is not the load's business
        o = i + len;
      }
    } finally {
      this.stream.uncork();
    }
    this.buf = o < b.length ? Buffer.from(b.subarray(o)) : Buffer.alloc(0);
  }

  private failAll(err: Error): void {
    this.closed = true;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const cb of waiting) cb(err);
  }

  endAsync(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      this.stream.once('close', () => resolve());
      this.stream.end(Buffer.from([0xe0, 0x00]));
      setTimeout(() => { this.stream.destroy(); resolve(); }, 5000).unref();
    });
  }
}
