/**
 * Durability in a cluster (issue 15 acceptance): three gateway processes on one PostgreSQL
 * (store.type postgres, the shared registry) and one Redis; 30 devices spread over the nodes
 * publish QoS 1 continuously; one node is SIGKILLed mid-stream; its devices reconnect to the
 * others; every acknowledged reading is then queryable exactly once from every surviving node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { ADMIN_TOKEN, apiClient, spawnGateway, tempDir, type ChildGateway } from '../helpers/gateway.js';
import { eventually } from '../helpers/mqtt.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { startRedis, type Redis } from '../helpers/redis.js';

const DEVICES = 30;
const base = Date.parse('2026-11-20T00:00:00Z');

let pgServer: Postgres;
let redis: Redis;
const nodes: Array<{ id: string; child: ChildGateway; dir: string }> = [];

beforeAll(async () => {
  [pgServer, redis] = await Promise.all([startPostgres(), startRedis()]);
  const url = await pgServer.createDatabase('durability');
  const config = { store: { type: 'postgres' }, mqtt: { rateLimit: { devicePerSecond: 0 } } };
  // the first node migrates; the other two start together
  const start = async (id: string) => {
    const dir = tempDir();
    const child = await spawnGateway({ GATEWAY_DATA_DIR: dir, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN, GATEWAY_POSTGRES_URL: url, GATEWAY_REDIS_URL: redis.url, GATEWAY_NODE_ID: id }, { config });
    nodes.push({ id, child, dir });
  };
  await start('n1');
  await Promise.all([start('n2'), start('n3')]);
  nodes.sort((x, y) => x.id.localeCompare(y.id));
}, 120_000);

afterAll(async () => {
  for (const n of nodes) {
    n.child.proc.kill('SIGTERM');
    await Promise.race([n.child.exited, new Promise((r) => setTimeout(r, 10_000))]);
    rmSync(n.dir, { recursive: true, force: true });
  }
  await redis?.stop();
  await pgServer?.stop();
});

interface Sender { id: string; client: MqttClient; acked: Set<number>; ackedAfterKill: number; sent: number; home: number }

describe('three nodes, one killed mid-stream', () => {
  it('every acknowledged reading is queryable exactly once from every surviving node', async () => {
    const api = apiClient(nodes[0]!.child.http);
    const ids = Array.from({ length: DEVICES }, (_, i) => `wq-c${String(i).padStart(2, '0')}`);
    const bulk = await api('/api/v1/devices/bulk', { method: 'POST', json: ids.map((id) => ({ id, model: 'generic.water-quality', site: 'jiangnan/yuhua-garden/b3' })) });
    expect(bulk.body.created).toBe(DEVICES);
    const secret = new Map<string, string>(bulk.body.credentials.map((c: { id: string; password: string }) => [c.id, c.password]));
    for (const n of nodes) await eventually(async () => (await apiClient(n.child.http)(`/api/v1/devices/${ids.at(-1)}`)).status === 200, 3000);

    let killed = false;
    let stopped = false;
    const senders: Sender[] = ids.map((id, i) => {
      const home = i % 3;
      // the node order a device tries: its own first, then the others (what a load balancer gives it)
      const servers = [0, 1, 2].map((k) => ({ host: '127.0.0.1', port: nodes[(home + k) % 3]!.child.mqttPort }));
      const client = mqtt.connect({ servers, username: id, password: secret.get(id)!, clientId: id, reconnectPeriod: 200, connectTimeout: 2000 });
      client.on('error', () => {});
      return { id, client, acked: new Set<number>(), ackedAfterKill: 0, sent: 0, home };
    });
    await Promise.all(senders.map((s) => new Promise<void>((r) => (s.client.connected ? r() : s.client.once('connect', () => r())))));

    // two messages in flight per device, each with its own timestamp as the key; a publish
    // that gets neither a PUBACK nor an error within 3 s (its node died) is given up
    const pump = (s: Sender) => {
      if (stopped) return;
      const seq = s.sent++;
      let done = false;
      const next = () => { if (!done) { done = true; setTimeout(() => pump(s), 20); } };
      const timer = setTimeout(next, 3000);
      s.client.publish(`devices/${s.id}/up`, JSON.stringify({ ts: base + seq * 1000, ph: 7 + (seq % 100) / 100 }), { qos: 1 }, (err) => {
        clearTimeout(timer);
        if (!err) { s.acked.add(seq); if (killed) s.ackedAfterKill++; }
        next();
      });
    };
    for (const s of senders) { pump(s); pump(s); }

    await new Promise((r) => setTimeout(r, 3000));
    const victim = nodes[2]!;
    victim.child.proc.kill('SIGKILL');
    await victim.child.exited;
    killed = true;
    await new Promise((r) => setTimeout(r, 5000));
    stopped = true;
    await new Promise((r) => setTimeout(r, 1500)); // the last PUBACKs
    for (const s of senders) s.client.end(true);

    const total = senders.reduce((n, s) => n + s.acked.size, 0);
    const moved = senders.filter((s) => s.home === 2);
    console.log(`acknowledged ${total} readings of ${DEVICES} devices; devices of the killed node acked after the kill: ${moved.map((s) => s.ackedAfterKill).join(',')}`);
    expect(total).toBeGreaterThan(DEVICES * 10);
    // the killed node's devices went on through the others
    for (const s of moved) expect(s.ackedAfterKill, s.id).toBeGreaterThan(0);

    for (const n of nodes.slice(0, 2)) {
      const nodeApi = apiClient(n.child.http);
      for (const s of senders) {
        const r = await nodeApi(`/api/v1/telemetry?device=${s.id}&metric=ph&limit=100000`);
        expect(r.status).toBe(200);
        const seqs: number[] = r.body.points.map((p: { ts: string }) => (Date.parse(p.ts) - base) / 1000);
        expect(new Set(seqs).size, `${s.id} on ${n.id}: a reading stored twice`).toBe(seqs.length);
        const have = new Set(seqs);
        const missing = [...s.acked].filter((q) => !have.has(q));
        expect(missing, `${s.id} on ${n.id}: acknowledged but not queryable (of ${s.acked.size})`).toEqual([]);
        // and nothing that was never sent
        expect(seqs.every((q) => Number.isInteger(q) && q >= 0 && q < s.sent)).toBe(true);
      }
    }
  }, 90_000);
});
