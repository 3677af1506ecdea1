/**
 * Alerts end to end: real MQTT publishes, observed through REST, SSE, MQTT and a real HTTP
 * webhook receiver that verifies the signature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { ADMIN_TOKEN, freePort, startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';
import { openSse, WebhookReceiver } from '../helpers/webhook.js';

let gw: TestGateway;
let hook: WebhookReceiver;
let sse: Awaited<ReturnType<typeof openSse>>;
const clients: Record<string, MqttClient> = {};
let crew: string;

async function device(id: string, model: string, attributes: Record<string, unknown> = {}) {
  const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id, model, site: 'jiangnan/yuhua-garden/b3', attributes } });
  expect(r.status).toBe(201);
  clients[id] = await connect(gw.mqttPort, { username: id, password: r.body.credentials.password });
}
const send = (id: string, body: unknown) => publish(clients[id]!, `devices/${id}/up`, JSON.stringify(body));
const openAlerts = async (q = '') => (await gw.api(`/api/v1/alerts${q}`, { token: crew })).body.items as any[];
const alertOf = async (rule: string, dev: string, status = 'open,acknowledged,resolved') =>
  (await openAlerts(`?rule=${rule}&device=${dev}&status=${status}`))[0];

beforeAll(async () => {
  hook = new WebhookReceiver(await freePort(), 's3cret');
  await hook.up();
  gw = await startGateway({ config: { notify: { webhooks: [{ url: hook.url, secret: 's3cret', match: {} }], retry: { initialMs: 200, maxMs: 1000, timeoutMs: 2000 } } } });
  crew = (await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'crew-li', role: 'crew' } })).body.token;
  sse = await openSse(`${gw.http}/api/v1/alerts/stream?token=${crew}`);
});
afterAll(async () => {
  sse?.close();
  await Promise.all(Object.values(clients).map((c) => c.endAsync()));
  await gw?.stop();
  await hook?.down();
});

describe('water quality', () => {
  it('pH 9.3 opens ph_out_of_range (major), 9.4 bumps occurrences, 7.2 auto-resolves', async () => {
    await device('wq-1', 'generic.water-quality');
    await send('wq-1', { ph: 9.3 });
    const opened = await eventually(() => sse.events.find((e) => e.event === 'alert.opened' && e.data.rule === 'ph_out_of_range'), 3000);
    expect(opened.data).toMatchObject({ severity: 'major', status: 'open', deviceId: 'wq-1', kind: 'water_quality', site: 'jiangnan/yuhua-garden/b3', metric: 'ph', value: 9.3, threshold: 8.5, occurrences: 1 });
    expect(opened.data.message).toContain('9.3');
    await send('wq-1', { ph: 9.4 });
    expect((await alertOf('ph_out_of_range', 'wq-1'))).toMatchObject({ occurrences: 2, value: 9.4, status: 'open' });
    await send('wq-1', { ph: 8.45 }); // inside 6.5-8.5 but not yet inside the clear band 6.6-8.4: stays open
    expect((await alertOf('ph_out_of_range', 'wq-1')).status).toBe('open');
    await send('wq-1', { ph: 7.2 });
    expect(await alertOf('ph_out_of_range', 'wq-1')).toMatchObject({ status: 'resolved', resolution: 'auto', resolvedBy: 'gateway', occurrences: 2 });
    await eventually(() => sse.events.find((e) => e.event === 'alert.resolved' && e.data.rule === 'ph_out_of_range'), 3000);
  });

  it('pH 15.2 is sensor_out_of_range and does not open ph_out_of_range', async () => {
    await device('wq-2', 'generic.water-quality');
    await send('wq-2', { ph: 15.2 });
    expect(await alertOf('sensor_out_of_range', 'wq-2')).toMatchObject({ status: 'open', severity: 'major', metric: 'ph', value: 15.2, threshold: 14 });
    expect(await alertOf('ph_out_of_range', 'wq-2')).toBeUndefined();
    const latest = await gw.api('/api/v1/devices/wq-2/latest');
    expect(latest.body.readings.ph).toMatchObject({ value: 15.2, quality: 'out_of_range' });
  });
});

describe('bins, doors, access', () => {
  it('bin 86 % opens bin_full, 60 % keeps it open, 5 % resolves it', async () => {
    await device('bin-7', 'generic.bin-fill');
    await send('bin-7', { fill_pct: 86 });
    expect(await alertOf('bin_full', 'bin-7')).toMatchObject({ status: 'open', severity: 'major', value: 86, threshold: 80, message: 'Bin bin-7 is 86% full' });
    await send('bin-7', { fill_pct: 60 });
    expect((await alertOf('bin_full', 'bin-7')).status).toBe('open');
    await send('bin-7', { fill_pct: 5 });
    expect(await alertOf('bin_full', 'bin-7')).toMatchObject({ status: 'resolved', resolution: 'auto' });
  });

  it('a per-device threshold override (attributes.thresholds.fill_pct = 90) holds the alert back at 86 %', async () => {
    await device('bin-8', 'generic.bin-fill', { thresholds: { fill_pct: 90 } });
    await send('bin-8', { fill_pct: 86 });
    expect(await alertOf('bin_full', 'bin-8')).toBeUndefined();
    await send('bin-8', { fill_pct: 91 });
    expect(await alertOf('bin_full', 'bin-8')).toMatchObject({ status: 'open', threshold: 90 });
  });

  it('a door open 121 s opens door_held_open', async () => {
    await device('door-1', 'generic.door-access');
    const t0 = Date.now() - 200_000;
    await send('door-1', { ts: t0, door_open: true });
    await send('door-1', { ts: t0 + 119_000, door_open: true });
    expect(await alertOf('door_held_open', 'door-1')).toBeUndefined();
    await send('door-1', { ts: t0 + 121_000, door_open: true });
    expect(await alertOf('door_held_open', 'door-1')).toMatchObject({ status: 'open', severity: 'minor', metric: 'door_open', threshold: 120 });
    await send('door-1', { ts: t0 + 125_000, door_open: false });
    expect((await alertOf('door_held_open', 'door-1')).status).toBe('resolved');
  });

  it('five denied accesses of one card in a minute open access_denied_burst', async () => {
    await device('door-2', 'generic.door-access');
    for (let i = 0; i < 4; i++) await send('door-2', { event: 'access_denied', credential: 'card:DEADBEEF' });
    await send('door-2', { event: 'access_denied', credential: 'card:OTHER' });
    expect(await alertOf('access_denied_burst', 'door-2')).toBeUndefined();
    await send('door-2', { event: 'access_denied', credential: 'card:DEADBEEF' });
    expect(await alertOf('access_denied_burst', 'door-2')).toMatchObject({ status: 'open', severity: 'warning', value: 5, threshold: 5 });
  });
});

describe('offline detection', () => {
  it('a device with reportIntervalS 1 goes device_offline within 8 s and resolves on its next message', async () => {
    await device('quiet-1', 'generic.parking', { reportIntervalS: 1 });
    const status: any[] = [];
    const key = (await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'status-watch', role: 'integrator' } })).body.token;
    const watcher = await connect(gw.mqttPort, { username: 'apikey', password: key });
    watcher.on('message', (_t, p) => status.push(JSON.parse(p.toString())));
    await watcher.subscribeAsync('devices/quiet-1/status', { qos: 0 });
    await send('quiet-1', { occupied: true });
    const t0 = Date.now();
    await eventually(async () => (await alertOf('device_offline', 'quiet-1', 'open'))?.status === 'open', 8000, 100);
    expect(Date.now() - t0).toBeLessThan(8000);
    await eventually(() => status.some((s) => s.online === false), 3000);
    await send('quiet-1', { occupied: false });
    expect(await alertOf('device_offline', 'quiet-1')).toMatchObject({ status: 'resolved', resolution: 'auto' });
    await eventually(() => status.at(-1)?.online === true, 3000);
    await watcher.endAsync();
  }, 20_000);
});

describe('lifecycle actions and roles', () => {
  it('crew acknowledges, assigns, adds a note and resolves; integrator only reads', async () => {
    await device('wq-3', 'generic.water-quality');
    await send('wq-3', { turbidity_ntu: 3.2 });
    const a = await alertOf('turbidity_high', 'wq-3');
    const integ = (await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'erp', role: 'integrator' } })).body.token;
    expect((await gw.api(`/api/v1/alerts/${a.id}`, { token: integ })).status).toBe(200);
    expect((await gw.api(`/api/v1/alerts/${a.id}/ack`, { method: 'POST', token: integ, json: {} })).status).toBe(403);
    // the note is optional: no body at all is an acknowledgement too (curl -X POST without -d)
    const bare = await fetch(`${gw.http}/api/v1/alerts/${a.id}/ack`, { method: 'POST', headers: { authorization: `Bearer ${crew}` } });
    expect(bare.status).toBe(200);
    const empty = await fetch(`${gw.http}/api/v1/alerts/${a.id}/ack`, { method: 'POST', headers: { authorization: `Bearer ${crew}`, 'content-type': 'application/json' } });
    expect(empty.status).toBe(200);
    expect(((await empty.json()) as { notes: unknown[] }).notes).toEqual([]);
    const ack = await gw.api(`/api/v1/alerts/${a.id}/ack`, { method: 'POST', token: crew, json: { note: 'on my way' } });
    expect(ack.body).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'crew-li', notes: [{ by: 'crew-li', text: 'on my way' }] });
    expect((await gw.api(`/api/v1/alerts/${a.id}/assign`, { method: 'POST', token: crew, json: { assignee: 'wang' } })).body.assignee).toBe('wang');
    expect((await gw.api(`/api/v1/alerts/${a.id}/notes`, { method: 'POST', token: crew, json: { text: 'filter replaced' } })).body.notes).toHaveLength(3);
    const res = await gw.api(`/api/v1/alerts/${a.id}/resolve`, { method: 'POST', token: crew, json: { note: 'fixed' } });
    expect(res.body).toMatchObject({ status: 'resolved', resolution: 'manual', resolvedBy: 'crew-li' });
    const again = await gw.api(`/api/v1/alerts/${a.id}/resolve`, { method: 'POST', token: crew, json: {} });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CONFLICT');
    expect((await gw.api('/api/v1/alerts/nope', { token: crew })).body).toMatchObject({ code: 'NOT_FOUND', details: [{ field: 'params.id' }] });
    const events = sse.events.filter((e) => e.data.id === a.id).map((e) => e.event);
    expect(events).toEqual(['alert.opened', 'alert.acknowledged', 'alert.acknowledged', 'alert.acknowledged', 'alert.assigned', 'alert.updated', 'alert.resolved']);
    const audit = await gw.api(`/api/v1/audit?target=${a.id}`);
    expect(audit.body.items.map((i: any) => i.action)).toEqual(['alert.resolve', 'alert.note', 'alert.assign', 'alert.ack', 'alert.ack', 'alert.ack']);
  });

  it('lists alerts newest first, pages them with a cursor, and refuses unknown rules', async () => {
    const all = (await gw.api('/api/v1/alerts?status=open,acknowledged,resolved&limit=1000', { token: crew })).body.items as any[];
    expect(all.length).toBeGreaterThan(3);
    const opened = all.map((x) => Date.parse(x.openedAt));
    expect(opened).toEqual([...opened].sort((x, y) => y - x));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: any = await gw.api(`/api/v1/alerts?status=open,acknowledged,resolved&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: crew });
      seen.push(...r.body.items.map((x: any) => x.id));
      cursor = r.body.next;
    } while (cursor);
    expect(seen).toEqual(all.map((x) => x.id));
    const asc = (await gw.api('/api/v1/alerts?status=open,acknowledged,resolved&order=asc&limit=1000', { token: crew })).body.items.map((x: any) => x.id);
    expect(asc).toEqual([...seen].reverse());
    const typo = await gw.api('/api/v1/alerts?rule=bin_ful', { token: crew });
    expect(typo.status).toBe(400);
    expect(typo.body).toMatchObject({ code: 'UNKNOWN_VALUE', details: [{ field: 'querystring.rule' }] });
  });

  it('a silence records the alert but does not notify; rules are listed', async () => {
    await device('bin-9', 'generic.bin-fill');
    const s = await gw.api('/api/v1/silences', { method: 'POST', token: crew, json: { match: { device: 'bin-9' }, until: new Date(Date.now() + 3_600_000).toISOString(), reason: 'bin being replaced' } });
    expect(s.status).toBe(201);
    const before = hook.received.length;
    await send('bin-9', { fill_pct: 95 });
    expect(await alertOf('bin_full', 'bin-9')).toMatchObject({ status: 'open', silenced: true });
    await new Promise((r) => setTimeout(r, 500));
    expect(hook.received.slice(before).filter((h) => h.alert.deviceId === 'bin-9')).toEqual([]);
    const listed = await gw.api('/api/v1/silences', { token: crew });
    expect(listed.body).toMatchObject({ items: [{ id: s.body.id, match: { device: 'bin-9' }, active: true }], next: null });
    expect((await gw.api(`/api/v1/silences/${s.body.id}`, { method: 'DELETE', token: crew })).status).toBe(204);
    // a silence that names what does not exist would silence nothing: 400 naming the key and the value
    const until = new Date(Date.now() + 3_600_000).toISOString();
    for (const [match, field, value] of [[{ rule: 'bin_ful' }, 'body.match.rule', 'bin_ful'], [{ device: 'bin-99' }, 'body.match.device', 'bin-99'],
      [{ site: 'atlantis' }, 'body.match.site', 'atlantis']] as const) {
      const r = await gw.api('/api/v1/silences', { method: 'POST', token: crew, json: { match, until, reason: 'typo' } });
      expect(r.status, field).toBe(400);
      expect(r.body, field).toMatchObject({ code: 'UNKNOWN_VALUE', details: [{ field, message: expect.stringContaining(value) }] });
    }
    const rules = await gw.api('/api/v1/rules', { token: crew });
    expect(rules.body.next).toBeNull();
    expect(rules.body.items.map((r: any) => r.id)).toEqual(expect.arrayContaining(['ph_out_of_range', 'bin_full', 'device_offline', 'access_denied_burst', 'water_leak_suspected']));
  });

  it('the webhook receiver got every notified event with a valid signature', async () => {
    await eventually(() => (gw.gateway.alerts.outbox.pending() === 0 ? true : undefined), 5000);
    expect(hook.received.length).toBeGreaterThan(5);
    expect(hook.received.every((h) => h.verified)).toBe(true);
    const deliveries = await gw.api('/api/v1/webhooks/deliveries');
    expect(deliveries.body.items[0]).toMatchObject({ webhook: hook.url, status: 'delivered' });
    const m = (await gw.api('/metrics', { token: null })).text;
    expect(Number(/gateway_notifications_total\{channel="webhook",result="delivered"\} (\d+)/.exec(m)?.[1])).toBe(hook.received.length);
    expect(m).toMatch(/gateway_notification_delivery_seconds_count\{channel="webhook"\} [1-9]/);
    expect(m).toMatch(/gateway_notifications_pending\{channel="webhook"\} 0/);
    expect((await gw.api('/api/v1/webhooks/deliveries?status=pending')).body).toEqual({ items: [], next: null });
  });
});
