/**
 * Cluster mode against real servers: two gateways sharing a Redis 7 (cross-node delivery of
 * telemetry/, alerts/ and retained devices/{id}/status, take-over of a client id, a
 * persistent session resumed on the other node, uplinks kept off Redis), and three gateway
 * processes sharing a PostgreSQL 15 whose leader is SIGKILLed: another leads within 10 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis as IORedis } from 'ioredis';
import { rmSync } from 'node:fs';
import { ADMIN_TOKEN, apiClient, spawnGateway, startGateway, tempDir, type ChildGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';
import { startRedis, type Redis } from '../helpers/redis.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import type { MqttClient } from 'mqtt';

const consumer = (gw: TestGateway, opts: Record<string, unknown> = {}) => connect(gw.mqttPort, { username: 'apikey', password: ADMIN_TOKEN, ...opts });

describe('broker across nodes on Redis', () => {
  let redis: Redis;
  let a: TestGateway;
  let b: TestGateway;
  let spy: IORedis;
  const channels: string[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    a = await startGateway({ config: { cluster: { nodeId: 'node-a', redis: { url: redis.url, packetTtlS: 60 } } } });
    b = await startGateway({ config: { cluster: { nodeId: 'node-b', redis: { url: redis.url } } } });
    // everything that crosses Redis: mqemitter-redis PUBLISHes on the MQTT topic as channel
    spy = new IORedis(redis.url);
    spy.on('pmessage', (_p, ch) => channels.push(ch));
    await spy.psubscribe('*');
  }, 60_000);

  afterAll(async () => {
    spy?.disconnect();
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  it('telemetry/ and alerts/ of a device on node A reach a consumer on node B; its uplinks never cross Redis', async () => {
    const sub = await consumer(b, { clientId: 'ops-b' });
    const got: Array<{ topic: string; body: any }> = [];
    sub.on('message', (topic, payload) => { try { got.push({ topic, body: JSON.parse(payload.toString()) }); } catch { /* not ours */ } });
    await sub.subscribeAsync(['telemetry/#', 'alerts/#'], { qos: 1 });
    const r = await a.api('/api/v1/devices', { method: 'POST', json: { id: 'wq-a', model: 'generic.water-quality', site: 'jiangnan/yuhua-garden/b3' } });
    expect(r.status).toBe(201);
    const dev = await connect(a.mqttPort, { username: 'wq-a', password: r.body.credentials.password, clientId: 'wq-a' });
    await new Promise((res) => setTimeout(res, 300)); // the SUBSCRIBE's broadcast reaches node A
    await publish(dev, 'devices/wq-a/up', JSON.stringify({ ph: 7.2 }));
    await publish(dev, 'devices/wq-a/up', JSON.stringify({ ph: 9.5 })); // out of the GB 5749 range: an alert
    await eventually(() => got.some((m) => m.topic.startsWith('alerts/')), 10_000);
    const tele = got.filter((m) => m.topic === 'telemetry/wq-a').map((m) => m.body.readings.find((x: { metric: string }) => x.metric === 'ph').value);
    expect(tele).toEqual([7.2, 9.5]);
    const alert = got.find((m) => m.topic.startsWith('alerts/'))!;
    expect(alert.topic).toBe('alerts/jiangnan/yuhua-garden/b3/wq-a');
    expect(alert.body).toMatchObject({ rule: 'ph_out_of_range', deviceId: 'wq-a', status: 'open', value: 9.5 });
    dev.end();
    sub.end();
    // uplinks stayed on node A; what other nodes need did cross
    expect(channels.filter((c) => c.startsWith('devices/wq-a/up'))).toEqual([]);
    expect(channels).toContain('telemetry/wq-a');
    // (an ingested uplink is not routed at all, not even on node A: test/integration/mqtt-access.test.ts)
  });

  it('telemetry/ crosses Redis only while some node has a telemetry subscriber, and is not built while none has', async () => {
    const r = await a.api('/api/v1/devices', { method: 'POST', json: { id: 'wq-t', model: 'generic.water-quality', site: 'jiangnan/yuhua-garden/b3' } });
    const dev = await connect(a.mqttPort, { username: 'wq-t', password: r.body.credentials.password, clientId: 'wq-t' });
    const crossed = () => channels.filter((c) => c === 'telemetry/wq-t').length;
    // the first test's consumer left: node B announced it has none
    await eventually(() => !a.gateway.broker.hasTelemetrySubscribers, 3000, 20);
    await publish(dev, 'devices/wq-t/up', JSON.stringify({ ph: 7.1 }));
    await new Promise((res) => setTimeout(res, 200));
    expect(crossed()).toBe(0);

    const sub = await consumer(b, { clientId: 'ops-t' });
    const got: number[] = [];
    sub.on('message', (topic, payload) => { if (topic === 'telemetry/wq-t') got.push(JSON.parse(payload.toString()).readings[0].value); });
    await sub.subscribeAsync('telemetry/wq-t', { qos: 0 }); // QoS 0: not in aedes' shared subscription trie
    await eventually(() => a.gateway.broker.hasTelemetrySubscribers, 3000, 5);
    await publish(dev, 'devices/wq-t/up', JSON.stringify({ ph: 7.2 }));
    await eventually(() => got.length === 1, 5000);
    expect(got).toEqual([7.2]);
    expect(crossed()).toBe(1);

    sub.end();
    await eventually(() => !a.gateway.broker.hasTelemetrySubscribers, 3000, 20);
    await publish(dev, 'devices/wq-t/up', JSON.stringify({ ph: 7.3 }));
    await new Promise((res) => setTimeout(res, 200));
    expect(crossed()).toBe(1);
    dev.end();
  });

  it('a retained devices/{id}/status published on node A is delivered, retained, to a new subscriber on node B', async () => {
    a.gateway.broker.publish('devices/wq-a/status', JSON.stringify({ online: false }), true);
    await new Promise((res) => setTimeout(res, 300));
    const sub = await consumer(b, { clientId: 'status-b' });
    const got: Array<[string, string, boolean]> = [];
    sub.on('message', (t, p, packet) => got.push([t, p.toString(), packet.retain]));
    await sub.subscribeAsync('devices/+/status', { qos: 1 });
    await eventually(() => got.some(([t]) => t === 'devices/wq-a/status'), 5000);
    expect(got.filter(([t]) => t === 'devices/wq-a/status')).toEqual([['devices/wq-a/status', '{"online":false}', true]]);
    sub.end();
  });

  it('without cluster.postgres.url, GET /api/v1/cluster reports this node alone as the leader', async () => {
    const r = await a.api('/api/v1/cluster');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ leader: 'node-a', nodes: [{ id: 'node-a', leader: true, mqttClients: expect.any(Number) }] });
    expect(Date.parse(r.body.nodes[0].startedAt)).toBeLessThanOrEqual(Date.parse(r.body.nodes[0].lastHeartbeatAt));
  });

  it('take-over: the same client id connecting on node B closes its connection on node A', async () => {
    const first = await consumer(a, { clientId: 'dashboard-1' });
    let closed = false;
    first.on('close', () => { closed = true; });
    const second = await consumer(b, { clientId: 'dashboard-1' });
    await eventually(() => closed, 5000);
    expect(second.connected).toBe(true);
    second.end();
  });

  it('a persistent session subscribed on node A gets the QoS 1 messages queued while offline when it reconnects on node B', async () => {
    const s1 = await consumer(a, { clientId: 'archiver', clean: false });
    // several filters in one SUBSCRIBE (aedes + aedes-persistence-redis alone never SUBACK it: cluster-mq.ts)
    await s1.subscribeAsync(['alerts/#', 'telemetry/none'], { qos: 1 });
    await s1.endAsync();
    await new Promise((res) => setTimeout(res, 200));
    await new Promise<void>((res, rej) => b.gateway.broker.aedes.publish({ cmd: 'publish', topic: 'alerts/x/d1', payload: Buffer.from('queued'), qos: 1, retain: false, dup: false }, (err) => (err ? rej(err) : res())));
    const s2 = await consumer(b, { clientId: 'archiver', clean: false });
    const got: string[] = [];
    s2.on('message', (t, p) => got.push(`${t}=${p}`));
    await eventually(() => got.length > 0, 5000);
    expect(got).toEqual(['alerts/x/d1=queued']);
    // the queued packet carries the configured TTL in Redis (it expires for consumers that never return)
    await s2.endAsync();
  });
});

describe('leader lease in PostgreSQL', () => {
  let pg: Postgres;
  let url: string;
  const nodes: Array<{ id: string; child: ChildGateway; dir: string }> = [];

  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('cluster_test');
    for (const id of ['n1', 'n2', 'n3']) {
      const dir = tempDir();
      const child = await spawnGateway({ GATEWAY_DATA_DIR: dir, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN, GATEWAY_POSTGRES_URL: url, GATEWAY_NODE_ID: id });
      nodes.push({ id, child, dir });
    }
  }, 120_000);

  afterAll(async () => {
    for (const n of nodes) {
      n.child.proc.kill('SIGTERM');
      await Promise.race([n.child.exited, new Promise((r) => setTimeout(r, 10_000))]);
      rmSync(n.dir, { recursive: true, force: true });
    }
    await pg?.stop();
  });

  it('GET /api/v1/cluster lists the nodes and one leader; SIGKILL of the leader: another leads within 10 s', async () => {
    const api = (n: { child: ChildGateway }) => apiClient(n.child.http);
    const view = await eventually(async () => {
      const r = await api(nodes[0]!)('/api/v1/cluster');
      return r.status === 200 && r.body.nodes.length === 3 && r.body.leader ? r.body : undefined;
    }, 15_000, 200);
    expect(view.nodes.map((n: { id: string }) => n.id)).toEqual(['n1', 'n2', 'n3']);
    expect(view.nodes.filter((n: { leader: boolean }) => n.leader).map((n: { id: string }) => n.id)).toEqual([view.leader]);
    for (const n of view.nodes) {
      expect(Object.keys(n).sort()).toEqual(['id', 'lastHeartbeatAt', 'leader', 'mqttClients', 'startedAt']);
      expect(Date.now() - Date.parse(n.lastHeartbeatAt)).toBeLessThan(10_000);
      expect(n.mqttClients).toBe(0);
    }
    // every node agrees
    for (const n of nodes) expect((await api(n)('/api/v1/cluster')).body.leader).toBe(view.leader);
    // admin only
    expect((await apiClient(nodes[0]!.child.http)('/api/v1/cluster', { token: null })).status).toBe(401);

    const old = nodes.find((n) => n.id === view.leader)!;
    const survivor = nodes.find((n) => n !== old)!;
    const killedAt = Date.now();
    old.child.proc.kill('SIGKILL');
    await old.child.exited;
    const next = await eventually(async () => {
      const r = await api(survivor)('/api/v1/cluster');
      return r.body.leader && r.body.leader !== old.id ? r.body : undefined;
    }, 15_000, 100);
    const took = Date.now() - killedAt;
    expect(took).toBeLessThan(10_000);
    expect(nodes.filter((n) => n !== old).map((n) => n.id)).toContain(next.leader);
    // the dead node is still listed with its last heartbeat, not as leader
    const dead = next.nodes.find((n: { id: string }) => n.id === old.id);
    expect(dead.leader).toBe(false);
    expect(Date.parse(dead.lastHeartbeatAt)).toBeLessThanOrEqual(killedAt);
    console.log(`leader ${old.id} SIGKILLed; ${next.leader} leads after ${took} ms`);
  }, 60_000);
});

describe('two nodes on one PostgreSQL (telemetry store and lease), in process', () => {
  let pg: Postgres;
  let a: TestGateway;
  let b: TestGateway;
  const crewless = (gw: TestGateway, q: string) => gw.api(`/api/v1/alerts${q}`);

  beforeAll(async () => {
    pg = await startPostgres();
    const tel = await pg.createDatabase('shared_telemetry');
    const clu = await pg.createDatabase('shared_cluster');
    const cfg = (id: string) => ({ store: { type: 'postgres', postgres: { url: tel } }, cluster: { nodeId: id, postgres: { url: clu, heartbeatMs: 300, leaseMs: 1200 } } });
    a = await startGateway({ config: cfg('node-a') });
    b = await startGateway({ config: cfg('node-b') });
  }, 60_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await pg?.stop();
  });

  async function provisionBoth(id: string, model: string, attributes: Record<string, unknown> = {}): Promise<MqttClient[]> {
    // one registry for both nodes (cluster.postgres.url): provisioned on A, known to B within 1 s
    const r = await a.api('/api/v1/devices', { method: 'POST', json: { id, model, site: 'jiangnan/yuhua-garden/b3', attributes } });
    expect(r.status).toBe(201);
    await eventually(() => b.gateway.registry.get(id), 1000, 20);
    const out: MqttClient[] = [];
    for (const gw of [a, b]) out.push(await connect(gw.mqttPort, { username: id, password: r.body.credentials.password, clientId: `${id}-${out.length}` }));
    return out;
  }

  it('readings acknowledged on either node are queryable from both, each once', async () => {
    const [ca, cb] = await provisionBoth('wq-s', 'generic.water-quality');
    const base = Date.parse('2026-11-25T00:00:00Z');
    for (let i = 0; i < 10; i++) await publish(i % 2 ? cb! : ca!, 'devices/wq-s/up', JSON.stringify({ ts: base + i * 60_000, ph: 7 + i / 10 }));
    // the same reading through both nodes: stored once
    await publish(ca!, 'devices/wq-s/up', JSON.stringify({ ts: base, ph: 7 }));
    await publish(cb!, 'devices/wq-s/up', JSON.stringify({ ts: base, ph: 7 }));
    ca!.end(); cb!.end();
    const q = '/api/v1/telemetry?device=wq-s&metric=ph&limit=100';
    const [ra, rb] = await Promise.all([a.api(q), b.api(q)]);
    expect(ra.body.points.map((p: { value: number }) => p.value)).toEqual(Array.from({ length: 10 }, (_, i) => 7 + i / 10));
    expect(rb.body).toEqual(ra.body);
  });

  it('the offline sweep runs on the leader only, and on the next leader when it stops', async () => {
    const [leader, other] = a.gateway.leadership.isLeader() ? [a, b] : [b, a];
    expect(other.gateway.leadership.isLeader()).toBe(false);
    const clients = await provisionBoth('quiet-s', 'generic.parking', { reportIntervalS: 1 });
    await publish(clients[0]!, 'devices/quiet-s/up', JSON.stringify({ occupied: false }));
    await publish(clients[1]!, 'devices/quiet-s/up', JSON.stringify({ occupied: false }));
    for (const c of clients) c.end();
    const offline = async (gw: TestGateway, id = 'quiet-s') => (await crewless(gw, `?rule=device_offline&device=${id}&status=open,acknowledged,resolved`)).body.items.length;
    await eventually(async () => (await offline(leader)) === 1, 10_000, 100);
    // the sweep's alert is shared (PostgreSQL, NOTIFY): the other node lists the same one, opens none of its own
    await eventually(async () => (await offline(other)) === 1, 5000, 100);
    await new Promise((r) => setTimeout(r, 1500)); // a further sweep period or more on the non-leader
    expect(await offline(other)).toBe(1);
    expect((await crewless(other, '?rule=device_offline&device=quiet-s')).body.items[0].id).toBe((await crewless(leader, '?rule=device_offline&device=quiet-s')).body.items[0].id);

    const stoppedAt = Date.now();
    await leader.gateway.lease!.stop();
    await eventually(() => other.gateway.leadership.isLeader(), 5000, 50);
    expect(Date.now() - stoppedAt).toBeLessThan(3000);
    // the next leader sweeps: a device that goes silent now is alerted; quiet-s is not alerted twice
    const [late] = await provisionBoth('quiet-t', 'generic.parking', { reportIntervalS: 1 });
    await publish(late!, 'devices/quiet-t/up', JSON.stringify({ occupied: true }));
    late!.end();
    await eventually(async () => (await offline(other, 'quiet-t')) === 1, 10_000, 100);
    expect(await offline(other)).toBe(1);
    const view = (await other.api('/api/v1/cluster')).body;
    expect(view.leader).toBe(other.gateway.nodeId);
    expect(view.nodes.map((n: { id: string }) => n.id)).toEqual([other.gateway.nodeId]);
  }, 30_000);
});
