/** Faults: the store locked by another process, a webhook that hangs, an upstream broker that flaps. */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { ROOT, freePort, startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, mosquitto, publish } from '../helpers/mqtt.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => { for (const c of cleanups.reverse()) await c(); });

describe('the store locked by another process', () => {
  it('withholds PUBACKs while SQLite is locked past its busy timeout, then stores everything once the lock is gone', async () => {
    const gw = await startGateway();
    cleanups.push(() => gw.stop());
    const d = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'wq-lock', model: 'generic.water-quality' } });
    const c = mqtt.connect(`mqtt://127.0.0.1:${gw.mqttPort}`, { username: 'wq-lock', password: d.body.credentials.password, clientId: 'wq-lock', clean: false, reconnectPeriod: 200 });
    c.on('error', () => {});
    await new Promise<void>((r) => c.once('connect', () => r()));
    const lock = new Database(join(gw.dataDir, 'gateway.db'));
    lock.exec('BEGIN EXCLUSIVE');
    const acked: number[] = [];
    const base = Date.now() - 3_600_000; // within the raw retention (older readings go to the rollups)
    for (let i = 0; i < 5; i++) c.publish('devices/wq-lock/up', JSON.stringify({ ts: base + i, ph: 7 }), { qos: 1 }, (err) => { if (!err) acked.push(i); });
    await new Promise((r) => setTimeout(r, 6500)); // beyond busy_timeout (5 s): the commit fails
    expect(acked).toEqual([]);
    expect((await gw.api('/readyz', { token: null })).status).toBe(503);
    lock.exec('ROLLBACK');
    lock.close();
    // MQTT.js resends the unacknowledged QoS 1 messages after reconnecting
    await eventually(() => acked.length === 5, 15_000, 100);
    const pts = (await gw.api('/api/v1/telemetry?device=wq-lock&metric=ph')).body.points;
    expect(pts).toHaveLength(5);
    expect((await gw.api('/readyz', { token: null })).status).toBe(200);
    c.end(true);
  }, 40_000);
});

describe('a webhook endpoint that hangs', () => {
  it('times out, retries with backoff, and delivers once the endpoint answers; ingest never waits for it', async () => {
    let hang = true;
    const got: string[] = [];
    const port = await freePort();
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (hang) return; // never answers
        got.push(JSON.parse(body).event);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
    const gw: TestGateway = await startGateway({ config: { notify: { webhooks: [{ url: `http://127.0.0.1:${port}/hook`, secret: 'x' }], retry: { initialMs: 100, maxMs: 400, timeoutMs: 300 } } } });
    cleanups.push(() => gw.stop());
    const d = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'bin-h', model: 'generic.bin-fill' } });
    const c = await connect(gw.mqttPort, { username: 'bin-h', password: d.body.credentials.password });
    const t0 = Date.now();
    await publish(c, 'devices/bin-h/up', '{"fill_pct": 90}');
    await publish(c, 'devices/bin-h/up', '{"fill_pct": 2}');
    expect(Date.now() - t0).toBeLessThan(1000); // PUBACKs do not wait for webhooks
    await eventually(async () => {
      const rows = (await gw.api('/api/v1/webhooks/deliveries')).body.items as any[];
      return rows.some((r) => r.attempts >= 2 && /timeout/.test(r.lastError ?? ''));
    }, 5000);
    hang = false;
    await eventually(() => got.length === 2, 5000);
    expect(got).toEqual(['alert.opened', 'alert.resolved']);
    const m = (await gw.api('/metrics', { token: null })).text;
    expect(Number(/gateway_notifications_total\{channel="webhook",result="failed"\} (\d+)/.exec(m)?.[1])).toBeGreaterThanOrEqual(2);
    expect(Number(/gateway_notifications_total\{channel="webhook",result="delivered"\} (\d+)/.exec(m)?.[1])).toBe(2);
    await c.endAsync();
  });
});

describe('an upstream broker that flaps', () => {
  it('reconnects and goes on ingesting after the broker restarts', async () => {
    let broker: Mosquitto = await startMosquitto();
    const port = broker.port;
    cleanups.push(() => broker.stop());
    const gw = await startGateway({ config: { sources: [{ name: 'site', url: `mqtt://127.0.0.1:${port}`, topics: ['v3/+/devices/+/up'], format: 'ttn-v3' }] } });
    cleanups.push(() => gw.stop());
    await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'dev1', model: 'generic.bin-fill' } });
    const sample = JSON.parse(readFileSync(join(ROOT, '../shared/corpus/ttn-v3-uplink.json'), 'utf8'));
    const env = (fill: number) => {
      const e = structuredClone(sample);
      delete e.end_device_ids.dev_eui;
      e.uplink_message.f_port = 1;
      e.uplink_message.received_at = new Date(Date.now() + fill).toISOString();
      e.uplink_message.frm_payload = Buffer.from(JSON.stringify({ fill_pct: fill })).toString('base64');
      return JSON.stringify(e);
    };
    const pub = (fill: number) => mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', 'v3/a@b/devices/dev1/up', '-m', env(fill)]);
    await eventually(() => gw.gateway.sources[0]!.connected, 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect((await pub(11)).code).toBe(0);
    await eventually(async () => (await gw.api('/api/v1/devices/dev1/latest')).body.readings.fill_pct?.value === 11, 5000);
    for (let flap = 0; flap < 2; flap++) {
      await broker.stop();
      await eventually(() => !gw.gateway.sources[0]!.connected, 5000);
      // the broker comes back on the same port (a restart of the site broker)
      broker = await startMosquitto(port);
      await eventually(() => gw.gateway.sources[0]!.connected, 10_000, 100);
      await new Promise((r) => setTimeout(r, 300));
      expect((await pub(20 + flap)).code).toBe(0);
      await eventually(async () => (await gw.api('/api/v1/devices/dev1/latest')).body.readings.fill_pct?.value === 20 + flap, 5000);
    }
  }, 60_000);
});
