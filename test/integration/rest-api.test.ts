/** CONTRACT REST sections for devices, models, telemetry, events, dead letters, API keys and operations. */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../helpers/gateway.js';
import { mosquitto } from '../helpers/mqtt.js';

let gw: TestGateway;
let crewToken: string;
let integratorToken: string;
const secrets: Record<string, string> = {};

function curl(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => execFile('curl', ['-s', '-w', '\n%{http_code}', ...args], (err, stdout) => {
    const lines = stdout.trimEnd().split('\n');
    resolve({ code: Number(lines.pop()), out: lines.join('\n') });
  }));
}

const pub = (id: string, msg: string, topic = `devices/${id}/up`) =>
  mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(gw.mqttPort), '-u', id, '-P', secrets[id]!, '-q', '1', '-t', topic, '-m', msg]);

beforeAll(async () => {
  gw = await startGateway();
  crewToken = (await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'crew-a', role: 'crew' } })).body.token;
  integratorToken = (await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'int-a', role: 'integrator' } })).body.token;
});
afterAll(async () => gw?.stop());

describe('authentication and roles', () => {
  it('401 without or with a bad token, 403 for the wrong role', async () => {
    expect((await gw.api('/api/v1/devices', { token: null })).status).toBe(401);
    expect((await gw.api('/api/v1/devices', { token: 'nope' })).status).toBe(401);
    const crewCreate = await gw.api('/api/v1/devices', { method: 'POST', token: crewToken, json: { id: 'x-1', model: 'generic.parking' } });
    expect(crewCreate.status).toBe(403);
    expect(crewCreate.body.error).toMatch(/role crew/);
    expect((await gw.api('/api/v1/devices', { token: crewToken })).status).toBe(200);
    expect((await gw.api('/api/v1/devices', { token: integratorToken })).status).toBe(200);
    expect((await gw.api('/api/v1/api-keys', { token: integratorToken })).status).toBe(403);
    expect((await gw.api('/api/v1/dead-letters', { token: crewToken })).status).toBe(403);
    expect((await gw.api('/api/v1/whoami', { token: crewToken })).body).toEqual({ name: 'crew-a', role: 'crew', timezone: 'Asia/Shanghai' });
    expect((await gw.api('/api/v1/whoami')).body).toEqual({ name: 'admin', role: 'admin', timezone: 'Asia/Shanghai' });
    expect((await gw.api('/api/v1/whoami', { token: 'nope' })).status).toBe(401);
    const m = (await gw.api('/metrics', { token: null })).text;
    expect(Number(/gateway_http_refusals_total\{reason="unauthorized"\} (\d+)/.exec(m)?.[1])).toBe(3);
    expect(Number(/gateway_http_refusals_total\{reason="forbidden"\} (\d+)/.exec(m)?.[1])).toBe(3);
  });

  it('a crew key gets 403 on provisioning via curl, no token gets 401', async () => {
    const body = JSON.stringify({ id: 'curl-1', model: 'generic.parking' });
    const crew = await curl(['-X', 'POST', `${gw.http}/api/v1/devices`, '-H', `Authorization: Bearer ${crewToken}`, '-H', 'content-type: application/json', '-d', body]);
    expect(crew.code).toBe(403);
    const none = await curl(['-X', 'POST', `${gw.http}/api/v1/devices`, '-H', 'content-type: application/json', '-d', body]);
    expect(none.code).toBe(401);
    expect(JSON.parse(none.out)).toEqual({ error: 'missing bearer token', code: 'UNAUTHORIZED' });
    expect(JSON.parse(crew.out)).toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('devices', () => {
  it('provisions a device with curl: 201, credentials once, only a hash stored', async () => {
    const r = await curl(['-X', 'POST', `${gw.http}/api/v1/devices`, '-H', `Authorization: Bearer ${ADMIN_TOKEN}`, '-H', 'content-type: application/json',
      '-d', JSON.stringify({ id: 'bin-001', model: 'generic.bin-fill', name: 'B3 bin', site: 'jiangnan/yuhua-garden/b3/u1', attributes: { binDepthMm: 1200 } })]);
    expect(r.code).toBe(201);
    const body = JSON.parse(r.out);
    expect(body.device).toMatchObject({ id: 'bin-001', model: 'generic.bin-fill', kind: 'bin_fill', site: 'jiangnan/yuhua-garden/b3/u1', online: false, lastSeen: null, battery: null });
    expect(body.credentials.username).toBe('bin-001');
    expect(body.credentials.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    secrets['bin-001'] = body.credentials.password;
    const row = gw.gateway.db.prepare('SELECT secret_hash FROM devices WHERE id = ?').get('bin-001') as { secret_hash: string };
    expect(row.secret_hash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(row.secret_hash).not.toContain(body.credentials.password);
    const again = await gw.api('/api/v1/devices/bin-001');
    expect(again.body.credentials).toBeUndefined();
    expect(JSON.stringify(again.body)).not.toContain(body.credentials.password);
  });

  it('409 on a duplicate id, 400 naming the field on bad input, 404 on unknown ids', async () => {
    const dup = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'bin-001', model: 'generic.bin-fill' } });
    expect(dup.status).toBe(409);
    // the same field name as a 400 (body.id), with a code
    expect(dup.body).toEqual({ error: 'body.id: device bin-001 already exists', code: 'CONFLICT', details: [{ field: 'body.id', message: 'device bin-001 already exists' }] });
    const cases: Array<[unknown, string]> = [
      [{ id: 'a/b', model: 'generic.bin-fill' }, 'body.id'],
      [{ id: 'ok-1', model: 'acme.unknown' }, 'body.model'],
      [{ id: 'ok-1', model: 'generic.bin-fill', site: 'a/b/c/d/e' }, 'body.site'],
      [{ id: 'ok-1', model: 'generic.bin-fill', attributes: { binDepthMm: -5 } }, 'body.attributes.binDepthMm'],
      [{ id: 'ok-1', model: 'generic.bin-fill', lorawan: { devEui: 'xyz' } }, 'body.lorawan.devEui'],
      [{ id: 'ok-1', model: 'generic.bin-fill', colour: 'red' }, 'body.colour'],
      [{ model: 'generic.bin-fill' }, 'body.id'],
    ];
    for (const [json, field] of cases) {
      const r = await gw.api('/api/v1/devices', { method: 'POST', json });
      expect(r.status, JSON.stringify(json)).toBe(400);
      expect(r.body.details.map((d: { field: string }) => d.field), JSON.stringify(json)).toContain(field);
      expect(r.body.error).toContain(field);
      expect(r.body.code).toBe(field === 'body.model' ? 'UNKNOWN_VALUE' : 'VALIDATION_FAILED');
    }
    const missing = await gw.api('/api/v1/devices/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'device nope not found', code: 'NOT_FOUND', details: [{ field: 'params.id', message: 'device nope not found' }] });
    expect((await gw.api('/api/v1/devices/nope/latest')).status).toBe(404);
    expect((await gw.api('/api/v1/devices/nope', { method: 'DELETE' })).status).toBe(404);
    expect((await gw.api('/api/v1/telemetry?device=nope&metric=ph')).status).toBe(404);
    const notJson = await gw.api('/api/v1/devices', { method: 'POST', body: '{"id":', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ code: 'INVALID_BODY', details: [{ field: 'body', message: expect.stringContaining('JSON') }] });
    const noRoute = await gw.api('/api/v1/nothing-here');
    expect(noRoute.body).toMatchObject({ code: 'NOT_FOUND', details: [{ field: 'url' }] });
  });

  it('bulk JSON upsert is idempotent and returns credentials for new devices only', async () => {
    const rows = [
      { id: 'p-01', model: 'generic.parking', site: 'jiangnan/yuhua-garden' },
      { id: 'p-02', model: 'generic.parking', site: 'jiangnan/yuhua-garden' },
      { id: 'bad id', model: 'generic.parking' },
    ];
    const first = await gw.api('/api/v1/devices/bulk', { method: 'POST', json: rows });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ created: 2, updated: 0 });
    expect(first.body.errors).toEqual([{ row: 3, id: 'bad id', error: expect.stringContaining('id:') }]);
    expect(first.body.credentials.map((c: { username: string }) => c.username)).toEqual(['p-01', 'p-02']);
    secrets['p-01'] = first.body.credentials[0].password;
    const second = await gw.api('/api/v1/devices/bulk', { method: 'POST', json: rows.slice(0, 2).map((r) => ({ ...r, name: 'bay' })) });
    expect(second.body).toMatchObject({ created: 0, updated: 2, errors: [], credentials: [] });
    expect((await gw.api('/api/v1/devices/p-01')).body.name).toBe('bay');
    // the secret did not change on update
    expect((await pub('p-01', '{"occupied": false}')).code).toBe(0);
  });

  it('bulk CSV with attributes columns and a per-row error', async () => {
    const csv = 'id,model,site,devEui,attributes.binDepthMm\n'
      + 'bin-101,generic.bin-fill,jiangnan/yuhua-garden/b1,,1000\n'
      + 'dl-ph-1,generic.water-quality,jiangnan/yuhua-garden/pump,0004a30b001c0530,\n'
      + 'bin-102,no.such-model,jiangnan,,\n';
    const r = await gw.api('/api/v1/devices/bulk', { method: 'POST', body: csv, headers: { 'content-type': 'text/csv' } });
    expect(r.status).toBe(200);
    expect(r.body.created).toBe(2);
    expect(r.body.errors).toEqual([{ row: 3, id: 'bin-102', error: expect.stringContaining('model') }]);
    expect((await gw.api('/api/v1/devices/bin-101')).body.attributes).toEqual({ binDepthMm: 1000 });
    expect((await gw.api('/api/v1/devices/dl-ph-1')).body.lorawan).toEqual({ devEui: '0004A30B001C0530' });
    const again = await gw.api('/api/v1/devices/bulk', { method: 'POST', body: csv, headers: { 'content-type': 'text/csv' } });
    expect(again.body).toMatchObject({ created: 0, updated: 2 });
  });

  it('lists with filters (site prefix by whole levels, kind, model, online) and patches, deletes', async () => {
    const all = await gw.api('/api/v1/devices?site=jiangnan/yuhua-garden');
    expect(all.body.items.map((d: { id: string }) => d.id)).toEqual(['bin-001', 'bin-101', 'dl-ph-1', 'p-01', 'p-02']);
    expect(all.body.next).toBeNull();
    expect((await gw.api('/api/v1/devices?site=jiangnan/yuhua')).body).toEqual({ items: [], next: null });
    expect((await gw.api('/api/v1/devices?kind=parking')).body.items.map((d: { id: string }) => d.id)).toEqual(['p-01', 'p-02']);
    expect((await gw.api('/api/v1/devices?online=true')).body.items.map((d: { id: string }) => d.id)).toEqual(['p-01']);
    expect((await gw.api('/api/v1/devices?q=BIN-1')).body.items.map((d: { id: string }) => d.id)).toEqual(['bin-101']);
    expect((await gw.api('/api/v1/devices?q=pump')).body.items.map((d: { id: string }) => d.id)).toEqual(['dl-ph-1']);
    const toaster = await gw.api('/api/v1/devices?kind=toaster');
    expect(toaster.status).toBe(400);
    expect(toaster.body).toMatchObject({ code: 'UNKNOWN_VALUE', details: [{ field: 'querystring.kind' }] });
    expect((await gw.api('/api/v1/devices?model=acme.nothing')).body).toMatchObject({ code: 'UNKNOWN_VALUE', details: [{ field: 'querystring.model' }] });
    expect((await gw.api('/api/v1/devices?model=generic.parking')).body.items.map((d: { id: string }) => d.id)).toEqual(['p-01', 'p-02']);
    const patched = await gw.api('/api/v1/devices/p-02', { method: 'PATCH', json: { name: 'Bay 2', attributes: { reportIntervalS: 60 } } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Bay 2', attributes: { reportIntervalS: 60 } });
    expect((await gw.api('/api/v1/devices/p-02', { method: 'PATCH', json: { attributes: { reportIntervalS: 'soon' } } })).status).toBe(400);
    expect((await gw.api('/api/v1/devices/p-02', { method: 'DELETE' })).status).toBe(204);
    expect((await gw.api('/api/v1/devices/p-02')).status).toBe(404);
  });
});

describe('telemetry, latest, events, dead letters', () => {
  it('publish a bin reading with mosquitto_pub and see it in /latest with fill_pct derived', async () => {
    expect((await pub('bin-001', '{"distance_mm": 300, "battery_v": 3.55}')).code).toBe(0);
    const latest = await gw.api('/api/v1/devices/bin-001/latest', { token: crewToken });
    expect(latest.body.deviceId).toBe('bin-001');
    expect(latest.body.readings.fill_pct).toMatchObject({ value: 75, unit: '%' });
    expect(latest.body.readings.distance_mm).toMatchObject({ value: 300, unit: 'mm' });
    expect(latest.body.readings.battery_v).toMatchObject({ value: 3.55, unit: 'V' });
    expect(Date.parse(latest.body.readings.fill_pct.ts)).toBeGreaterThan(Date.now() - 60_000);
    const dev = await gw.api('/api/v1/devices/bin-001');
    expect(dev.body.online).toBe(true);
    expect(dev.body.battery).toMatchObject({ metric: 'battery_v', value: 3.55, unit: 'V' });
  });

  it('raw, hourly mean and daily delta (Asia/Shanghai, reset mid-day) through REST, and CSV', async () => {
    const m = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'wm-1', model: 'generic.water-meter', site: 'jiangnan/yuhua-garden/b3' } });
    secrets['wm-1'] = m.body.credentials.password;
    const log = [
      ['2026-11-21T15:00:00Z', 100], ['2026-11-21T15:30:00Z', 101], ['2026-11-21T17:00:00Z', 103.5], ['2026-11-21T17:40:00Z', 104.5],
      ['2026-11-22T01:00:00Z', 110], ['2026-11-22T04:00:00Z', 0], ['2026-11-22T06:00:00Z', 4], ['2026-11-22T15:59:00Z', 9.25], ['2026-11-22T16:30:00Z', 10],
    ] as const;
    const payload = JSON.stringify(log.map(([ts, v]) => ({ ts, water_volume_m3: v })));
    expect((await pub('wm-1', payload)).code).toBe(0);
    // a redelivered duplicate (same device, metric, ts) is stored once
    expect((await pub('wm-1', JSON.stringify({ ts: '2026-11-22T06:00:00Z', water_volume_m3: 4 }))).code).toBe(0);

    const raw = await gw.api('/api/v1/telemetry?device=wm-1&metric=water_volume_m3', { token: integratorToken });
    expect(raw.body).toMatchObject({ deviceId: 'wm-1', metric: 'water_volume_m3', unit: 'm3' });
    expect(raw.body.points).toHaveLength(log.length);
    expect(raw.body.points[0]).toEqual({ ts: '2026-11-21T15:00:00.000Z', value: 100 });
    expect(raw.body.next).toBeNull();
    const window = `device=wm-1&metric=water_volume_m3&from=${Date.parse('2026-11-22T00:00:00Z')}&to=2026-11-22T23:00:00Z`;
    const limited = await gw.api(`/api/v1/telemetry?${window}&limit=2`);
    expect(limited.body.points).toEqual([{ ts: '2026-11-22T01:00:00.000Z', value: 110 }, { ts: '2026-11-22T04:00:00.000Z', value: 0 }]);
    // cut at limit: next continues the same series, oldest first, without gaps or repeats
    expect(limited.body.next).toEqual(expect.any(String));
    const rest = await gw.api(`/api/v1/telemetry?${window}&limit=2&cursor=${limited.body.next}`);
    expect(rest.body.points).toEqual([{ ts: '2026-11-22T06:00:00.000Z', value: 4 }, { ts: '2026-11-22T15:59:00.000Z', value: 9.25 }]);
    const last = await gw.api(`/api/v1/telemetry?${window}&limit=2&cursor=${rest.body.next}`);
    expect(last.body).toMatchObject({ points: [{ ts: '2026-11-22T16:30:00.000Z', value: 10 }], next: null });
    // a cursor is bound to its listing
    const other = await gw.api(`/api/v1/telemetry?device=wm-1&metric=water_volume_m3&limit=2&cursor=${limited.body.next}`);
    expect(other.status).toBe(400);
    expect(other.body).toMatchObject({ code: 'INVALID_CURSOR', details: [{ field: 'querystring.cursor' }] });
    // a metric the model never emits is 400, not an empty series
    const ph = await gw.api('/api/v1/telemetry?device=wm-1&metric=ph');
    expect(ph.status).toBe(400);
    expect(ph.body).toMatchObject({ code: 'UNKNOWN_VALUE', details: [{ field: 'querystring.metric', message: expect.stringContaining('does not emit ph') }] });
    expect((await gw.api('/api/v1/telemetry?device=wm-1&metric=ph_value')).body.code).toBe('UNKNOWN_VALUE');

    const hourly = await gw.api('/api/v1/telemetry?device=wm-1&metric=water_volume_m3&from=2026-11-21T17:00:00Z&to=2026-11-21T18:00:00Z&every=1h&agg=mean');
    expect(hourly.body.points).toEqual([{ ts: '2026-11-21T17:00:00.000Z', value: 104 }]);

    const daily = await gw.api('/api/v1/telemetry?device=wm-1&metric=water_volume_m3&from=2026-11-21T16:00:00Z&to=2026-11-23T16:00:00Z&every=1d&agg=delta&tz=Asia/Shanghai');
    // local 22nd: 100 -> 101 -> ... baseline 101 at 15:30Z; +2.5 +1 +5.5 +0 (reset) +4 +5.25 = 18.25; local 23rd: +0.75
    expect(daily.body.points).toEqual([{ ts: '2026-11-21T16:00:00.000Z', value: 18.25 }, { ts: '2026-11-22T16:00:00.000Z', value: 0.75 }]);
    expect(daily.body.tz).toBe('Asia/Shanghai');

    const csv = await curl([`${gw.http}/api/v1/telemetry?device=wm-1&metric=water_volume_m3&limit=2`, '-H', `Authorization: Bearer ${ADMIN_TOKEN}`, '-H', 'Accept: text/csv']);
    expect(csv.code).toBe(200);
    expect(csv.out).toBe('ts,value\n2026-11-21T15:00:00.000Z,100\n2026-11-21T15:30:00.000Z,101\n');

    for (const [q, field] of [['&every=1w&agg=mean', 'querystring.every'], ['&every=1h', 'querystring.agg'], ['&every=1h&agg=median', 'querystring.agg'],
      ['&every=1d&agg=delta&tz=Mars/Base', 'querystring.tz'], ['&from=yesterday', 'querystring.from'], ['&limit=100001', 'querystring.limit'],
      ['&from=2026-01-01T00:00:00Z&to=2036-01-01T00:00:00Z&every=1s&agg=mean', 'querystring.every']] as const) {
      const r = await gw.api(`/api/v1/telemetry?device=wm-1&metric=water_volume_m3${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.details[0].field, q).toBe(field);
    }
  });

  it('door events are stored with the credential pseudonymised; parking arrival/departure derived', async () => {
    const d = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'door-1', model: 'generic.door-access', site: 'jiangnan/yuhua-garden/b3' } });
    secrets['door-1'] = d.body.credentials.password;
    expect((await pub('door-1', '{"event": "access_granted", "credential": "card:04A1B2C3", "direction": "in"}')).code).toBe(0);
    expect((await pub('door-1', '{"event": "access_denied", "credential": "card:04A1B2C3"}')).code).toBe(0);
    const ev = await gw.api('/api/v1/events?device=door-1', { token: crewToken });
    // newest first
    expect(ev.body.items.map((e: { type: string }) => e.type)).toEqual(['access_denied', 'access_granted']);
    const cred = ev.body.items[0].data.credential;
    expect(cred).toMatch(/^h:[0-9a-f]{16}$/);
    expect(ev.body.items[1].data.credential).toBe(cred);
    const p1 = await gw.api('/api/v1/events?device=door-1&limit=1');
    const p2 = await gw.api(`/api/v1/events?device=door-1&limit=1&cursor=${p1.body.next}`);
    expect([p1.body.items[0].type, p2.body.items[0].type, p2.body.next]).toEqual(['access_denied', 'access_granted', null]);
    const asc = await gw.api('/api/v1/events?device=door-1&order=asc');
    expect(asc.body.items.map((e: { type: string }) => e.type)).toEqual(['access_granted', 'access_denied']);
    expect(JSON.stringify(ev.body)).not.toContain('04A1B2C3');
    const stored = gw.gateway.db.prepare("SELECT count(*) AS n FROM events WHERE data LIKE '%04A1B2C3%'").get() as { n: number };
    expect(stored.n).toBe(0);

    expect((await pub('p-01', '{"occupied": true}')).code).toBe(0);
    expect((await pub('p-01', '{"occupied": true}')).code).toBe(0);
    expect((await pub('p-01', '{"occupied": false}')).code).toBe(0);
    const park = await gw.api('/api/v1/events?device=p-01');
    expect(park.body.items.map((e: { type: string }) => e.type)).toEqual(['departure', 'arrival']);
    expect((await gw.api('/api/v1/events?type=arrival&site=jiangnan')).body.items).toHaveLength(1);
    const explode = await gw.api('/api/v1/events?type=explode');
    expect(explode.status).toBe(400);
    expect(explode.body).toMatchObject({ code: 'UNKNOWN_VALUE', details: [{ field: 'querystring.type' }] });
  });

  it('dead letters keep reason, topic, client and payload', async () => {
    expect((await pub('bin-001', '{"fill_pct": 50, "colour": "red"}')).code).toBe(0);
    const dl = await gw.api('/api/v1/dead-letters?limit=1');
    expect(dl.body.items[0]).toMatchObject({ topic: 'devices/bin-001/up', deviceId: 'bin-001', reason: expect.stringContaining('unknown key "colour"') });
    expect(Buffer.from(dl.body.items[0].payloadBase64, 'base64').toString()).toBe('{"fill_pct": 50, "colour": "red"}');
    expect(typeof dl.body.items[0].clientId).toBe('string');
  });
});

describe('lists (CONTRACT v2): {items, next}, limit, keyset cursors', () => {
  it('walks every page of devices, audit, models and keys without gaps or repeats', async () => {
    const rows = Array.from({ length: 23 }, (_, i) => ({ id: `pg-${String(i).padStart(2, '0')}`, model: 'generic.parking', site: 'paging/estate' }));
    expect((await gw.api('/api/v1/devices/bulk', { method: 'POST', json: rows })).body.created).toBe(23);
    const walk = async (path: string, key: (x: any) => string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r = await gw.api(`${path}${path.includes('?') ? '&' : '?'}limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(r.status, r.text).toBe(200);
        expect(Object.keys(r.body).sort()).toEqual(['items', 'next']);
        expect(r.body.items.length).toBeLessThanOrEqual(5);
        seen.push(...r.body.items.map(key));
        cursor = r.body.next;
        pages++;
      } while (cursor && pages < 100);
      return { seen, pages };
    };
    const devices = await walk('/api/v1/devices?site=paging', (d) => d.id);
    expect(devices.seen).toEqual(rows.map((r) => r.id));
    expect(devices.pages).toBe(5);
    // a device provisioned between pages lands where its id sorts, offsets would repeat one
    const first = await gw.api('/api/v1/devices?site=paging&limit=5');
    await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'pg-00a', model: 'generic.parking', site: 'paging/estate' } });
    const second = await gw.api(`/api/v1/devices?site=paging&limit=5&cursor=${first.body.next}`);
    expect(second.body.items[0].id).toBe('pg-05');

    const audit = await walk('/api/v1/audit', (e) => e.id);
    expect(new Set(audit.seen).size).toBe(audit.seen.length);
    expect(audit.seen.map(Number)).toEqual([...audit.seen.map(Number)].sort((a, b) => b - a));
    const models = await walk('/api/v1/models', (m) => m.id);
    expect(models.seen).toEqual([...models.seen].sort());
    expect(models.seen.length).toBeGreaterThan(20);
    const keys = await walk('/api/v1/api-keys', (k) => k.name);
    expect(keys.seen).toEqual(expect.arrayContaining(['admin', 'crew-a', 'int-a']));

    const dflt = await gw.api('/api/v1/models');
    expect(dflt.body.items.length).toBe(Math.min(100, models.seen.length));
    for (const [q, code] of [['limit=0', 'VALIDATION_FAILED'], ['limit=1001', 'VALIDATION_FAILED'], ['cursor=garbage', 'INVALID_CURSOR'], ['offset=5', 'VALIDATION_FAILED']] as const) {
      const r = await gw.api(`/api/v1/devices?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.code, q).toBe(code);
    }
  });

  it('a site with no devices is 404 for its summary', async () => {
    const r = await gw.api('/api/v1/sites/nowhere/summary');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ code: 'NOT_FOUND', details: [{ field: 'params.path' }] });
    expect((await gw.api('/api/v1/sites/paging/summary')).body.devices.total).toBe(24);
    expect((await gw.api('/api/v1/sites/paging%2Festate/summary')).body.devices.total).toBe(24);
  });
});

describe('models, API keys, integrations, operations', () => {
  it('lists models with metrics, units and examples', async () => {
    const r = await gw.api('/api/v1/models', { token: integratorToken });
    const bin = r.body.items.find((m: { id: string }) => m.id === 'generic.bin-fill');
    expect(bin).toMatchObject({ vendor: 'Generic', kind: 'bin_fill' });
    expect(bin.metrics).toContainEqual({ metric: 'fill_pct', unit: '%', type: 'number' });
    expect(bin.examples.length).toBeGreaterThan(0);
  });

  it('creates, lists and deletes API keys; a deleted key stops working', async () => {
    const k = await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'temp', role: 'integrator' } });
    expect(k.status).toBe(201);
    expect(k.body).toMatchObject({ name: 'temp', role: 'integrator', token: expect.stringMatching(/^gw_/) });
    expect((await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'temp', role: 'integrator' } })).status).toBe(409);
    expect((await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'x', role: 'root' } })).status).toBe(400);
    const list = await gw.api('/api/v1/api-keys');
    expect(list.body.items.map((x: { name: string }) => x.name)).toContain('temp');
    expect(JSON.stringify(list.body)).not.toContain(k.body.token);
    expect((await gw.api('/api/v1/devices', { token: k.body.token })).status).toBe(200);
    expect((await gw.api('/api/v1/api-keys/temp', { method: 'DELETE' })).status).toBe(204);
    expect((await gw.api('/api/v1/devices', { token: k.body.token })).status).toBe(401);
  });

  it('healthz, readyz, metrics, docs and openapi.json need no token', async () => {
    expect((await gw.api('/healthz', { token: null })).status).toBe(200);
    expect((await gw.api('/readyz', { token: null })).body).toEqual({ status: 'ready' });
    const metrics = await gw.api('/metrics', { token: null });
    for (const name of ['gateway_messages_received_total', 'gateway_messages_decoded_total', 'gateway_messages_dead_lettered_total', 'gateway_readings_written_total',
      'gateway_write_batch_seconds', 'gateway_spool_depth', 'gateway_connected_clients', 'gateway_auth_refusals_total', 'gateway_alerts_open']) {
      expect(metrics.text, name).toContain(name);
    }
    expect(metrics.text).toMatch(/gateway_messages_dead_lettered_total\{model="generic.bin-fill"\} [1-9]/);
    // the embedded store's checkpoint thread (store.sqlite.checkpointEveryMs, on by default)
    expect(metrics.text).toMatch(/^gateway_sqlite_checkpointer_up 1$/m);
    expect(metrics.text).toMatch(/^gateway_sqlite_writer_thread_up 1$/m);
    expect(metrics.text).toMatch(/^gateway_sqlite_checkpoints_total \d+$/m);
    // process metrics once prefixed, HTTP requests by route pattern and status
    expect(metrics.text).toContain('gateway_process_cpu_user_seconds_total');
    expect(metrics.text).not.toContain('gateway_process_process_');
    expect(metrics.text).toMatch(/gateway_http_requests_total\{route="\/api\/v1\/devices\/\{id\}",method="GET",status="404"\} [1-9]/);
    expect(metrics.text).toMatch(/gateway_http_request_duration_seconds_count\{route="\/api\/v1\/devices",method="POST",status="201"\} [1-9]/);
    expect(metrics.text).toMatch(/gateway_http_requests_total\{route="\/api\/v1\/sites\/\{path\}\/summary",method="GET",status="404"\} [1-9]/);
    expect(metrics.text).toMatch(/gateway_http_requests_total\{route="unmatched",method="GET",status="404"\} [1-9]/);
    // never a raw URL: ids and paths are not label values
    expect(metrics.text).not.toMatch(/route="[^"]*(nope|bin-001|nowhere)/);
    const spec = await gw.api('/openapi.json', { token: null });
    expect(spec.body.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.body.paths)).toEqual(expect.arrayContaining(['/api/v1/devices', '/api/v1/telemetry', '/api/v1/devices/{id}/latest']));
    const docs = await fetch(`${gw.http}/docs`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });
});
