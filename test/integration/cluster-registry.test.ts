/**
 * The shared registry across nodes (issue 15 items 1 and 4, CONTRACT v2 "Cluster" and
 * "Sessions follow credentials"): two gateways on one real PostgreSQL 15. Provisioning on
 * node A works for a CONNECT to node B within 1 s; rotation, device deletion and API-key
 * deletion on A close the sessions (MQTT and SSE) on B within 1 s; last-seen and the audit
 * log are the same from both nodes; nothing of the registry is kept in the nodes' SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { request } from 'node:http';
import type { MqttClient } from 'mqtt';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import pg from 'pg';

let pgServer: Postgres;
let url: string;
let a: TestGateway;
let b: TestGateway;
/** measured latencies, printed at the end (docs/cluster.md) */
const measured: Record<string, number> = {};
const took = (name: string, ms: number) => { measured[name] = ms; return ms; };

beforeAll(async () => {
  pgServer = await startPostgres();
  url = await pgServer.createDatabase('registry');
  a = await startGateway({ config: { cluster: { nodeId: 'node-a', postgres: { url } } } });
  b = await startGateway({ config: { cluster: { nodeId: 'node-b', postgres: { url } } } });
}, 60_000);

afterAll(async () => {
  console.log(`cross-node latencies (ms): ${JSON.stringify(measured)}`);
  await a?.stop();
  await b?.stop();
  await pgServer?.stop();
});

/** resolves with the ms from now until the client's connection closes */
function closedWithin(client: MqttClient): Promise<number> {
  const t0 = Date.now();
  return new Promise((res) => client.once('close', () => res(Date.now() - t0)));
}

async function provision(gw: TestGateway, id: string): Promise<string> {
  const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id, model: 'generic.water-quality', site: 'jiangnan/yuhua-garden/b3' } });
  expect(r.status).toBe(201);
  return r.body.credentials.password;
}

const refused = async (port: number, username: string, password: string) => {
  try {
    const c = await connect(port, { username, password, clientId: `${username}-probe-${Math.random()}`, reconnectPeriod: 0, connectTimeout: 3000 });
    c.end(true);
    return false;
  } catch { return true; }
};

/** an SSE stream of alerts with this token, open (first bytes received); `ended` resolves with Date.now() when the server ends it */
function sse(base: string, token: string): Promise<{ ended: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/api/v1/alerts/stream`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`SSE status ${res.statusCode}`)); return; }
      const ended = new Promise<number>((r) => res.on('end', () => r(Date.now())));
      res.once('data', () => resolve({ ended }));
      res.resume();
    });
    req.on('error', reject);
    req.end();
  });
}

describe('shared registry on PostgreSQL', () => {
  it('a device provisioned on node A can CONNECT to node B within 1 s', async () => {
    const secret = await provision(a, 'wq-p1');
    const t0 = Date.now();
    // polled in B's registry, not by CONNECTs: refused CONNECTs are throttled (ever slower retries)
    await eventually(() => b.gateway.registry.get('wq-p1'), 5000, 5);
    took('provision→known on B', Date.now() - t0);
    const dev = await connect(b.mqttPort, { username: 'wq-p1', password: secret, clientId: 'wq-p1', reconnectPeriod: 0, connectTimeout: 2000 });
    expect(took('provision→connect', Date.now() - t0)).toBeLessThan(1000);
    // and B's REST sees it
    expect((await b.api('/api/v1/devices/wq-p1')).body).toMatchObject({ id: 'wq-p1', site: 'jiangnan/yuhua-garden/b3' });
    dev.end(true);
  });

  it('rotation on node A closes the device\'s session on node B within 1 s; the old secret is refused there, the new one works', async () => {
    const old = await provision(a, 'wq-r1');
    await eventually(() => b.gateway.registry.get('wq-r1'), 2000);
    const dev = await connect(b.mqttPort, { username: 'wq-r1', password: old, clientId: 'wq-r1', reconnectPeriod: 0 });
    const closed = closedWithin(dev);
    const r = await a.api('/api/v1/devices/wq-r1/credentials', { method: 'POST' });
    expect(r.status).toBe(200);
    expect(took('rotate→mqtt closed', await closed)).toBeLessThan(1000);
    expect(await refused(b.mqttPort, 'wq-r1', old)).toBe(true);
    const fresh = await connect(b.mqttPort, { username: 'wq-r1', password: r.body.credentials.password, clientId: 'wq-r1', reconnectPeriod: 0 });
    fresh.end(true);
  });

  it('device deletion on node A closes its session on node B within 1 s and B forgets it', async () => {
    const secret = await provision(a, 'wq-d1');
    await eventually(() => b.gateway.registry.get('wq-d1'), 2000);
    const dev = await connect(b.mqttPort, { username: 'wq-d1', password: secret, clientId: 'wq-d1', reconnectPeriod: 0 });
    const closed = closedWithin(dev);
    expect((await a.api('/api/v1/devices/wq-d1', { method: 'DELETE' })).status).toBe(204);
    expect(took('device delete→mqtt closed', await closed)).toBeLessThan(1000);
    expect((await b.api('/api/v1/devices/wq-d1')).status).toBe(404);
    expect(await refused(b.mqttPort, 'wq-d1', secret)).toBe(true);
  });

  it('an API key created on node A works on node B; deleting it on A ends its SSE stream and MQTT session on B within 1 s', async () => {
    const k = await a.api('/api/v1/api-keys', { method: 'POST', json: { name: 'ops-console', role: 'crew' } });
    expect(k.status).toBe(201);
    const token: string = k.body.token;
    await eventually(async () => (await b.api('/api/v1/whoami', { token })).status === 200, 2000);
    const stream = await sse(b.http, token);
    const consumer = await connect(b.mqttPort, { username: 'apikey', password: token, clientId: 'ops-console-1', reconnectPeriod: 0 });
    const mqttClosed = closedWithin(consumer);
    const t0 = Date.now(); // from before the DELETE: the stricter measure
    expect((await a.api('/api/v1/api-keys/ops-console', { method: 'DELETE' })).status).toBe(204);
    expect(took('key delete→mqtt closed', await mqttClosed)).toBeLessThan(1000);
    expect(took('key delete→sse ended', await stream.ended - t0)).toBeLessThan(1000);
    expect((await b.api('/api/v1/whoami', { token })).status).toBe(401);
  });

  it('an integration deleted on node A loses its MQTT session on node B within 1 s', async () => {
    const r = await a.api('/api/v1/integrations', { method: 'POST', json: { id: 'ttn-estate', type: 'ttn-v3' } });
    expect(r.status).toBe(201);
    const { username, password } = r.body.credentials;
    await eventually(() => b.gateway.integrations.get('ttn-estate'), 2000);
    const ns = await connect(b.mqttPort, { username, password, clientId: 'ttn-estate-1', reconnectPeriod: 0 });
    const closed = closedWithin(ns);
    expect((await a.api('/api/v1/integrations/ttn-estate', { method: 'DELETE' })).status).toBe(204);
    expect(took('integration delete→mqtt closed', await closed)).toBeLessThan(1000);
    expect(await refused(b.mqttPort, username, password)).toBe(true);
  });

  it('last-seen of a device on node B reaches node A within a few seconds (online on both)', async () => {
    const secret = await provision(a, 'wq-s1');
    await eventually(() => b.gateway.registry.get('wq-s1'), 2000);
    const dev = await connect(b.mqttPort, { username: 'wq-s1', password: secret, clientId: 'wq-s1', reconnectPeriod: 0 });
    await publish(dev, 'devices/wq-s1/up', JSON.stringify({ ph: 7.1 }));
    expect((await b.api('/api/v1/devices/wq-s1')).body.online).toBe(true);
    const t0 = Date.now();
    await eventually(async () => (await a.api('/api/v1/devices/wq-s1')).body.online === true, 5000, 100);
    expect(took('last-seen B→A online', Date.now() - t0)).toBeLessThan(3000);
    expect(a.gateway.registry.get('wq-s1')!.lastSeen).toBe(b.gateway.registry.get('wq-s1')!.lastSeen);
    dev.end(true);
  });

  it('a change made while node B\'s listening connection is down is applied when it reconnects (reload of the whole registry)', async () => {
    const secret = await provision(a, 'wq-m1');
    await eventually(() => b.gateway.registry.get('wq-m1'), 2000);
    const dev = await connect(b.mqttPort, { username: 'wq-m1', password: secret, clientId: 'wq-m1', reconnectPeriod: 0 });
    const closed = closedWithin(dev);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const cut = await admin.query("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'gateway-feed:node-b'");
    await admin.end();
    expect(cut.rows).toEqual([{ ok: true }]);
    // B's notification for this is lost: B is not listening
    expect((await a.api('/api/v1/devices/wq-m1', { method: 'DELETE' })).status).toBe(204);
    expect(took('missed delete→closed after reconnect', await closed)).toBeLessThan(3000);
    expect(b.gateway.registry.get('wq-m1')).toBeUndefined();
    await eventually(async () => (await b.api('/readyz', { token: null })).status === 200, 3000);
  });

  it('the audit log is one log: entries written through node A are listed by node B', async () => {
    const r = await b.api('/api/v1/audit?action=device.*&limit=1000');
    const targets = r.body.items.map((e: { target: string; action: string }) => `${e.action} ${e.target}`);
    expect(targets).toContain('device.create wq-p1');
    expect(targets).toContain('device.rotate-credentials wq-r1');
    expect(targets).toContain('device.delete wq-d1');
  });

  it('nothing of the registry is kept in the nodes\' SQLite files', () => {
    for (const gw of [a, b]) {
      const db = new Database(join(gw.dataDir, 'gateway.db'), { readonly: true });
      for (const t of ['devices', 'api_keys', 'integrations', 'audit']) expect(db.prepare(`SELECT count(*) AS n FROM ${t}`).get()).toEqual({ n: 0 });
      db.close();
    }
  });
});
