/**
 * Alerts across nodes (issue 15 item 5, CONTRACT v2 "Cluster": one unresolved alert per
 * (rule, device) whichever node a reading arrived on; lifecycle events delivered once per
 * channel). Three cluster alert evaluators — one per node, each with its own pool and its own
 * LISTEN connection — on one real PostgreSQL 15, a real webhook receiver. pH readings of one
 * device alternate between node 1 and node 2, some committed at the same moment on both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { WebhookReceiver } from '../helpers/webhook.js';
import { ADMIN_TOKEN, freePort, startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';
import { openSse } from '../helpers/webhook.js';
import { startRedis, type Redis } from '../helpers/redis.js';
import { loadRules } from '../../src/alerts/rules.js';
import { PostgresAlertStore, migrateAlerts, pruneSharedAlerts } from '../../src/alerts/postgres-repositories.js';
import { migrateNotify } from '../../src/notify/postgres-repository.js';
import { ClusterAlerts } from '../../src/alerts/cluster-alerts.js';
import type { Device } from '../../src/registry/devices.js';
import type { Alert } from '../../src/alerts/lifecycle.js';
import type { AlertInput } from '../../src/alerts/evaluate.js';

let server: Postgres;
let url: string;
const pools: pg.Pool[] = [];
const stops: Array<() => Promise<void>> = [];
let hook: WebhookReceiver;
const rules = loadRules('config/rules.yaml', true);
const SITE = 'jiangnan/yuhua-garden/b3';

interface Node { alerts: ClusterAlerts; store: PostgresAlertStore; published: string[]; seen: Array<[string, Alert]> }
let nodes: Node[];

const device = (id: string): Device => ({ id, model: 'generic.water-quality', kind: 'water_quality' as Device['kind'], name: null, site: SITE, attributes: {}, lorawan: null, createdAt: 0, updatedAt: 0, lastSeen: null });
const ph = (d: Device, value: number, ts: number): Array<{ device: Device; inputs: AlertInput[] }> =>
  [{ device: d, inputs: [{ type: 'reading', reading: { deviceId: d.id, metric: 'ph', value, unit: null, ts, receivedAt: ts, quality: 'ok' } }] }];

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase('alerts');
  hook = new WebhookReceiver(await freePort(), 'hook-secret');
  await hook.up();
  nodes = [];
  for (let i = 1; i <= 3; i++) {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on('error', () => undefined);
    pools.push(pool);
    await migrateAlerts(pool); // every node migrates at start: applied once (advisory lock)
    const store = new PostgresAlertStore(pool, `node-${i}`);
    const published: string[] = [];
    const seen: Array<[string, Alert]> = [];
    const alerts = new ClusterAlerts({
      store, nodeId: `node-${i}`, rules, webhooks: [{ url: hook.url, secret: 'hook-secret', match: { site: 'jiangnan' } }],
      deviceContext: (d) => ({ id: d.id, kind: d.kind, site: d.site, attributes: d.attributes, lastSeen: d.lastSeen, createdAt: d.createdAt, reportIntervalS: 600 }),
      publish: (topic) => published.push(topic), clock: Date.now,
    });
    alerts.onEvent((e, a) => seen.push([e, a]));
    stops.push(await alerts.feed(url));
    nodes.push({ alerts, store, published, seen });
  }
}, 60_000);

afterAll(async () => {
  for (const s of stops) await s();
  for (const p of pools) await p.end();
  await hook?.down();
  await server?.stop();
});

describe('alerts across nodes', () => {
  it('alternate readings through two nodes: one alert, occurrences counted, resolved once, each webhook event once, seen on node 3', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const d = device('wq-alt');
    let ts = Date.now() - 60_000;
    await n1.alerts.evaluate(ph(d, 7.2, ts += 1000));
    await n2.alerts.evaluate(ph(d, 9.1, ts += 1000)); // opens (via node 2)
    await n1.alerts.evaluate(ph(d, 9.3, ts += 1000)); // repeat, seen through node 2's state
    await n2.alerts.evaluate(ph(d, 9.0, ts += 1000));
    // two commits at the same moment on both nodes: serialized by the (rule, device) lock
    await Promise.all([n1.alerts.evaluate(ph(d, 9.4, ts += 1000)), n2.alerts.evaluate(ph(d, 9.5, ts += 1000))]);
    await n1.alerts.evaluate(ph(d, 7.0, ts += 1000)); // back inside 6.6–8.4: resolves

    const all = await n3.store.forRuleDevice('ph_out_of_range', d.id);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ status: 'resolved', occurrences: 5, resolution: 'auto', site: SITE });
    const state = await pools[0]!.query("SELECT state FROM alert_state WHERE rule = 'ph_out_of_range' AND device_id = $1", [d.id]);
    expect(JSON.parse(state.rows[0].state).active).toBe(false);

    // MQTT alerts/… once per event, from the node that made the change (Redis carries it to every node)
    const topic = `alerts/${SITE}/${d.id}`;
    expect(n1.published.filter((t) => t === topic).length + n2.published.filter((t) => t === topic).length).toBe(6);
    expect(n3.published).toEqual([]);

    // node 3 (neither received a reading) hears of every event through LISTEN/NOTIFY: its SSE feed
    await eventually(() => { expect(n3.seen.filter(([, a]) => a.deviceId === d.id).map(([e]) => e)).toEqual(
      ['alert.opened', 'alert.updated', 'alert.updated', 'alert.updated', 'alert.updated', 'alert.resolved']); return true; }, 5000);
    expect(n3.seen[0]![1].id).toBe(all[0]!.id);

    // two nodes delivering at once (a lease overlap) still send each row once: SKIP LOCKED
    const delivered = await Promise.all([n1.alerts.deliverWebhooks(), n2.alerts.deliverWebhooks()]);
    expect(delivered[0] + delivered[1]).toBe(6);
    expect(await n1.alerts.deliverWebhooks()).toBe(0);
    const mine = hook.received.filter((r) => r.alert.deviceId === d.id);
    expect(mine.map((r) => r.event)).toEqual(['alert.opened', 'alert.updated', 'alert.updated', 'alert.updated', 'alert.updated', 'alert.resolved']);
    expect(mine.every((r) => r.verified)).toBe(true);
    expect(new Set(mine.map((r) => r.delivery)).size).toBe(6);
    expect(mine.map((r) => r.alert.occurrences)).toEqual([1, 2, 3, 4, 5, 5]);
    expect((await pools[0]!.query('SELECT count(*)::int AS n FROM alert_outbox')).rows[0].n).toBe(0);
  }, 30_000);

  it('the first out-of-range readings of a device committed at once on two nodes open one alert', async () => {
    const [n1, n2] = nodes as [Node, Node];
    for (let round = 0; round < 10; round++) {
      const d = device(`wq-race-${round}`);
      const ts = Date.now() - 10_000;
      const results = await Promise.all([n1.alerts.evaluate(ph(d, 9.2, ts)), n2.alerts.evaluate(ph(d, 9.3, ts + 1))]);
      expect(results.flat().map(([e]) => e).sort()).toEqual(['alert.opened', 'alert.updated']);
      const all = await n1.store.forRuleDevice('ph_out_of_range', d.id);
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ status: 'open', occurrences: 2 });
    }
  }, 30_000);

  it('the partial unique index refuses a second unresolved alert for a (rule, device), whatever wrote it', async () => {
    const insert = (id: string, status: string) => pools[0]!.query(`INSERT INTO alerts (id, rule, device_id, status, severity, message, opened_at, last_seen_at, occurrences)
      VALUES ($1, 'ph_out_of_range', 'wq-index', $2, 'major', 'm', 0, 0, 1)`, [id, status]);
    await insert('idx-1', 'open');
    await insert('idx-0', 'resolved');
    await expect(insert('idx-2', 'acknowledged')).rejects.toMatchObject({ code: '23505', constraint: 'alerts_one_unresolved' });
  });

  it('the shared outbox: one deliverer at a time, and per channel a failed head holds the rows behind it', async () => {
    const [n1, n2] = nodes as [Node, Node];
    const add = (channel: string, event: string) => pools[0]!.query(
      'INSERT INTO alert_outbox (channel, event, alert_id, body, next_at, created_at) VALUES ($1, $2, $3, $4, 0, 0)', [channel, event, 'hol', '{}']);
    for (const e of ['e1', 'e2', 'e3']) await add('hol-a', e);
    await add('hol-b', 'f1');
    const retry = () => 60_000;
    // two nodes at once (a lease overlap): one takes every row, the other none — never half each
    const calls: string[][] = [];
    const slow = async (rows: Array<{ id: number; channel: string; event: string }>) => {
      calls.push(rows.filter((r) => r.channel.startsWith('hol-')).map((r) => r.event));
      await new Promise((res) => setTimeout(res, 300));
      const done = new Map<number, boolean>();
      for (const r of rows) if (r.channel === 'hol-b') done.set(r.id, true); else if (r.event === 'e1') done.set(r.id, false); // e2, e3 not tried
      return done;
    };
    const both = await Promise.all([n1.store.deliverDue(100, slow, retry), n2.store.deliverDue(100, slow, retry)]);
    expect(calls).toEqual([['e1', 'e2', 'e3', 'f1']]);
    expect(both.sort()).toEqual([0, 1]);
    const left = async () => (await pools[0]!.query("SELECT event, attempts FROM alert_outbox WHERE channel LIKE 'hol-%' ORDER BY id")).rows;
    expect(await left()).toEqual([{ event: 'e1', attempts: 1 }, { event: 'e2', attempts: 0 }, { event: 'e3', attempts: 0 }]);
    // a newer row of the same channel, due now, waits behind the head's retry: nothing is delivered out of order
    await add('hol-a', 'e4');
    calls.length = 0;
    expect(await n1.store.deliverDue(100, slow, retry)).toBe(0);
    expect(calls.flat()).toEqual([]);
    await pools[0]!.query("UPDATE alert_outbox SET next_at = 0 WHERE channel = 'hol-a'");
    const order: string[] = [];
    const hol = async (rows: Array<{ id: number; channel: string; event: string }>) =>
      new Map(rows.filter((r) => r.channel.startsWith('hol-')).map((r) => { order.push(r.event); return [r.id, true]; }));
    expect(await n2.store.deliverDue(100, hol, retry)).toBe(4);
    expect(order).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(await left()).toEqual([]);
  });

  it('retention of the shared tables: resolved alerts past alertDays go with their delivered notifications and finished escalations; unresolved ones stay', async () => {
    const pool = pools[0]!;
    await migrateNotify(pool);
    const alert = (id: string, device: string, status: string, resolvedAt: number | null) => pool.query(`INSERT INTO alerts (id, rule, device_id, status, severity, message, opened_at, last_seen_at, occurrences, resolved_at)
      VALUES ($1, 'ph_out_of_range', $2, $3, 'major', 'm', 0, 0, 1, $4)`, [id, device, status, resolvedAt]);
    await alert('prune-old', 'wq-prune-1', 'resolved', 1000);
    await alert('prune-new', 'wq-prune-2', 'resolved', Date.now());
    await alert('prune-open', 'wq-prune-3', 'open', null);
    const note = (alertId: string, key: string, deliveredAt: number | null) => pool.query(`INSERT INTO notify_outbox (channel, event, alert_id, key, body, created_at, next_attempt_at, delivered_at)
      VALUES ('crew', 'alert.opened', $1, $2, '{}', 0, 0, $3)`, [alertId, key, deliveredAt]);
    await note('prune-old', 'old-sent', 2000);
    await note('prune-open', 'open-pending', null);
    await pool.query(`INSERT INTO notify_escalation (alert_id, policy, step, started_at, next_at, alert) VALUES ('prune-old', 'estate', 1, 0, NULL, '{}'), ('prune-open', 'estate', 0, 0, 5000, '{}')`);

    expect(await pruneSharedAlerts(pool, 10_000)).toBe(1);
    const ids = async (sql: string) => (await pool.query(sql)).rows.map((r) => Object.values(r)[0]).sort();
    expect(await ids("SELECT id FROM alerts WHERE id LIKE 'prune-%'")).toEqual(['prune-new', 'prune-open']);
    expect(await ids("SELECT key FROM notify_outbox WHERE alert_id LIKE 'prune-%'")).toEqual(['open-pending']);
    expect(await ids("SELECT alert_id FROM notify_escalation WHERE alert_id LIKE 'prune-%'")).toEqual(['prune-open']);
    await pool.query("DELETE FROM alerts WHERE id LIKE 'prune-%'");
  });

  it('silences are shared: a silence made on node 1 silences an alert opened on node 2', async () => {
    const [n1, n2] = nodes as [Node, Node];
    await n1.store.insertSilence({ id: 'sil-1', match: { device: 'wq-silenced' }, until: Date.now() + 3_600_000, reason: 'tank cleaning', createdBy: 'test', createdAt: Date.now() });
    await n1.alerts.loadSilences();
    const d = device('wq-silenced');
    // node 2 reloads its list on the notification
    await eventually(() => n2.alerts.listSilences().some((s) => s.id === 'sil-1'), 5000);
    const [[event, a]] = await n2.alerts.evaluate(ph(d, 9.9, Date.now())) as [[string, Alert]];
    expect(event).toBe('alert.opened');
    expect(a.silenced).toBe(true);
    expect((await pools[0]!.query("SELECT count(*)::int AS n FROM alert_outbox WHERE alert_id = $1", [a.id])).rows[0].n).toBe(0);
    expect(n2.published.filter((t) => t.endsWith('/wq-silenced'))).toEqual([]);
  }, 30_000);
});

describe('three gateways on one PostgreSQL and one Redis', () => {
  let redis: Redis;
  let gws: TestGateway[] = [];
  let hook3: WebhookReceiver;
  let clusterUrl: string;
  let cfg: (id: string) => Record<string, unknown>;

  beforeAll(async () => {
    redis = await startRedis();
    const clu = clusterUrl = await server.createDatabase('alerts_gateways');
    hook3 = new WebhookReceiver(await freePort(), 'gw-secret');
    await hook3.up();
    cfg = (id: string) => ({ cluster: { nodeId: id, postgres: { url: clu, heartbeatMs: 300, leaseMs: 1200 }, redis: { url: redis.url } },
      notify: { webhooks: [{ url: hook3.url, secret: 'gw-secret' }], retry: { initialMs: 200, maxMs: 1000, timeoutMs: 3000 } } });
    gws = [];
    for (const id of ['node-1', 'node-2', 'node-3']) gws.push(await startGateway({ config: cfg(id) }));
  }, 90_000);

  afterAll(async () => {
    for (const g of gws) await g.stop();
    await hook3?.down();
    await redis?.stop();
  });

  it('pH alternately through node 1 and node 2: one alert, resolved once, each webhook event once; SSE on node 1 and MQTT on node 3 see it', async () => {
    const [g1, g2, g3] = gws as [TestGateway, TestGateway, TestGateway];
    const r = await g1.api('/api/v1/devices', { method: 'POST', json: { id: 'wq-gw', model: 'generic.water-quality', site: SITE } });
    expect(r.status).toBe(201);
    await eventually(() => g2.gateway.registry.get('wq-gw') && g3.gateway.registry.get('wq-gw'), 2000, 20);
    const sse = await openSse(`${g1.http}/api/v1/alerts/stream?token=${ADMIN_TOKEN}`);
    const consumer = await connect(g3.mqttPort, { username: 'apikey', password: ADMIN_TOKEN, clientId: 'alerts-consumer' });
    const mqttSeen: any[] = [];
    consumer.on('message', (topic, payload) => { if (topic === `alerts/${SITE}/wq-gw`) mqttSeen.push(JSON.parse(payload.toString())); });
    await consumer.subscribeAsync('alerts/#', { qos: 0 });
    const password = r.body.credentials.password;
    const via = [await connect(g1.mqttPort, { username: 'wq-gw', password, clientId: 'wq-gw-1' }), await connect(g2.mqttPort, { username: 'wq-gw', password, clientId: 'wq-gw-2' })];
    const base = Date.now() - 60_000;
    const values = [7.2, 9.1, 9.3, 9.0, 9.4, 7.0];
    // odd readings through node 2 (9.1 opens there), even through node 1
    for (let i = 0; i < values.length; i++) await publish(via[i % 2]!, 'devices/wq-gw/up', JSON.stringify({ ts: base + i * 1000, ph: values[i] }));
    for (const c of via) c.end();

    const expected = ['alert.opened', 'alert.updated', 'alert.updated', 'alert.updated', 'alert.resolved'];
    const sseEvents = await eventually(() => { const e = sse.events.filter((x) => x.data?.deviceId === 'wq-gw').map((x) => x.event); return e.length >= 5 && e; }, 10_000);
    expect(sseEvents).toEqual(expected);
    await eventually(() => mqttSeen.length >= 5, 10_000);
    expect(mqttSeen.map((a) => a.status)).toEqual(['open', 'open', 'open', 'open', 'resolved']);
    expect(new Set(mqttSeen.map((a) => a.id)).size).toBe(1);
    await eventually(() => hook3.received.filter((x) => x.alert.deviceId === 'wq-gw').length >= 5, 10_000);
    await new Promise((res) => setTimeout(res, 1500)); // a duplicate would arrive within a further sweep or two
    const hooks = hook3.received.filter((x) => x.alert.deviceId === 'wq-gw');
    expect(hooks.map((x) => x.event)).toEqual(expected);
    expect(hooks.map((x) => x.alert.occurrences)).toEqual([1, 2, 3, 4, 4]);
    // every node answers the same one alert
    for (const g of gws) {
      const list = await g.api('/api/v1/alerts?device=wq-gw&status=open,acknowledged,resolved');
      expect(list.body.items.map((a: any) => [a.status, a.occurrences])).toEqual([['resolved', 4]]);
    }
    sse.close();
    consumer.end();
  }, 60_000);

  it('a silence made through REST on node 1 is listed on node 3 and silences an alert raised via node 2', async () => {
    const [g1, g2, g3] = gws as [TestGateway, TestGateway, TestGateway];
    const r = await g1.api('/api/v1/devices', { method: 'POST', json: { id: 'wq-quiet', model: 'generic.water-quality', site: SITE } });
    expect(r.status).toBe(201);
    const sil = await g1.api('/api/v1/silences', { method: 'POST', json: { match: { device: 'wq-quiet' }, until: new Date(Date.now() + 3_600_000).toISOString(), reason: 'tank cleaning' } });
    expect(sil.status).toBe(201);
    await eventually(async () => (await g3.api('/api/v1/silences')).body.items.some((x: any) => x.id === sil.body.id), 2000, 50);
    await eventually(() => g2.gateway.registry.get('wq-quiet'), 2000, 20);
    const dev = await connect(g2.mqttPort, { username: 'wq-quiet', password: r.body.credentials.password, clientId: 'wq-quiet' });
    await publish(dev, 'devices/wq-quiet/up', JSON.stringify({ ph: 9.6 }));
    dev.end();
    const open = await eventually(async () => (await g3.api('/api/v1/alerts?device=wq-quiet')).body.items[0], 5000, 50);
    expect(open).toMatchObject({ rule: 'ph_out_of_range', silenced: true });
    await new Promise((res) => setTimeout(res, 1500));
    expect(hook3.received.filter((x) => x.alert.deviceId === 'wq-quiet')).toEqual([]);
    expect((await g2.api(`/api/v1/silences/${sil.body.id}`, { method: 'DELETE' })).status).toBe(204);
    await eventually(async () => (await g1.api('/api/v1/silences')).body.items.every((x: any) => x.id !== sil.body.id), 2000, 50);
    expect((await g3.api(`/api/v1/silences/${sil.body.id}`, { method: 'DELETE' })).status).toBe(404);
  }, 30_000);

  it('a node started after an alert opened lists it (the shared unresolved alerts are read at start)', async () => {
    const [g1, g2] = gws as [TestGateway, TestGateway];
    const r = await g1.api('/api/v1/devices', { method: 'POST', json: { id: 'wq-late', model: 'generic.water-quality', site: SITE } });
    await eventually(() => g2.gateway.registry.get('wq-late'), 2000, 20);
    const dev = await connect(g2.mqttPort, { username: 'wq-late', password: r.body.credentials.password, clientId: 'wq-late' });
    await publish(dev, 'devices/wq-late/up', JSON.stringify({ ph: 5.9 }));
    dev.end();
    const opened = await eventually(async () => (await g2.api('/api/v1/alerts?device=wq-late')).body.items[0], 5000, 50);
    const g4 = await startGateway({ config: cfg('node-4') });
    gws.push(g4);
    const seen = (await g4.api('/api/v1/alerts?device=wq-late')).body.items;
    expect(seen.map((a: any) => [a.id, a.status, a.value])).toEqual([[opened.id, 'open', 5.9]]);

    // lifecycle actions on the shared alert, on any node, under the same lock
    const sse = await openSse(`${g1.http}/api/v1/alerts/stream?token=${ADMIN_TOKEN}`);
    const ack = await g4.api(`/api/v1/alerts/${opened.id}/ack`, { method: 'POST', json: { note: 'crew on the way' } });
    expect(ack.status).toBe(200);
    await eventually(async () => (await g2.api(`/api/v1/alerts/${opened.id}`)).body.status === 'acknowledged', 3000, 50);
    expect((await g1.api(`/api/v1/alerts/${opened.id}/resolve`, { method: 'POST', json: {} })).status).toBe(200);
    expect((await g2.api(`/api/v1/alerts/${opened.id}/resolve`, { method: 'POST', json: {} })).status).toBe(409);
    expect((await g2.api(`/api/v1/alerts/${opened.id}/ack`, { method: 'POST', json: {} })).status).toBe(409);
    await eventually(() => sse.events.filter((e) => e.data?.id === opened.id).length >= 2, 3000);
    expect(sse.events.filter((e) => e.data?.id === opened.id).map((e) => e.event)).toEqual(['alert.acknowledged', 'alert.resolved']);
    await eventually(() => hook3.received.filter((x) => x.alert.id === opened.id).length >= 3, 5000);
    await new Promise((res) => setTimeout(res, 1000));
    expect(hook3.received.filter((x) => x.alert.id === opened.id).map((x) => x.event)).toEqual(['alert.opened', 'alert.acknowledged', 'alert.resolved']);
    expect((await g4.api(`/api/v1/alerts/${opened.id}`)).body).toMatchObject({ status: 'resolved', resolution: 'manual', acknowledgedBy: expect.any(String) });
    sse.close();
  }, 30_000);
});
