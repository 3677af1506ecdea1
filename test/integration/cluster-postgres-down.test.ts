/**
 * Issue 15 item 7: when PostgreSQL (the state, and with store.type postgres the telemetry)
 * is unreachable, PUBACKs are withheld and /readyz is 503 with the reason — never
 * acknowledged and lost. PostgreSQL is SIGKILLed under load and restarted; the node recovers
 * by itself and every acknowledged reading is stored once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { eventually } from '../helpers/mqtt.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';

let pgServer: Postgres;
let gw: TestGateway;
const base = Date.parse('2026-11-21T00:00:00Z');

beforeAll(async () => {
  pgServer = await startPostgres();
  const url = await pgServer.createDatabase('down');
  gw = await startGateway({ config: { cluster: { nodeId: 'solo', postgres: { url } }, store: { type: 'postgres' } } });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await pgServer?.stop();
});

describe('PostgreSQL unreachable under load', () => {
  it('withholds PUBACKs and reports 503 with the reason while it is down; resumes by itself after; nothing acknowledged is lost', async () => {
    const created = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'wq-down', model: 'generic.water-quality' } });
    expect(created.status).toBe(201);
    const client = mqtt.connect(`mqtt://127.0.0.1:${gw.mqttPort}`, { username: 'wq-down', password: created.body.credentials.password, clientId: 'wq-down', reconnectPeriod: 200 });
    client.on('error', () => {});
    await new Promise<void>((r) => client.once('connect', () => r()));
    const acks: Array<{ seq: number; at: number }> = [];
    let sent = 0;
    let stopped = false;
    const pump = () => {
      if (stopped) return;
      const seq = sent++;
      let done = false;
      const next = () => { if (!done) { done = true; setTimeout(pump, 10); } };
      const timer = setTimeout(next, 2000);
      client.publish('devices/wq-down/up', JSON.stringify({ ts: base + seq * 1000, ph: 7 }), { qos: 1 }, (err) => {
        clearTimeout(timer);
        if (!err) acks.push({ seq, at: Date.now() });
        next();
      });
    };
    for (let i = 0; i < 4; i++) pump();
    await new Promise((r) => setTimeout(r, 1500));
    expect(acks.length).toBeGreaterThan(20);

    await pgServer.kill();
    const downAt = Date.now();
    const ready = await eventually(async () => { const r = await gw.api('/readyz', { token: null }); return r.status === 503 ? r : undefined; }, 5000, 100);
    expect(ready.text).toMatch(/PostgreSQL|postgres/);
    console.log(`readyz while PostgreSQL is down: ${ready.text}`);
    // a registry write cannot be made: a clear 503, nothing half-done
    const refusedWrite = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'wq-late', model: 'generic.water-quality' } });
    expect(refusedWrite.status).toBe(503);
    expect(refusedWrite.text).toMatch(/shared registry \(PostgreSQL\) unavailable/);
    await new Promise((r) => setTimeout(r, 1500));
    const upAt = Date.now();
    // a commit already past COMMIT when the server died may still be acknowledged in the first moment
    const duringOutage = acks.filter((a) => a.at > downAt + 300 && a.at < upAt);
    expect(duringOutage, 'acknowledged while PostgreSQL was down').toEqual([]);
    await pgServer.start();
    const ackedBefore = acks.length;
    await eventually(async () => (await gw.api('/readyz', { token: null })).status === 200, 15_000, 200);
    await eventually(() => acks.length > ackedBefore + 20, 15_000, 100);
    console.log(`resumed: ready again ${Date.now() - upAt} ms after the restart`);
    stopped = true;
    await new Promise((r) => setTimeout(r, 1000));
    client.end(true);

    expect((await gw.api('/api/v1/devices/wq-late')).status).toBe(404);
    const stored = await gw.api('/api/v1/telemetry?device=wq-down&metric=ph&limit=100000');
    const seqs: number[] = stored.body.points.map((p: { ts: string }) => (Date.parse(p.ts) - base) / 1000);
    expect(new Set(seqs).size).toBe(seqs.length);
    const have = new Set(seqs);
    expect(acks.filter((a) => !have.has(a.seq)).map((a) => a.seq), 'acknowledged but lost').toEqual([]);
  }, 60_000);
});
