/**
 * Every limit at the edges, attempted with a real client: TLS (and client certificates),
 * WebSocket, packet size, publish rate, connection cap, failed-login delay, REST body size,
 * per-key rate limit, security headers, audit log.
 */
import { request as httpsRequest } from 'node:https';
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { freePort, startGateway, tempDir, type TestGateway } from '../helpers/gateway.js';
import { connect, mosquitto, publish } from '../helpers/mqtt.js';
import { makePki, type TestPki } from '../helpers/certs.js';

let gw: TestGateway;
let pki: TestPki;
const pkiDir = tempDir('gw-pki-');
let secret: string;

const metric = async (re: RegExp) => Number(re.exec((await gw.api('/metrics', { token: null })).text)?.[1] ?? 0);

beforeAll(async () => {
  pki = makePki(pkiDir);
  gw = await startGateway({
    config: {
      http: { host: '127.0.0.1', port: 0, tls: { cert: pki.cert, key: pki.key }, bodyLimitBytes: 4096, rateLimitPerMinute: 40 },
      mqtt: {
        host: '127.0.0.1', port: 0, maxPacketBytes: 2048, maxConnections: 6,
        rateLimit: { devicePerSecond: 5, deviceBurst: 10 },
        loginThrottle: { baseDelayMs: 300, maxDelayMs: 2000, forgetAfterS: 60 },
        tls: { port: await freePort(), cert: pki.cert, key: pki.key, ca: pki.ca, clientCertificates: 'optional' },
        ws: { port: await freePort(), path: '/mqtt' },
      },
    },
  });
  // the test client trusts the throwaway CA
  gw.api = ((base) => async (path: string, init: RequestInit & { token?: string | null; json?: unknown } = {}) => {
    const headers: Record<string, string> = {};
    const token = init.token === undefined ? 'test-admin-token-0123456789' : init.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined = init.body as string | undefined;
    if (init.json !== undefined) { headers['content-type'] = 'application/json'; body = JSON.stringify(init.json); }
    return new Promise((resolve, reject) => {
      const req = httpsRequest(base + path, { method: init.method ?? 'GET', headers: { ...headers, ...(init.headers as Record<string, string> ?? {}) }, ca: readFileSync(pki.ca) }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let parsed: unknown;
          try { parsed = JSON.parse(text); } catch { /* not JSON */ }
          resolve({ status: res.statusCode!, body: parsed as any, text, headers: new Headers(res.headers as Record<string, string>) });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  })(gw.http.replace('http:', 'https:'));
  const d = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'tls-dev', model: 'generic.water-quality' } });
  expect(d.status).toBe(201);
  secret = d.body.credentials.password;
  await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'cert-dev', model: 'generic.water-quality' } });
});
afterAll(async () => {
  await gw?.stop();
  rmSync(pkiDir, { recursive: true, force: true });
});

describe('TLS', () => {
  it('serves the API over HTTPS with security headers', async () => {
    const r = await gw.api('/healthz', { token: null });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('strict-transport-security')).toMatch(/max-age/);
    expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('accepts mosquitto_pub over mqtts with --cafile, and refuses a client that does not trust the CA', async () => {
    const port = String(gw.gateway.ports.mqtts);
    const ok = await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '--cafile', pki.ca, '-u', 'tls-dev', '-P', secret, '-q', '1', '-t', 'devices/tls-dev/up', '-m', '{"ph": 7.3}']);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await gw.api('/api/v1/devices/tls-dev/latest')).body.readings.ph.value).toBe(7.3);
    const untrusted = await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '--capath', '/nonexistent', '-u', 'tls-dev', '-P', secret, '-q', '1', '-t', 'devices/tls-dev/up', '-m', '{}']);
    expect(untrusted.code).not.toBe(0);
  });

  it('logs a device in by its client certificate (CN = device id) without a password', async () => {
    const c = pki.client('cert-dev');
    const r = await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(gw.gateway.ports.mqtts), '--cafile', pki.ca, '--cert', c.cert, '--key', c.key, '-q', '1', '-t', 'devices/cert-dev/up', '-m', '{"ph": 7.4}']);
    expect(r.code, r.stderr).toBe(0);
    expect((await gw.api('/api/v1/devices/cert-dev/latest')).body.readings.ph.value).toBe(7.4);
    // the certificate names cert-dev: it may not act as tls-dev
    const other = await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(gw.gateway.ports.mqtts), '--cafile', pki.ca, '--cert', c.cert, '--key', c.key, '-u', 'tls-dev', '-P', 'wrong', '-q', '1', '-t', 'devices/tls-dev/up', '-m', '{}']);
    expect(other.code).not.toBe(0);
  });

  it('speaks MQTT over WebSocket for browser clients', async () => {
    const c = await mqtt.connectAsync(`ws://127.0.0.1:${gw.gateway.ports.ws}/mqtt`, { username: 'tls-dev', password: secret, reconnectPeriod: 0 });
    await c.publishAsync('devices/tls-dev/up', '{"ph": 7.5}', { qos: 1 });
    await c.endAsync();
    expect((await gw.api('/api/v1/devices/tls-dev/latest')).body.readings.ph.value).toBe(7.5);
  });
});

describe('MQTT limits', () => {
  it('closes a connection that announces a packet above mqtt.maxPacketBytes, and counts it', async () => {
    const before = await metric(/gateway_auth_refusals_total\{action="publish",reason="packet_too_large"\} (\d+)/);
    const c = await connect(gw.mqttPort, { username: 'tls-dev', password: secret });
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('devices/tls-dev/up', Buffer.alloc(100_000, 0x20), { qos: 1 });
    await closed;
    c.end(true);
    expect(await metric(/gateway_auth_refusals_total\{action="publish",reason="packet_too_large"\} (\d+)/)).toBe(before + 1);
    const dead = await gw.api('/api/v1/dead-letters?device=tls-dev');
    expect(dead.body.items).toEqual([]);
  });

  it('disconnects a device publishing above its rate, with the reason counted', async () => {
    const c = await connect(gw.mqttPort, { username: 'tls-dev', password: secret });
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    let acked = 0;
    for (let i = 0; i < 40; i++) c.publish('devices/tls-dev/up', JSON.stringify({ ts: 1_700_000_000_000 + i, ph: 7 }), { qos: 1 }, (err) => { if (!err) acked++; });
    await closed;
    c.end(true);
    expect(acked).toBeLessThanOrEqual(11);
    expect(await metric(/gateway_auth_refusals_total\{action="publish",reason="rate_limited"\} (\d+)/)).toBeGreaterThan(0);
  });

  it('refuses connections beyond mqtt.maxConnections with CONNACK 3', async () => {
    const clients = [];
    for (let i = 0; i < 6; i++) clients.push(await connect(gw.mqttPort, { username: 'tls-dev', password: secret, clientId: `cap-${i}` }));
    const r = await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(gw.mqttPort), '-u', 'tls-dev', '-P', secret, '-q', '1', '-t', 'devices/tls-dev/up', '-m', '{}']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unavailable/i);
    expect(await metric(/gateway_auth_refusals_total\{action="connect",reason="max_connections"\} (\d+)/)).toBeGreaterThan(0);
    await Promise.all(clients.map((c) => c.endAsync()));
  });

  it('slows down repeated failed logins for a username', async () => {
    const attempt = async () => {
      const t0 = Date.now();
      await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(gw.mqttPort), '-u', 'cert-dev', '-P', 'guess', '-q', '1', '-t', 'x', '-m', '{}']);
      return Date.now() - t0;
    };
    await attempt();
    await attempt();
    const before = await metric(/gateway_auth_refusals_total\{action="connect",reason="bad_credentials"\} (\d+)/);
    const third = await attempt();
    expect(third).toBeGreaterThanOrEqual(600); // 300 ms x 2^(2-1) before the check, plus the address delay after it
    expect(await metric(/gateway_auth_refusals_total\{action="connect",reason="bad_credentials"\} (\d+)/)).toBe(before + 1);
  });
});

describe('REST limits and audit', () => {
  it('413 for a body above http.bodyLimitBytes, naming the limit', async () => {
    const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'big', model: 'generic.parking', name: 'x'.repeat(5000) } });
    expect(r.status).toBe(413);
    expect(r.body.error).toContain('4096');
    expect(r.body.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await metric(/gateway_http_refusals_total\{reason="body_too_large"\} (\d+)/)).toBe(1);
  });

  it('records provisioning and rotation in the audit log', async () => {
    await gw.api('/api/v1/devices/tls-dev/credentials', { method: 'POST' });
    const a = await gw.api('/api/v1/audit?action=device.*');
    expect(a.body.items.map((i: { action: string; target: string; actor: string }) => [i.action, i.target, i.actor])).toEqual(expect.arrayContaining([
      ['device.create', 'tls-dev', 'admin'], ['device.rotate-credentials', 'tls-dev', 'admin'],
    ]));
  });

  it('429 once a key exceeds http.rateLimitPerMinute', async () => {
    let last = { status: 200, body: undefined as any };
    for (let i = 0; i < 60 && last.status !== 429; i++) last = await gw.api('/api/v1/models');
    expect(last.status).toBe(429);
    expect(last.body).toMatchObject({ code: 'RATE_LIMITED', error: expect.stringContaining('rate limit') });
    expect(await metric(/gateway_http_refusals_total\{reason="rate_limited"\} (\d+)/)).toBeGreaterThan(0);
  });
});
