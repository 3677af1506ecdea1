/** Two thousand hostile payloads: every one a dead letter, the gateway still ready and still ingesting. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, publish } from '../helpers/mqtt.js';
import { mulberry32 } from '../../simulators/prng.js';

let gw: TestGateway;
beforeAll(async () => { gw = await startGateway(); });
afterAll(async () => gw?.stop());


function hostile(i: number, rnd: () => number): Buffer {
  switch (i % 8) {
    case 0: return Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256)));
    case 1: return Buffer.from(`{"ph": ${'9'.repeat(400)}}`); // Infinity
    case 2: return Buffer.from('['.repeat(5000 + i) + ']'.repeat(5000 + i)); // deep nesting
    case 3: return Buffer.from('{"__proto__": {"ph": 7}, "constructor": {"prototype": {"x": 1}}}');
    case 4: return Buffer.from(JSON.stringify({ ph: 'seven' }));
    case 5: return Buffer.from(JSON.stringify({ ts: 'not-a-time', ph: 7 }));
    case 6: return Buffer.from(JSON.stringify({ ph: 7, extra: { deeply: { nested: [1, 2, { a: i }] } } }));
    default: return Buffer.from(JSON.stringify({ ts: 1e300, ph: 7 }));
  }
}

describe('hostile payloads', () => {
  it('turns 2000 malformed payloads into 2000 dead letters and stays ready', async () => {
    const d = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'wq-x', model: 'generic.water-quality' } });
    const c = await connect(gw.mqttPort, { username: 'wq-x', password: d.body.credentials.password });
    const rnd = mulberry32(42);
    const N = 2000;
    for (let i = 0; i < N; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, k) => publish(c, 'devices/wq-x/up', hostile(i + k, rnd))));
    }
    expect((await gw.api('/readyz', { token: null })).status).toBe(200);
    const dead = gw.gateway.db.prepare('SELECT count(*) AS n FROM dead_letters WHERE device_id = ?').get('wq-x') as { n: number };
    expect(dead.n).toBe(N);
    // a page holds at most 1000: follow next
    const items: Array<{ reason: string }> = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ reason: string }>; next: string | null } } = await gw.api(`/api/v1/dead-letters?limit=1000&device=wq-x${cursor ? `&cursor=${cursor}` : ''}`);
      items.push(...page.body.items);
      cursor = page.body.next;
    } while (cursor);
    expect(items).toHaveLength(N);
    expect(items.every((x) => x.reason.length > 0)).toBe(true);
    expect((await gw.api('/api/v1/devices/wq-x/latest')).body.readings).toEqual({});
    expect(({} as Record<string, unknown>).ph).toBeUndefined(); // no prototype pollution
    // and the pipeline goes on
    await publish(c, 'devices/wq-x/up', '{"ph": 7.1}');
    expect((await gw.api('/api/v1/devices/wq-x/latest')).body.readings.ph.value).toBe(7.1);
    const metrics = await gw.api('/metrics', { token: null });
    expect(metrics.text).toContain(`gateway_messages_dead_lettered_total{model="generic.water-quality"} ${N}`);
    await c.endAsync();
  }, 60_000);
});
