/**
 * Escalation along a policy (CONTRACT v2 "Notification channels and escalation") with real
 * receivers: DingTalk / WeCom / Feishu stand-ins that verify signatures and answer like the
 * platforms, and e-mail through aiosmtpd. Steps are 1.5 s and 3 s apart so the test is quick;
 * the sweep that runs due steps has a 1 s period, so "on time" is [after, after + 1.5 s).
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { apiClient, spawnGateway, startGateway, tempDir, type ChildGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';
import { startRobots, type RobotRequest, type Robots } from '../helpers/robots.js';
import { startSmtp, type Smtp } from '../helpers/smtp.js';

const secrets = { dingtalk: 'SECdingtalk-secret', feishu: 'feishu-secret', wecomKey: 'wecom-key-1' };
const STEP1 = 1500;
const STEP2 = 3000;
const LATE = 1500; // sweep period plus delivery on a loaded machine

let robots: Robots;
let smtp: Smtp;
let gw: TestGateway;
const dirs: string[] = [];
const clients: MqttClient[] = [];

function notifyConfig(steps: { step1: number; step2: number }) {
  return {
    language: 'en', consoleUrl: 'https://estate.example.com/console',
    retry: { initialMs: 200, maxMs: 400, timeoutMs: 3000 },
    smtp: { host: '127.0.0.1', port: smtp.port, from: 'gateway@example.com' },
    channels: [
      { id: 'b3-crew', type: 'dingtalk', url: `${robots.base}/robot/send?access_token=tok`, secret: secrets.dingtalk },
      { id: 'manager', type: 'wecom', url: `${robots.base}/cgi-bin/webhook/send?key=${secrets.wecomKey}` },
      { id: 'ops', type: 'feishu', url: `${robots.base}/open-apis/bot/v2/hook/ops`, secret: secrets.feishu },
      { id: 'office', type: 'email', to: ['ops@example.com'] },
    ],
    policies: [
      // a minor alert anywhere: not escalated by the policy below
      { id: 'yuhua', match: { site: 'jiangnan/yuhua-garden', severity: ['critical', 'major'] }, steps: [
        { after: '0s', notify: ['b3-crew'] },
        { after: `${steps.step1}ms`, unless: 'acknowledged', notify: ['manager'] },
        { after: `${steps.step2}ms`, unless: 'resolved', notify: ['ops', 'office'] },
      ] },
    ],
  };
}

async function binAlert(g: TestGateway, id: string, site = 'jiangnan/yuhua-garden/b3') {
  const r = await g.api('/api/v1/devices', { method: 'POST', json: { id, model: 'generic.bin-fill', site, name: `Bin ${id}` } });
  expect(r.status).toBe(201);
  const c = await connect(g.mqttPort, { username: id, password: r.body.credentials.password });
  clients.push(c);
  await publish(c, `devices/${id}/up`, JSON.stringify({ fill_pct: 86 }));
  return eventually(async () => (await g.api(`/api/v1/alerts?device=${id}&rule=bin_full`)).body.items[0], 5000);
}

const about = (platform: RobotRequest['platform'], deviceId: string) => robots.requests.filter((r) => r.platform === platform && JSON.stringify(r.body).includes(`(${deviceId})`));
const mailsAbout = (deviceId: string) => smtp.messages.filter((m) => m.body.includes(`(${deviceId})`));
const alertNow = async (g: TestGateway, id: string) => (await g.api(`/api/v1/alerts/${id}`)).body;
/** the escalation has run its course and every message is delivered */
const settled = (g: TestGateway, id: string, timeoutMs = 10_000) => eventually(async () => {
  const a = await alertNow(g, id);
  return a.escalation?.nextAt === null && a.notifications.every((n: any) => n.status === 'sent') ? a : undefined;
}, timeoutMs, 100);

beforeAll(async () => {
  robots = await startRobots(secrets);
  smtp = await startSmtp();
  gw = await startGateway({ config: { notify: notifyConfig({ step1: STEP1, step2: STEP2 }) } });
}, 30_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync()));
  await gw?.stop();
  await robots?.close();
  await smtp?.stop();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

describe('escalation', () => {
  it('an unacknowledged alert goes through every step on time, each channel once', async () => {
    const opened = await binAlert(gw, 'bin-e1');
    const t0 = Date.parse(opened.openedAt);
    const a = await settled(gw, opened.id);
    const ding = about('dingtalk', 'bin-e1');
    const wecom = about('wecom', 'bin-e1');
    const feishu = about('feishu', 'bin-e1');
    expect([ding.length, wecom.length, feishu.length, mailsAbout('bin-e1').length]).toEqual([1, 1, 1, 1]);
    expect(ding[0]!.at - t0).toBeLessThan(LATE);
    expect(wecom[0]!.at - t0).toBeGreaterThanOrEqual(STEP1);
    expect(wecom[0]!.at - t0).toBeLessThan(STEP1 + LATE);
    expect(feishu[0]!.at - t0).toBeGreaterThanOrEqual(STEP2);
    expect(feishu[0]!.at - t0).toBeLessThan(STEP2 + LATE);
    // the messages: what, where, value against the limit, the step, the console link
    expect(ding[0]!.body.markdown.title).toBe(`[MAJOR] Alert: ${opened.message}`);
    expect(ding[0]!.body.markdown.text).toContain('- Where: jiangnan/yuhua-garden/b3');
    expect(ding[0]!.body.markdown.text).toContain('- Value: 86 (fill_pct)');
    expect(ding[0]!.body.markdown.text).toContain('- Limit: 80');
    expect(ding[0]!.body.markdown.text).toContain(`(https://estate.example.com/console/#/alerts/${opened.id})`);
    expect(wecom[0]!.body.markdown.content).toContain('**Escalation step 1: not acknowledged**');
    expect(feishu[0]!.body.content.text).toContain('Escalation step 2: not acknowledged');
    expect(mailsAbout('bin-e1')[0]!.headers['x-gateway-alert']).toBe(opened.id);
    expect(a.escalation).toEqual({ policy: 'yuhua', step: 2, nextAt: null });
    expect(a.notifications.map((n: any) => [n.channel, n.step, n.event, n.status])).toEqual([
      ['b3-crew', 0, 'alert.opened', 'sent'], ['manager', 1, 'alert.escalated', 'sent'], ['ops', 2, 'alert.escalated', 'sent'], ['office', 2, 'alert.escalated', 'sent'],
    ]);
  }, 30_000);

  it('shows the next step while it is waiting', async () => {
    const opened = await binAlert(gw, 'bin-e0');
    const a = await eventually(async () => { const x = await alertNow(gw, opened.id); return x.notifications.length === 1 ? x : undefined; }, 3000, 50);
    expect(a.escalation).toEqual({ policy: 'yuhua', step: 0, nextAt: new Date(Date.parse(opened.openedAt) + STEP1).toISOString() });
    await settled(gw, opened.id);
  }, 30_000);

  it('an acknowledged alert skips the `unless: acknowledged` step and still climbs to `unless: resolved`', async () => {
    const opened = await binAlert(gw, 'bin-e2');
    expect((await gw.api(`/api/v1/alerts/${opened.id}/ack`, { method: 'POST', json: {} })).status).toBe(200);
    const a = await settled(gw, opened.id);
    expect(about('wecom', 'bin-e2')).toEqual([]);
    expect(about('dingtalk', 'bin-e2').length).toBe(1);
    expect(about('feishu', 'bin-e2').length).toBe(1);
    expect(mailsAbout('bin-e2').length).toBe(1);
    expect(a.notifications.map((n: any) => [n.channel, n.step])).toEqual([['b3-crew', 0], ['ops', 2], ['office', 2]]);
  }, 30_000);

  it('a resolved alert stops every step, and the resolution is reported to the channels that heard of it', async () => {
    const opened = await binAlert(gw, 'bin-e3');
    await eventually(() => about('dingtalk', 'bin-e3').length === 1, 3000);
    expect((await gw.api(`/api/v1/alerts/${opened.id}/resolve`, { method: 'POST', json: { note: 'emptied' } })).status).toBe(200);
    await eventually(() => about('dingtalk', 'bin-e3').length === 2, 3000);
    await new Promise((r) => setTimeout(r, STEP2 + LATE - (Date.now() - Date.parse(opened.openedAt))));
    const ding = about('dingtalk', 'bin-e3');
    expect(ding.map((r) => r.body.markdown.title)).toEqual([`[MAJOR] Alert: ${opened.message}`, `[MAJOR] Resolved: ${opened.message}`]);
    expect(ding[1]!.body.markdown.text).toMatch(/- Resolved at: .* \(admin\)/);
    expect([about('wecom', 'bin-e3').length, about('feishu', 'bin-e3').length, mailsAbout('bin-e3').length]).toEqual([0, 0, 0]);
    const a = await alertNow(gw, opened.id);
    expect(a.escalation).toEqual({ policy: 'yuhua', step: 0, nextAt: null });
    expect(a.notifications.map((n: any) => [n.channel, n.event, n.status])).toEqual([['b3-crew', 'alert.opened', 'sent'], ['b3-crew', 'alert.resolved', 'sent']]);
  }, 30_000);

  it('a robot that answers an error twice gets the message on the third try', async () => {
    robots.failNext(2);
    const opened = await binAlert(gw, 'bin-e4');
    // the failed state is visible while it retries
    const failed = await eventually(async () => (await alertNow(gw, opened.id)).notifications.find((n: any) => n.status === 'failed'), 3000, 20);
    expect(failed).toMatchObject({ channel: 'b3-crew', step: 0, status: 'failed' });
    expect(failed.error).toContain('dingtalk errcode 130101');
    await eventually(() => about('dingtalk', 'bin-e4').some((r) => r.ok), 5000);
    expect(about('dingtalk', 'bin-e4').map((r) => r.ok)).toEqual([false, false, true]);
    const a = await settled(gw, opened.id);
    expect(a.notifications[0]).toMatchObject({ channel: 'b3-crew', status: 'sent', attempts: 3 });
    expect(about('dingtalk', 'bin-e4').length).toBe(3);
  }, 30_000);

  it('a silence made after the alert opened holds its later steps', async () => {
    const opened = await binAlert(gw, 'bin-e6');
    await eventually(() => about('dingtalk', 'bin-e6').length === 1, 3000);
    const r = await gw.api('/api/v1/silences', { method: 'POST', json: { match: { rule: 'bin_full', device: 'bin-e6' }, until: new Date(Date.now() + 3_600_000).toISOString(), reason: 'bin being replaced' } });
    expect(r.status).toBe(201);
    const a = await settled(gw, opened.id);
    expect([about('wecom', 'bin-e6').length, about('feishu', 'bin-e6').length, mailsAbout('bin-e6').length]).toEqual([0, 0, 0]);
    expect(a.escalation).toEqual({ policy: 'yuhua', step: 2, nextAt: null });
    expect(a.notifications.map((n: any) => n.channel)).toEqual(['b3-crew']);
  }, 30_000);

  it('a minor alert does not match the policy', async () => {
    const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'bin-e5', model: 'generic.bin-fill', site: 'jiangnan/yuhua-garden/b3' } });
    const c = await connect(gw.mqttPort, { username: 'bin-e5', password: r.body.credentials.password });
    clients.push(c);
    await publish(c, 'devices/bin-e5/up', JSON.stringify({ tilt: true }));
    const a = await eventually(async () => (await gw.api('/api/v1/alerts?device=bin-e5&rule=bin_tilted')).body.items[0], 5000);
    expect(a.severity).toBe('minor');
    expect(a.escalation).toBeNull();
    expect(a.notifications).toEqual([]);
  });
});

describe('escalation across a restart', () => {
  it('a restart between steps loses no step and sends none twice', async () => {
    const dataDir = tempDir('gw-escalation-');
    dirs.push(dataDir);
    const steps = { step1: 2500, step2: 5000 };
    const config = { notify: notifyConfig(steps) };
    let g = await startGateway({ dataDir, config });
    const opened = await binAlert(g, 'bin-r1');
    const t0 = Date.parse(opened.openedAt);
    await eventually(() => about('dingtalk', 'bin-r1').some((r) => r.ok), 3000);
    await Promise.all(clients.splice(0).map((c) => c.endAsync()));
    await g.stop();
    // down while step 1 comes due
    await new Promise((r) => setTimeout(r, Math.max(0, steps.step1 + 500 - (Date.now() - t0))));
    expect(about('wecom', 'bin-r1')).toEqual([]);
    g = await startGateway({ dataDir, config });
    try {
      await eventually(() => about('wecom', 'bin-r1').length === 1, 3000);
      const a = await settled(g, opened.id);
      expect(about('dingtalk', 'bin-r1').length).toBe(1);
      expect(about('wecom', 'bin-r1').length).toBe(1);
      expect(about('feishu', 'bin-r1').length).toBe(1);
      expect(mailsAbout('bin-r1').length).toBe(1);
      expect(about('feishu', 'bin-r1')[0]!.at - t0).toBeGreaterThanOrEqual(steps.step2);
      expect(about('feishu', 'bin-r1')[0]!.at - t0).toBeLessThan(steps.step2 + LATE);
      expect(a.notifications.map((n: any) => [n.channel, n.step, n.status])).toEqual([['b3-crew', 0, 'sent'], ['manager', 1, 'sent'], ['ops', 2, 'sent'], ['office', 2, 'sent']]);
      // and nothing more after it settled
      await new Promise((r) => setTimeout(r, 1500));
      expect([about('dingtalk', 'bin-r1').length, about('wecom', 'bin-r1').length, about('feishu', 'bin-r1').length, mailsAbout('bin-r1').length]).toEqual([1, 1, 1, 1]);
    } finally {
      await g.stop();
    }
  }, 40_000);
});

describe('escalation across a restart of the process', () => {
  it('SIGTERM between steps, a new process on the same data dir: the overdue step once, the next on time', async () => {
    const dataDir = tempDir('gw-escalation-proc-');
    dirs.push(dataDir);
    const token = 'escalation-admin-token-0001';
    const steps = { step1: 6000, step2: 20_000 };
    const env = { GATEWAY_DATA_DIR: dataDir, GATEWAY_ADMIN_TOKEN: token, GATEWAY_LOG_LEVEL: 'error' };
    const config = { rulesFile: 'config/rules.yaml', notify: notifyConfig(steps) };
    let child: ChildGateway = await spawnGateway(env, { config });
    try {
      const api = apiClient(child.http);
      const r = await api('/api/v1/devices', { method: 'POST', token, json: { id: 'bin-p1', model: 'generic.bin-fill', site: 'jiangnan/yuhua-garden/b3', name: 'Bin bin-p1' } });
      expect(r.status).toBe(201);
      const c = await connect(child.mqttPort, { username: 'bin-p1', password: r.body.credentials.password });
      await publish(c, 'devices/bin-p1/up', JSON.stringify({ fill_pct: 86 }));
      await c.endAsync();
      const opened = await eventually(async () => (await api('/api/v1/alerts?device=bin-p1', { token })).body.items[0], 5000);
      const t0 = Date.parse(opened.openedAt);
      await eventually(() => about('dingtalk', 'bin-p1').some((x) => x.ok), 5000);
      child.proc.kill('SIGTERM');
      expect((await child.exited).code).toBe(0);
      await new Promise((res) => setTimeout(res, Math.max(0, steps.step1 + 500 - (Date.now() - t0))));
      expect(about('wecom', 'bin-p1')).toEqual([]);
      child = await spawnGateway(env, { config });
      await eventually(() => about('wecom', 'bin-p1').length === 1, 5000);
      await eventually(() => about('feishu', 'bin-p1').length === 1 && mailsAbout('bin-p1').length === 1, steps.step2 + 5000, 100);
      expect(about('feishu', 'bin-p1')[0]!.at - t0).toBeGreaterThanOrEqual(steps.step2);
      expect(about('feishu', 'bin-p1')[0]!.at - t0).toBeLessThan(steps.step2 + LATE);
      await new Promise((res) => setTimeout(res, 1500));
      expect([about('dingtalk', 'bin-p1').length, about('wecom', 'bin-p1').length, about('feishu', 'bin-p1').length, mailsAbout('bin-p1').length]).toEqual([1, 1, 1, 1]);
      const a = (await apiClient(child.http)(`/api/v1/alerts/${opened.id}`, { token })).body;
      expect(a.escalation).toEqual({ policy: 'yuhua', step: 2, nextAt: null });
    } finally {
      child.proc.kill('SIGTERM');
      await child.exited;
    }
  }, 90_000);
});
