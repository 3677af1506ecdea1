/**
 * The bench's load generator (bench/lean-client.ts) against a real aedes on a socket: what it
 * publishes arrives as published (topic, payload of every length class, order), every QoS 1
 * callback fires once, on its own PUBACK, and a refused CONNECT is an error. The bench's
 * figures are only as good as this client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanClient } from '../../bench/lean-client.js';
import { plainAedes } from '../helpers/bench.js';

let aedes: Awaited<ReturnType<typeof plainAedes>>;
let port: number;
const received: Array<{ topic: string; payload: Buffer; qos: number }> = [];

beforeAll(async () => {
  aedes = await plainAedes({
    authenticate: (_client, username, password, done) => done(null, username === 'dev' && password?.toString() === 'secret'),
  });
  aedes.broker.subscribe('load/#', (packet, cb) => { received.push({ topic: packet.topic, payload: Buffer.from(packet.payload as Buffer), qos: packet.qos }); cb(); }, () => undefined);
  port = aedes.port;
});
afterAll(() => aedes.close());

describe('bench/lean-client.ts', () => {
  it('publishes QoS 1 messages of every length class intact and in order, each callback once on its PUBACK', async () => {
    received.length = 0;
    const c = await LeanClient.connect(port, '127.0.0.1', { username: 'dev', password: 'secret' });
    // remaining length in 1, 2 and 3 bytes (< 128, < 16 384, larger)
    const sizes = [0, 1, 100, 127, 128, 5000, 16_383, 16_384, 70_000];
    const n = 1200;
    let acked = 0;
    const calls = new Array<number>(n).fill(0);
    const sent: Array<{ topic: string; payload: Buffer }> = [];
    await new Promise<void>((resolve, reject) => {
      for (let i = 0; i < n; i++) {
        const payload = Buffer.alloc(sizes[i % sizes.length]!, i % 251);
        if (payload.length >= 2) payload.writeUInt16BE(i % 65_536, 0);
        const topic = `load/dev-${i % 3}/up`;
        sent.push({ topic, payload });
        c.publish(topic, payload, { qos: 1 }, (err) => {
          if (err) return reject(err);
          calls[i]!++;
          if (++acked === n) resolve();
        });
      }
    });
    expect(calls.every((k) => k === 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(received.length).toBe(n);
    received.forEach((m, i) => {
      expect(m.topic, `message ${i}`).toBe(sent[i]!.topic);
      expect(m.qos).toBe(1);
      expect(m.payload.equals(sent[i]!.payload), `message ${i} payload`).toBe(true);
    });
    await c.endAsync();
  });

  it('more than 65 535 messages over one connection: packet ids are reused only once acknowledged', async () => {
    const c = await LeanClient.connect(port, '127.0.0.1', { username: 'dev', password: 'secret' });
    let acked = 0;
    const total = 70_000;
    let next = 0;
    // 2 000 in flight at a time, ids wrapping past 65 535
    await new Promise<void>((resolve, reject) => {
      const fire = () => {
        if (next >= total) return;
        next++;
        c.publish('load/wrap', 'x', { qos: 1 }, (err) => {
          if (err) return reject(err);
          if (++acked === total) resolve();
          else fire();
        });
      };
      for (let k = 0; k < 2000; k++) fire();
    });
    expect(acked).toBe(total);
    await c.endAsync();
  }, 60_000);

  it('a refused CONNECT is an error naming the return code', async () => {
    await expect(LeanClient.connect(port, '127.0.0.1', { username: 'dev', password: 'wrong' })).rejects.toThrow(/CONNACK return code [45]/);
  });
});
