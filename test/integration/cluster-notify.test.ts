/**
 * Escalation policies in cluster mode (issue 15 items 1/5/6, issue 16 item 2): the escalation
 * rows and the channel outbox in PostgreSQL, written in the transaction of the alert change on
 * whichever node made it; step timers and delivery on the leader only. Three gateways on one
 * real PostgreSQL and one real Redis — node 1 a child process (`src/main.ts`) that leads and is
 * SIGKILLed between steps, nodes 2 and 3 in this process — and real HTTP stand-ins for the
 * DingTalk / WeCom / Feishu robots (test/helpers/robots.ts: they check signatures and answer
 * like the platforms).
 *
 * Policy: step 0 at once to DingTalk (crew), step 1 after STEP1 unless acknowledged to WeCom
 * (manager), step 2 after STEP2 unless acknowledged to Feishu (ops). The alert is raised via
 * node 2; step 0 goes out once (from the leader, node 1); node 1 is killed before step 1 is
 * due; the new leader sends step 1 once, after STEP1; an acknowledgement on node 3 stops step
 * 2; the resolution (via node 2) is reported once to DingTalk and WeCom, not to Feishu.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { ADMIN_TOKEN, apiClient, spawnGateway, startGateway, tempDir, type ChildGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { startRedis, type Redis } from '../helpers/redis.js';
import { startRobots, type RobotRequest, type Robots } from '../helpers/robots.js';
import pg from 'pg';
import { PostgresNotifyStore, migrateNotify, type Snapshot } from '../../src/notify/postgres-repository.js';
import { planAdvance, planEvent, type PlanContext } from '../../src/notify/plan.js';
import { policiesOf } from '../../src/notify/policy.js';
import type { AlertView } from '../../src/notify/message.js';

const secrets = { dingtalk: 'SECdingtalk-cluster', feishu: 'feishu-cluster', wecomKey: 'wecom-cluster-key' };
const STEP1 = 4000;
const STEP2 = 8000;
/** the leader's tick (1 s) plus delivery on a loaded machine */
const LATE = 1800;
const SITE = 'jiangnan/yuhua-garden/b3';

let pgServer: Postgres;
let redis: Redis;
let robots: Robots;
let node1: { child: ChildGateway; dir: string } | undefined;
const gws: TestGateway[] = [];
const clients: MqttClient[] = [];

function config(url: string, nodeId: string) {
  return {
    cluster: { nodeId, postgres: { url, heartbeatMs: 300, leaseMs: 1200 }, redis: { url: redis.url } },
    notify: {
      language: 'en',
      retry: { initialMs: 200, maxMs: 400, timeoutMs: 2000 },
      channels: [
        { id: 'crew', type: 'dingtalk', url: `${robots.base}/robot/send?access_token=tok`, secret: secrets.dingtalk },
        { id: 'manager', type: 'wecom', url: `${robots.base}/cgi-bin/webhook/send?key=${secrets.wecomKey}` },
        { id: 'ops', type: 'feishu', url: `${robots.base}/open-apis/bot/v2/hook/ops`, secret: secrets.feishu },
      ],
      policies: [{ id: 'estate', match: { site: 'jiangnan' }, steps: [
        { after: '0s', notify: ['crew'] },
        { after: `${STEP1}ms`, unless: 'acknowledged', notify: ['manager'] },
        { after: `${STEP2}ms`, unless: 'acknowledged', notify: ['ops'] },
      ] }],
    },
  };
}

/** the accepted robot messages about one device, by platform, with what they say */
const about = (platform: RobotRequest['platform'], deviceId: string) => robots.accepted(platform)
  .filter((r) => JSON.stringify(r.body).includes(`(${deviceId})`))
  .map((r) => ({ at: r.at, text: JSON.stringify(r.body) }));
const resolvedIn = (msgs: Array<{ text: string }>) => msgs.filter((m) => m.text.includes('Resolved')).length;

beforeAll(async () => {
  [pgServer, redis, robots] = await Promise.all([startPostgres(), startRedis(), startRobots(secrets)]);
  const url = await pgServer.createDatabase('cluster_notify');
  // node 1 first, so it holds the lease (the leader ticks and delivers) when the alert opens
  const dir = tempDir();
  const child = await spawnGateway({ GATEWAY_DATA_DIR: dir, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN }, { config: { ...config(url, 'node-1'), mqtt: { rateLimit: { devicePerSecond: 0 } } } });
  node1 = { child, dir };
  await eventually(async () => (await apiClient(child.http)('/api/v1/cluster')).body?.leader === 'node-1', 10_000, 100);
  for (const id of ['node-2', 'node-3']) gws.push(await startGateway({ config: config(url, id) }));
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)));
  for (const g of gws) await g.stop();
  if (node1) {
    node1.child.proc.kill('SIGKILL');
    await node1.child.exited;
    rmSync(node1.dir, { recursive: true, force: true });
  }
  await robots?.close();
  await redis?.stop();
  await pgServer?.stop();
});

describe('escalation across three gateways', () => {
  it('raised via node 2, step 0 once; leader killed; the new leader sends step 1 once on time; acknowledged on node 3 stops step 2; resolution once to the channels that heard', async () => {
    const [g2, g3] = gws as [TestGateway, TestGateway];
    const r = await g2.api('/api/v1/devices', { method: 'POST', json: { id: 'wq-esc', model: 'generic.water-quality', site: SITE, name: 'Tank B3' } });
    expect(r.status).toBe(201);
    await eventually(() => g2.gateway.registry.get('wq-esc') && g3.gateway.registry.get('wq-esc'), 2000, 20);
    const dev = await connect(g2.mqttPort, { username: 'wq-esc', password: r.body.credentials.password, clientId: 'wq-esc' });
    clients.push(dev);
    await publish(dev, 'devices/wq-esc/up', JSON.stringify({ ph: 9.6 }));
    const alert = await eventually(async () => (await g2.api('/api/v1/alerts?device=wq-esc')).body.items[0], 5000, 50);
    const openedAt = Date.parse(alert.openedAt);

    // step 0, delivered by the leader (node 1), once
    await eventually(() => about('dingtalk', 'wq-esc').length >= 1, 5000, 50);
    expect(about('dingtalk', 'wq-esc')[0]!.at - openedAt).toBeLessThan(LATE);
    expect(about('wecom', 'wq-esc')).toEqual([]);

    // the leader dies between step 0 and step 1, once step 0's delivery is recorded (killed
    // between the robot's answer and that record, the new leader would send it again: at
    // least once, with the same delivery id)
    await eventually(async () => (await g3.api(`/api/v1/alerts/${alert.id}`)).body.notifications[0]?.status === 'sent', 3000, 20);
    node1!.child.proc.kill('SIGKILL');
    await node1!.child.exited;
    const killedAt = Date.now();
    // and the manager's robot refuses the next two messages (rate limit): retried by the new leader
    robots.failNext(2);
    expect(killedAt).toBeLessThan(openedAt + STEP1 - 1000); // the test still means something on a slow machine
    await eventually(() => g2.gateway.leadership.isLeader() || g3.gateway.leadership.isLeader(), 10_000, 50);

    // step 1 from the new leader: once, not before STEP1
    await eventually(() => about('wecom', 'wq-esc').length >= 1, STEP1 + 10_000, 50);
    const step1 = about('wecom', 'wq-esc');
    expect(step1[0]!.at).toBeGreaterThanOrEqual(openedAt + STEP1);
    // two refusals (200 + 400 ms back-off), and a lease take-over may have fallen in the step's window
    expect(step1[0]!.at - (openedAt + STEP1)).toBeLessThan(LATE + 600 + 1500);
    expect(robots.requests.filter((q) => q.platform === 'wecom').map((q) => q.ok)).toEqual([false, false, true]);
    expect(step1[0]!.text).toContain('Escalation step 1');

    // acknowledged on node 3 (not the node that raised it): step 2 is skipped
    const ack = await g3.api(`/api/v1/alerts/${alert.id}/ack`, { method: 'POST', json: { note: 'crew on the way' } });
    expect(ack.status).toBe(200);
    expect(ack.body.escalation).toEqual({ policy: 'estate', step: 1, nextAt: new Date(openedAt + STEP2).toISOString() });
    expect(ack.body.notifications.map((n: any) => n.channel)).toEqual(['crew', 'manager']);
    const wait = openedAt + STEP2 + LATE - Date.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    // the leader's tick has passed step 2 (skipped, acknowledged): on a loaded machine that
    // tick can come after LATE, and before it the check below would hold vacuously
    const on2 = await eventually(async () => { const b = (await g2.api(`/api/v1/alerts/${alert.id}`)).body; return b.escalation?.step === 2 && b; }, 10_000, 100);
    expect(about('feishu', 'wq-esc')).toEqual([]);
    expect(about('dingtalk', 'wq-esc')).toHaveLength(1);
    expect(about('wecom', 'wq-esc')).toHaveLength(1);

    // the shared escalation: the same on both surviving nodes
    const on3 = (await g3.api(`/api/v1/alerts/${alert.id}`)).body;
    expect(on2.escalation).toEqual({ policy: 'estate', step: 2, nextAt: null });
    expect(on2.notifications.map((n: any) => [n.channel, n.step, n.event, n.status, n.attempts])).toEqual([
      ['crew', 0, 'alert.opened', 'sent', 1], ['manager', 1, 'alert.escalated', 'sent', 3],
    ]);
    expect(on3.escalation).toEqual(on2.escalation);
    expect(on3.notifications).toEqual(on2.notifications);

    // resolved by itself (a good reading via node 2): reported to crew and manager, once each
    await publish(dev, 'devices/wq-esc/up', JSON.stringify({ ph: 7.1 }));
    await eventually(() => resolvedIn(about('dingtalk', 'wq-esc')) >= 1 && resolvedIn(about('wecom', 'wq-esc')) >= 1, 8000, 50);
    await new Promise((res) => setTimeout(res, 1500)); // a duplicate would arrive within a tick or two
    expect(about('dingtalk', 'wq-esc').map((m) => resolvedIn([m]))).toEqual([0, 1]);
    expect(about('wecom', 'wq-esc').map((m) => resolvedIn([m]))).toEqual([0, 1]);
    expect(about('feishu', 'wq-esc')).toEqual([]);
    const done2 = await eventually(async () => { const a = (await g2.api(`/api/v1/alerts/${alert.id}`)).body; return a.notifications.length === 4 && a.notifications.every((n: any) => n.status === 'sent') && a; }, 5000, 100);
    expect(done2.notifications.map((n: any) => [n.channel, n.step, n.event])).toEqual([
      ['crew', 0, 'alert.opened'], ['manager', 1, 'alert.escalated'], ['crew', null, 'alert.resolved'], ['manager', null, 'alert.resolved'],
    ]);
    const done3 = (await g3.api(`/api/v1/alerts/${alert.id}`)).body;
    expect(done3.escalation).toEqual(done2.escalation);
    expect(done3.notifications).toEqual(done2.notifications);
  }, 90_000);
});

describe('alerts of the leader\'s sweep', () => {
  it('an offline alert opened by the (new) leader\'s sweep escalates from the shared rows too: step 0 once, its resolution once', async () => {
    const [g2, g3] = gws as [TestGateway, TestGateway];
    // offline 3 × 2 s after the last message (core/presence.ts)
    const r = await g3.api('/api/v1/devices', { method: 'POST', json: { id: 'park-q', model: 'generic.parking', site: SITE, name: 'Bay 7', attributes: { reportIntervalS: 2 } } });
    expect(r.status).toBe(201);
    await eventually(() => g2.gateway.registry.get('park-q'), 2000, 20);
    const dev = await connect(g3.mqttPort, { username: 'park-q', password: r.body.credentials.password, clientId: 'park-q' });
    clients.push(dev);
    await publish(dev, 'devices/park-q/up', JSON.stringify({ occupied: false }));
    const offline = await eventually(async () => (await g2.api('/api/v1/alerts?device=park-q&rule=device_offline')).body.items[0], 15_000, 100);
    await eventually(() => about('dingtalk', 'park-q').length >= 1, 5000, 50);
    // back before step 1 (STEP1 after openedAt) is due: only the crew heard, and hears it resolved
    await publish(dev, 'devices/park-q/up', JSON.stringify({ occupied: true }));
    await eventually(() => resolvedIn(about('dingtalk', 'park-q')) >= 1, 8000, 50);
    await new Promise((res) => setTimeout(res, 1500));
    expect(about('dingtalk', 'park-q').map((m) => resolvedIn([m]))).toEqual([0, 1]);
    expect(about('wecom', 'park-q')).toEqual([]);
    const on2 = await eventually(async () => { const a = (await g2.api(`/api/v1/alerts/${offline.id}`)).body; return a.notifications.every((n: any) => n.status === 'sent') && a; }, 5000, 100);
    expect(on2.notifications.map((n: any) => [n.channel, n.step, n.event])).toEqual([['crew', 0, 'alert.opened'], ['crew', null, 'alert.resolved']]);
    expect((await g3.api(`/api/v1/alerts/${offline.id}`)).body.notifications).toEqual(on2.notifications);
  }, 40_000);
});

describe('PostgreSQL unreachable', () => {
  it('GET /api/v1/alerts/{id} on a cluster node answers 503 naming the cause, not an alert without its escalation', async () => {
    const [g2] = gws as [TestGateway];
    // the alert of the test above (this file's tests run in order)
    const id = (await g2.api('/api/v1/alerts?device=wq-esc&status=resolved')).body.items[0]?.id;
    expect(id).toEqual(expect.any(String));
    await pgServer.kill();
    try {
      const r = await g2.api(`/api/v1/alerts/${id}`);
      expect(r.status).toBe(503);
      expect(r.body.error).toBe('escalation state (PostgreSQL) unavailable; retry later');
      expect(r.text).not.toContain('127.0.0.1');
    } finally {
      await pgServer.start();
    }
  }, 60_000);
});

describe('the shared escalation rows, two leaders at once', () => {
  it('two nodes ticking the same due steps at the same moment (a lease overlap) enqueue each step once', async () => {
    const url = await pgServer.createDatabase('notify_store');
    const pools = [new pg.Pool({ connectionString: url, max: 3 }), new pg.Pool({ connectionString: url, max: 3 })];
    try {
      await Promise.all(pools.map((p) => migrateNotify(p))); // both nodes migrate at start: once (advisory lock)
      const stores = pools.map((p) => new PostgresNotifyStore(p));
      const [policy] = policiesOf([{ match: {}, steps: [{ after: 0, notify: ['a'] }, { after: 1000, notify: ['b', 'c'] }, { after: 2000, notify: ['d'] }] }]);
      const t0 = Date.parse('2026-12-01T00:00:00Z');
      const ctx = (now: number): PlanContext => ({ policy: () => policy, policyFor: () => policy, deviceName: null, now });
      const snapshot = (i: number): Snapshot => ({
        alert: { id: `A${i}`, rule: 'r', severity: 'major', kind: null, site: 's', deviceId: `d${i}`, status: 'open', openedAt: t0, silenced: false },
        view: { id: `A${i}` } as AlertView,
      });
      // 30 alerts opened (step 0 at once), each in its own alert transaction
      for (let i = 0; i < 30; i++) {
        const c = await pools[0]!.connect();
        await c.query('BEGIN');
        await stores[0]!.record(c, [{ event: 'alert.opened', snapshot: snapshot(i) }], (event, s, row) => planEvent(event, s.alert, s.view, row, ctx(t0)), t0);
        await c.query('COMMIT');
        c.release();
      }
      // both "leaders" tick at every moment, concurrently, through both later steps
      for (const now of [t0 + 1000, t0 + 1000, t0 + 1500, t0 + 2000, t0 + 2000, t0 + 2500]) {
        await Promise.all(stores.flatMap((st) => [st.tick(now, (row) => planAdvance(row, row.snapshot.alert, row.snapshot.view, ctx(now))), st.tick(now, (row) => planAdvance(row, row.snapshot.alert, row.snapshot.view, ctx(now)))]));
      }
      const rows = (await pools[0]!.query<{ alert_id: string; step: number; channel: string; n: string }>(
        'SELECT alert_id, step, channel, count(*) AS n FROM notify_outbox GROUP BY alert_id, step, channel ORDER BY alert_id, step, channel')).rows;
      expect(rows.filter((r) => r.n !== '1')).toEqual([]);
      expect(rows.length).toBe(30 * 4);
      const { escalations } = await stores[1]!.ofAlerts(['A0', 'A29']);
      expect(escalations.map((e) => [e.alert_id, e.step, e.next_at])).toEqual(expect.arrayContaining([['A0', 3, null], ['A29', 3, null]]));
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  }, 30_000);
});
