/**
 * The bench's connection-scale measure (bench/connections.ts) against a real aedes on a
 * socket, in this process: every device connects and publishes, and the resident set is
 * sampled once a second through the hold, the median reported with the lowest and highest
 * sample beside it (one sample at the end read whatever the last collection had left).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, rssMb, scaleConnections } from '../../bench/connections.js';
import { plainAedes } from '../helpers/bench.js';

let aedes: Awaited<ReturnType<typeof plainAedes>>;
let port: number;
let received = 0;

beforeAll(async () => {
  aedes = await plainAedes();
  aedes.broker.subscribe('devices/#', (_packet, cb) => { received++; cb(); }, () => undefined);
  port = aedes.port;
});
afterAll(() => aedes.close());

describe('bench/connections.ts', () => {
  it('connects every device, and reports RSS per connection as the median of one sample a second through the hold', async () => {
    const n = 40;
    const creds = Array.from({ length: n }, (_, i) => ({ topic: `devices/conn-${i}/up` }));
    const before = rssMb(process.pid);
    const t0 = performance.now();
    const r = await scaleConnections(`mqtt://127.0.0.1:${port}`, process.pid, creds, { connections: n, rate: 200, interval: 1, hold: 3, json: true }, (i, seq) => JSON.stringify({ i, seq }));
    const held = performance.now() - t0;
    try {
      expect(r.connected).toBe(n);
      expect(r.connectErrors).toBe(0);
      // three samples for a three-second hold, the last one at its end
      expect(r.rssSamples).toBe(3);
      expect(held).toBeGreaterThanOrEqual(3000);
      expect(r.kbPerConnectionMin).toBeLessThanOrEqual(r.kbPerConnection);
      expect(r.kbPerConnection).toBeLessThanOrEqual(r.kbPerConnectionMax);
      // before the first connect, in MB (this process's own RSS moves by a little meanwhile)
      expect(Math.abs(r.rssBeforeMb - before)).toBeLessThan(16);
      // one reading at connect and one a second after: at least 2 per device, all acknowledged
      // but those sent in the last moment (one per device at most)
      expect(r.published).toBeGreaterThanOrEqual(2 * n);
      expect(r.acked).toBeGreaterThanOrEqual(r.published - n);
      expect(received).toBeGreaterThanOrEqual(2 * n);
    } finally {
      await closeAll(r.clients);
    }
  });
});
