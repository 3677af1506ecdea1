/**
 * The leader's sweep on the shared alert state (issue 15 items 5 and 6): three gateway
 * processes on one PostgreSQL and one Redis, a real webhook receiver. A door held open
 * through one node is alerted by the leader's sweep and resolved by a reading through a
 * third; one device goes silent and is offline-alerted by the leader, which is then
 * SIGKILLed while a second device's deadline is still ahead; the next leader opens that one,
 * not a second alert for the first; readings through a surviving non-leader resolve both,
 * each once, on every node and at the webhook.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import pg from 'pg';
import type { MqttClient } from 'mqtt';
import { ADMIN_TOKEN, apiClient, freePort, spawnGateway, tempDir, type ChildGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { startRedis, type Redis } from '../helpers/redis.js';
import { WebhookReceiver } from '../helpers/webhook.js';

const SITE = 'jiangnan/yuhua-garden/b3';
let pgServer: Postgres;
let redis: Redis;
let hook: WebhookReceiver;
let db: pg.Pool;
interface Node { id: string; child: ChildGateway; dir: string; api: ReturnType<typeof apiClient>; dead?: boolean }
const nodes: Node[] = [];
const secrets = new Map<string, string>();

beforeAll(async () => {
  [pgServer, redis] = await Promise.all([startPostgres(), startRedis()]);
  const url = await pgServer.createDatabase('sweep');
  db = new pg.Pool({ connectionString: url, max: 2 });
  db.on('error', () => undefined);
  hook = new WebhookReceiver(await freePort(), 'sweep-secret');
  await hook.up();
  const config = {
    store: { type: 'postgres' },
    cluster: { postgres: { heartbeatMs: 500, leaseMs: 2000 } },
    notify: { webhooks: [{ url: hook.url, secret: 'sweep-secret' }], retry: { initialMs: 100, maxMs: 1000 } },
  };
  const start = async (id: string) => {
    const dir = tempDir();
    const child = await spawnGateway({ GATEWAY_DATA_DIR: dir, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN, GATEWAY_POSTGRES_URL: url, GATEWAY_REDIS_URL: redis.url, GATEWAY_NODE_ID: id }, { config });
    nodes.push({ id, child, dir, api: apiClient(child.http) });
  };
  await start('s1'); // migrates, and leads
  await Promise.all([start('s2'), start('s3')]);
  nodes.sort((x, y) => x.id.localeCompare(y.id));
  const bulk = await nodes[0]!.api('/api/v1/devices/bulk', { method: 'POST', json: [
    { id: 'door-1', model: 'generic.door-access', site: SITE, attributes: { thresholds: { door_open_for_s: 2 } } },
  ] });
  expect(bulk.body.created).toBe(1);
  for (const c of bulk.body.credentials as Array<{ id: string; password: string }>) secrets.set(c.id, c.password);
  for (const n of nodes) await eventually(async () => (await n.api('/api/v1/devices/door-1')).status === 200, 3000);
}, 120_000);

afterAll(async () => {
  for (const n of nodes) {
    if (!n.dead) n.child.proc.kill('SIGTERM');
    await Promise.race([n.child.exited, new Promise((r) => setTimeout(r, 10_000))]);
    rmSync(n.dir, { recursive: true, force: true });
  }
  await db?.end();
  await hook?.down();
  await redis?.stop();
  await pgServer?.stop();
});

const leaderOf = async (n: Node): Promise<string | null> => (await n.api('/api/v1/cluster')).body.leader ?? null;
const alertsOf = async (n: Node, q: string) => (await n.api(`/api/v1/alerts?${q}&status=open,acknowledged,resolved&limit=100`)).body.items as Array<{ id: string; status: string; rule: string }>;
const hooked = (device: string, rule: string) => hook.received.filter((r) => r.alert.deviceId === device && r.alert.rule === rule).map((r) => r.event);

async function send(n: Node, device: string, body: Record<string, unknown>): Promise<void> {
  const c: MqttClient = await connect(n.child.mqttPort, { username: device, password: secrets.get(device)!, clientId: `${device}-${n.id}-${Date.now()}` });
  await publish(c, `devices/${device}/up`, JSON.stringify(body));
  await c.endAsync();
}

describe('the sweep on the shared state', () => {
  it('a door held open through one node is alerted by the leader and resolved by a reading through a third', async () => {
    const leaderId = await leaderOf(nodes[0]!);
    const leader = nodes.find((n) => n.id === leaderId)!;
    const [via, other] = nodes.filter((n) => n !== leader) as [Node, Node];
    await send(via, 'door-1', { door_open: true });
    // the state waits on the clock on `via`'s write; only the leader's sweep (one query per pass) can find it
    for (const n of nodes) await eventually(async () => (await alertsOf(n, 'device=door-1&rule=door_held_open')).length === 1, 10_000, 100);
    await send(other, 'door-1', { door_open: false });
    for (const n of nodes) await eventually(async () => (await alertsOf(n, 'device=door-1&rule=door_held_open'))[0]?.status === 'resolved', 10_000, 100);
    await eventually(() => hooked('door-1', 'door_held_open').length >= 2, 10_000, 100);
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate would arrive by now
    expect(hooked('door-1', 'door_held_open')).toEqual(['alert.opened', 'alert.resolved']);
    const rows = await db.query("SELECT status FROM alerts WHERE rule = 'door_held_open' AND device_id = 'door-1'");
    expect(rows.rows).toEqual([{ status: 'resolved' }]);
    const st = await db.query("SELECT waiting FROM alert_state WHERE rule = 'door_held_open' AND device_id = 'door-1'");
    expect(st.rows).toEqual([{ waiting: false }]);
  }, 40_000);

  it('the leader is killed after one offline alert and before another: each opens once, on the next leader, and a reading elsewhere resolves it once', async () => {
    const leaderId = await leaderOf(nodes[0]!);
    const leader = nodes.find((n) => n.id === leaderId)!;
    const [n1, n2] = nodes.filter((n) => n !== leader) as [Node, Node];
    const offline = (n: Node, device: string) => alertsOf(n, `device=${device}&rule=device_offline`);
    // offline 3 × 2 s after creation or the last message
    const provision = async (id: string) => {
      const r = await n1.api('/api/v1/devices', { method: 'POST', json: { id, model: 'generic.parking', site: SITE, attributes: { reportIntervalS: 2 } } });
      expect(r.status).toBe(201);
      secrets.set(id, r.body.credentials.password);
      for (const n of nodes) if (!n.dead) await eventually(async () => (await n.api(`/api/v1/devices/${id}`)).status === 200, 3000, 20);
    };
    await provision('quiet-a');

    // quiet-a goes silent; the leader opens its offline alert, seen on every node
    await send(n1, 'quiet-a', { occupied: false });
    for (const n of nodes) await eventually(async () => (await offline(n, 'quiet-a')).length === 1, 10_000, 100);
    await eventually(() => hooked('quiet-a', 'device_offline').length === 1, 10_000, 100);

    // quiet-b's last message, then the leader dies before quiet-b's deadline
    await provision('quiet-b');
    await send(n2, 'quiet-b', { occupied: true });
    leader.child.proc.kill('SIGKILL');
    await leader.child.exited;
    leader.dead = true;
    const killedAt = Date.now();
    await eventually(async () => { const l = await leaderOf(n1); return l === n1.id || l === n2.id; }, 10_000, 100);
    const takeover = Date.now() - killedAt;
    expect(takeover).toBeLessThan(10_000);

    for (const n of [n1, n2]) await eventually(async () => (await offline(n, 'quiet-b')).length === 1, 10_000, 100);
    await eventually(() => hooked('quiet-b', 'device_offline').length === 1, 10_000, 100);
    await new Promise((r) => setTimeout(r, 2000)); // several sweep passes of the new leader
    for (const n of [n1, n2]) {
      for (const d of ['quiet-a', 'quiet-b']) expect((await offline(n, d)).map((a) => a.status), `${d} on ${n.id}`).toEqual(['open']);
    }
    expect(hooked('quiet-a', 'device_offline')).toEqual(['alert.opened']);
    expect(hooked('quiet-b', 'device_offline')).toEqual(['alert.opened']);

    // a reading through a surviving node (the leader or not) resolves each once
    await send(n1, 'quiet-a', { occupied: true });
    await send(n2, 'quiet-b', { occupied: false });
    for (const n of [n1, n2]) {
      for (const d of ['quiet-a', 'quiet-b']) await eventually(async () => (await offline(n, d))[0]?.status === 'resolved', 10_000, 100);
    }
    await eventually(() => hooked('quiet-a', 'device_offline').length === 2 && hooked('quiet-b', 'device_offline').length === 2, 10_000, 100);
    await new Promise((r) => setTimeout(r, 1500));
    expect(hooked('quiet-a', 'device_offline')).toEqual(['alert.opened', 'alert.resolved']);
    expect(hooked('quiet-b', 'device_offline')).toEqual(['alert.opened', 'alert.resolved']);
    const rows = await db.query("SELECT device_id, status FROM alerts WHERE rule = 'device_offline' ORDER BY device_id");
    expect(rows.rows).toEqual([{ device_id: 'quiet-a', status: 'resolved' }, { device_id: 'quiet-b', status: 'resolved' }]);

    // the retained status follows the resolve (published by the node whose reading resolved it)
    const sub = await connect(n2.child.mqttPort, { username: 'apikey', password: ADMIN_TOKEN, clientId: 'status-check' });
    const got = new Map<string, { online: boolean }>();
    sub.on('message', (t, p) => got.set(t, JSON.parse(p.toString())));
    await sub.subscribeAsync('devices/+/status', { qos: 1 });
    await eventually(() => got.has('devices/quiet-a/status') && got.has('devices/quiet-b/status'), 5000, 50);
    sub.end();
    expect(got.get('devices/quiet-a/status')!.online).toBe(true);
    expect(got.get('devices/quiet-b/status')!.online).toBe(true);
    console.log(`leader ${leader.id} SIGKILLed; ${(await leaderOf(n1))} led after ${takeover} ms`);
  }, 60_000);
});
