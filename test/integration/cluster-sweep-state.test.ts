/**
 * ClusterAlerts.sweep on one real PostgreSQL 15, three evaluators ("nodes") with their own
 * pools, every statement counted: what a sweep pass costs at N devices, that the locked
 * evaluation trusts the shared state over a node's lagging copy of last-seen, that two
 * sweepers at once (a lease overlap) open one alert, and that the sweep's states and the
 * readings' states are the ones one node would have written; and a node restarting with
 * an older wave's per-node sweep alert in its SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { loadRules } from '../../src/alerts/rules.js';
import { PostgresAlertStore, migrateAlerts } from '../../src/alerts/postgres-repositories.js';
import { ClusterAlerts, type SweepDevices } from '../../src/alerts/cluster-alerts.js';
import { evaluate, initialState, type AlertInput } from '../../src/alerts/evaluate.js';
import type { Device } from '../../src/registry/devices.js';
import type { Alert } from '../../src/alerts/lifecycle.js';
import { sqliteAlertRepositories } from '../../src/alerts/sqlite-repositories.js';
import { openDatabase } from '../../src/storage/database.js';
import { startGateway, tempDir } from '../helpers/gateway.js';
import { eventually } from '../helpers/mqtt.js';
import { rmSync } from 'node:fs';

let server: Postgres;
const pools: pg.Pool[] = [];
const rules = loadRules('config/rules.yaml', true);
const SITE = 'jiangnan/yuhua-garden/b3';

interface Node { alerts: ClusterAlerts; store: PostgresAlertStore; statements: () => number; open: Set<string>; published: string[] }
let nodes: Node[];

const device = (id: string, model: string, kind: string, attributes: Record<string, unknown>, lastSeen: number | null): Device =>
  ({ id, model, kind: kind as Device['kind'], name: null, site: SITE, attributes, lorawan: null, createdAt: 0, updatedAt: 0, lastSeen });
const registry = (list: Device[]): SweepDevices => { const byId = new Map(list.map((d) => [d.id, d])); return { all: () => byId.values(), get: (id) => byId.get(id) }; };
const reading = (d: Device, metric: string, value: number | boolean, ts: number) => [{ device: d, inputs: [
  { type: 'event', event: { deviceId: d.id, type: '$message', ts, data: {} } },
  { type: 'reading', reading: { deviceId: d.id, metric, value, unit: null, ts, receivedAt: ts, quality: 'ok' } },
] as AlertInput[] }];
const isOpen = (n: Node) => (rule: string, deviceId: string) => n.open.has(`${rule}/${deviceId}`);
const stateOf = async (rule: string, deviceId: string) => (await pools[0]!.query('SELECT state, waiting, seen_at FROM alert_state WHERE rule = $1 AND device_id = $2', [rule, deviceId])).rows[0];

beforeAll(async () => {
  server = await startPostgres();
  const url = await server.createDatabase('sweep_state');
  nodes = [];
  for (let i = 1; i <= 3; i++) {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on('error', () => undefined);
    let statements = 0;
    // every statement this node sends, pool.query or a checked-out client's
    pool.on('connect', (client) => {
      const q = client.query.bind(client) as (...a: unknown[]) => unknown;
      (client as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => { statements++; return q(...a); };
    });
    pools.push(pool);
    await migrateAlerts(pool);
    const store = new PostgresAlertStore(pool, `node-${i}`);
    const open = new Set<string>();
    const published: string[] = [];
    const alerts = new ClusterAlerts({
      store, nodeId: `node-${i}`, rules, webhooks: [{ url: 'http://127.0.0.1:9/hook', secret: 's', match: {} }],
      deviceContext: (d) => ({ id: d.id, kind: d.kind, site: d.site, attributes: d.attributes, lastSeen: d.lastSeen, createdAt: d.createdAt, reportIntervalS: 3600 }),
      publish: (topic) => published.push(topic), clock: Date.now,
    });
    // this node's view of the unresolved alerts (AlertService keeps it from the same events and the feed)
    alerts.onEvent((_e, a: Alert) => { if (a.status === 'resolved') open.delete(`${a.rule}/${a.deviceId}`); else open.add(`${a.rule}/${a.deviceId}`); });
    nodes.push({ alerts, store, statements: () => statements, open, published });
  }
}, 60_000);

afterAll(async () => {
  for (const p of pools) await p.end();
  await server?.stop();
});

describe('the sweep on the shared state', () => {
  it('a pass over 5 000 devices with fresh last-seen costs one statement; doors open but not yet due cost no lock', async () => {
    const [n1, n2] = nodes as [Node, Node];
    const now = Date.now();
    const doors = Array.from({ length: 50 }, (_, i) => device(`door-${i}`, 'generic.door-access', 'door_access', { thresholds: { door_open_for_s: 120 } }, now));
    const meters = Array.from({ length: 4950 }, (_, i) => device(`wm-${i}`, 'generic.water-meter', 'water_meter', {}, now));
    const devices = registry([...doors, ...meters]);
    // the doors opened through node 2: their states wait on the clock, in the shared table
    await n2.alerts.evaluate(doors.flatMap((d) => reading(d, 'door_open', true, now - 1000)));
    expect((await pools[0]!.query('SELECT count(*)::int AS n FROM alert_state WHERE waiting')).rows[0].n).toBe(50);

    const before = n1.statements();
    const t0 = performance.now();
    const pass = await n1.alerts.sweep(now, devices, isOpen(n1));
    const ms = performance.now() - t0;
    expect(n1.statements() - before).toBe(1);
    expect(pass).toMatchObject({ events: [], locked: 0, waiting: 50 });
    // a second pass, warm
    const t1 = performance.now();
    await n1.alerts.sweep(now + 1000, devices, isOpen(n1));
    const warm = performance.now() - t1;
    console.log(`sweep pass, 5 000 devices (50 doors waiting): ${n1.statements() - before} statements in two passes; ${ms.toFixed(1)} ms cold, ${warm.toFixed(1)} ms warm`);

    // 10 meters go overdue (1 h interval × 3): one transaction for all ten, then no SQL for them
    const late = meters.slice(0, 10);
    for (const d of late) d.lastSeen = now - 4 * 3600_000;
    const b2 = n1.statements();
    const opening = await n1.alerts.sweep(now + 2000, devices, isOpen(n1));
    const cost = n1.statements() - b2;
    expect(opening.locked).toBe(10);
    expect(opening.events.map(([e, a]) => `${e} ${a.deviceId}`).sort()).toEqual(late.map((d) => `alert.opened ${d.id}`).sort());
    const b3 = n1.statements();
    const after = await n1.alerts.sweep(now + 3000, devices, isOpen(n1));
    expect(after.locked).toBe(0);
    expect(n1.statements() - b3).toBe(1);
    console.log(`10 devices overdue: ${cost} statements in that pass (1 query, BEGIN, locks, 3 reads, states, 3 per alert: upsert, outbox, notify, COMMIT); the next pass 1`);
    // a new leader (node 3) with an empty view of the alerts: the locked read finds them active, opens nothing
    const n3 = nodes[2]!;
    const taken = await n3.alerts.sweep(now + 4000, devices, () => false);
    expect(taken).toMatchObject({ events: [], locked: 10 });
    // with its view filled (AlertService: from the shared unresolved alerts at start, then the feed): no SQL for them
    for (const d of late) n3.open.add(`device_offline/${d.id}`);
    const b4 = n3.statements();
    const again = await n3.alerts.sweep(now + 5000, devices, isOpen(n3));
    expect(again.locked).toBe(0);
    expect(n3.statements() - b4).toBe(1);
    expect((await pools[0]!.query("SELECT count(*)::int AS n FROM alerts WHERE rule = 'device_offline'")).rows[0].n).toBe(10);
  }, 60_000);

  it('a message evaluated on another node a moment ago keeps a device online though this node\'s last-seen lags', async () => {
    const [n1, n2] = nodes as [Node, Node];
    const now = Date.now();
    // node 1's copy of last-seen: 10 s old (1 s interval, offline after 3 s); node 2 just got a message
    const stale = device('lag-1', 'generic.parking', 'parking', { reportIntervalS: 1 }, now - 10_000);
    const fresh = { ...stale, lastSeen: now - 200 };
    await n2.alerts.evaluate(reading(fresh, 'occupied', true, now - 200));
    expect(Number((await stateOf('device_offline', 'lag-1')).seen_at)).toBe(now - 200);
    const pass = await n1.alerts.sweep(now, registry([stale]), isOpen(n1));
    expect(pass.locked).toBe(1); // overdue by its copy: checked under the lock…
    expect(pass.events).toEqual([]); // …where the shared row says it was just seen
    // silent after that message: offline 3 s later, by the same row
    const later = await n1.alerts.sweep(now + 3000, registry([stale]), isOpen(n1));
    expect(later.events.map(([e, a]) => [e, a.rule, a.value])).toEqual([['alert.opened', 'device_offline', new Date(now - 200).toISOString()]]);
  });

  it('two nodes sweeping at the same moment (a lease overlap) open one alert; a reading through a third resolves it; the states are one node\'s', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const now = Date.now();
    const seen = now - 5000;
    const d = device('quiet-2', 'generic.parking', 'parking', { reportIntervalS: 1 }, seen);
    const [p1, p2] = await Promise.all([n1.alerts.sweep(now, registry([d]), isOpen(n1)), n2.alerts.sweep(now, registry([{ ...d }]), isOpen(n2))]);
    expect([...p1.events, ...p2.events].map(([e]) => e)).toEqual(['alert.opened']);
    const rows = await n3.store.forRuleDevice('device_offline', d.id);
    expect(rows.map((a) => a.status)).toEqual(['open']);
    const outbox = (await pools[0]!.query('SELECT event FROM alert_outbox WHERE alert_id = $1', [rows[0]!.id])).rows;
    expect(outbox).toEqual([{ event: 'alert.opened' }]);
    // and the retained status is the caller's (AlertService): ClusterAlerts published alerts/… once
    expect([...n1.published, ...n2.published].filter((t) => t === `alerts/${SITE}/${d.id}`)).toHaveLength(1);

    const at = now + 500;
    const events = await n3.alerts.evaluate(reading({ ...d, lastSeen: at }, 'occupied', false, at));
    expect(events.filter(([, a]) => a.rule === 'device_offline').map(([e]) => e)).toEqual(['alert.resolved']);
    // one node: a tick past the deadline, then the message
    const rule = rules.rules.find((r) => r.id === 'device_offline')!;
    const ctx = { device: { id: d.id, kind: d.kind, site: SITE, attributes: d.attributes, lastSeen: seen, createdAt: 0, reportIntervalS: 3600 }, sites: rules.sites };
    const one = evaluate(rule, { type: 'tick', now }, initialState(rule), ctx);
    const two = evaluate(rule, { type: 'reading', reading: { deviceId: d.id, metric: 'occupied', value: false, unit: null, ts: at, receivedAt: at, quality: 'ok' } }, one.state, ctx);
    expect((await stateOf('device_offline', d.id)).state).toBe(JSON.stringify(two.state));
    expect((await n3.store.forRuleDevice('device_offline', d.id)).map((a) => [a.status, a.resolution])).toEqual([['resolved', 'auto']]);
  });

  it('a door opened through node 2 waits in the shared table; node 1\'s sweep opens it when due; closed through node 3, it stops waiting', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const now = Date.now();
    const d = device('door-x', 'generic.door-access', 'door_access', { thresholds: { door_open_for_s: 2 } }, now);
    await n2.alerts.evaluate(reading(d, 'door_open', true, now));
    expect(await stateOf('door_held_open', d.id)).toMatchObject({ waiting: true });
    const early = await n1.alerts.sweep(now + 1000, registry([d]), isOpen(n1));
    expect(early.locked).toBe(0);
    const due = await n1.alerts.sweep(now + 2500, registry([d]), isOpen(n1));
    expect(due.events.map(([e, a]) => [e, a.rule])).toEqual([['alert.opened', 'door_held_open']]);
    // still open, alert open: waiting, but a tick changes nothing, so no lock
    expect((await n1.alerts.sweep(now + 3500, registry([d]), isOpen(n1))).locked).toBe(0);
    const closed = await n3.alerts.evaluate(reading(d, 'door_open', false, now + 4000));
    expect(closed.map(([e, a]) => [e, a.rule])).toEqual([['alert.resolved', 'door_held_open']]);
    expect(await stateOf('door_held_open', d.id)).toMatchObject({ waiting: false });
    expect((await n1.alerts.sweep(now + 5000, registry([d]), isOpen(n1))).waiting).toBe(50); // the first test's doors only
  });

  it('a burst of denied cards through node 2 opens an alert; node 1\'s sweep resolves it as the window moves on, then the state stops waiting', async () => {
    const [n1, n2] = nodes as [Node, Node];
    const now = Date.now();
    const d = device('door-r', 'generic.door-access', 'door_access', {}, now);
    const denied = Array.from({ length: 5 }, (_, i): AlertInput => ({ type: 'event', event: { deviceId: d.id, type: 'access_denied', ts: now - 5000 + i * 1000, data: { credential: 'h:card-9' } } }));
    const opened = await n2.alerts.evaluate([{ device: d, inputs: denied }]);
    expect(opened.map(([e, a]) => [e, a.rule, a.value])).toEqual([['alert.opened', 'access_denied_burst', 5]]);
    expect(await stateOf('access_denied_burst', d.id)).toMatchObject({ waiting: true });
    const sweep = (t: number) => n1.alerts.sweep(t, registry([d]), isOpen(n1));
    expect((await sweep(now + 1000)).locked).toBe(0); // all five still in the window
    // the first one leaves the 60 s window at now + 55 s: four left, below the count
    const moved = await sweep(now + 56_000);
    expect(moved.events.map(([e, a]) => [e, a.rule])).toEqual([['alert.resolved', 'access_denied_burst']]);
    expect(await stateOf('access_denied_burst', d.id)).toMatchObject({ waiting: true });
    const empty = await sweep(now + 62_000);
    expect(empty).toMatchObject({ events: [], locked: 1 });
    expect(await stateOf('access_denied_burst', d.id)).toMatchObject({ waiting: false });
    expect((await n1.store.forRuleDevice('access_denied_burst', d.id)).map((a) => a.status)).toEqual(['resolved']);
  });
});

describe('a cluster node restarting', () => {
  it('closes its SQLite copy\'s unresolved alerts the shared table does not hold, so the shared sweep\'s alert is copied and listed', async () => {
    const url = await server.createDatabase('restart');
    const dataDir = tempDir();
    const config = { cluster: { nodeId: 'r1', postgres: { url, heartbeatMs: 300, leaseMs: 1200 } } };
    try {
      let gw = await startGateway({ dataDir, config });
      const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'legacy-1', model: 'generic.parking', site: SITE } });
      expect(r.status).toBe(201);
      await gw.stop();
      // an older wave's per-node sweep: an offline alert in this node's SQLite only
      const db = openDatabase({ dataDir });
      const now = Date.now();
      sqliteAlertRepositories(db).alerts.save({ id: '01LEGACYSWEEPALERT0000000', rule: 'device_offline', severity: 'warning', status: 'open', deviceId: 'legacy-1', kind: 'parking', site: SITE,
        metric: null, value: null, threshold: 3, message: 'legacy', openedAt: now - 60_000, lastSeenAt: now - 60_000, occurrences: 1, acknowledgedAt: null, acknowledgedBy: null,
        assignee: null, resolvedAt: null, resolvedBy: null, resolution: null, notes: [], silenced: false });
      db.close();
      // …and the device silent for longer than 3 × 1 s by the shared registry
      const shared = new pg.Pool({ connectionString: url, max: 1 });
      await shared.query(`UPDATE devices SET attributes = '{"reportIntervalS":1}', created_at = $1 WHERE id = 'legacy-1'`, [now - 60_000]);

      gw = await startGateway({ dataDir, config });
      const list = async () => (await gw.api('/api/v1/alerts?device=legacy-1&status=open,acknowledged,resolved')).body.items as Array<{ id: string; status: string }>;
      const opened = await eventually(async () => { const items = await list(); return items.find((a) => a.status === 'open' && a.id !== '01LEGACYSWEEPALERT0000000'); }, 10_000, 100);
      expect((await shared.query("SELECT id, status FROM alerts WHERE device_id = 'legacy-1'")).rows).toEqual([{ id: opened.id, status: 'open' }]);
      await shared.end();
      const items = await list();
      expect(items.map((a) => [a.id === opened.id ? 'shared' : a.id, a.status]).sort()).toEqual([['01LEGACYSWEEPALERT0000000', 'resolved'], ['shared', 'open']]);
      await gw.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
