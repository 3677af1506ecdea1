/** CONTRACT "Starting": embedded defaults, admin bootstrap, config errors (exit 2, one line), graceful SIGTERM. */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { apiClient, spawnGateway, tempDir } from '../helpers/gateway.js';
import { connect, publish } from '../helpers/mqtt.js';

const dirs: string[] = [];
const dir = () => { const d = tempDir('gw-start-'); dirs.push(d); return d; };
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('start-up', () => {
  it('generates an admin token on first start, prints it once, writes admin.token 0600', async () => {
    const dataDir = dir();
    const g = await spawnGateway({ GATEWAY_DATA_DIR: dataDir });
    const file = join(dataDir, 'admin.token');
    const token = readFileSync(file, 'utf8').trim();
    expect(token).toMatch(/^gw_[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(g.stdout()).toContain(token);
    expect((await apiClient(g.http)('/api/v1/devices', { token })).status).toBe(200);
    g.proc.kill('SIGTERM');
    expect((await g.exited).code).toBe(0);
    // second start: no new token printed, the old one still works
    const g2 = await spawnGateway({ GATEWAY_DATA_DIR: dataDir });
    expect(g2.stdout()).not.toContain('Admin API token');
    expect((await apiClient(g2.http)('/api/v1/devices', { token })).status).toBe(200);
    g2.proc.kill('SIGINT');
    expect((await g2.exited).code).toBe(0);
  });

  it.each([
    [{ GATEWAY_HTTP_PORT: 'eighty' }, /^gateway: invalid configuration: GATEWAY_HTTP_PORT: /],
    [{ GATEWAY_MQTT_PORT: '70000' }, /^gateway: invalid configuration: GATEWAY_MQTT_PORT: /],
    [{ GATEWAY_LOG_LEVEL: 'loud' }, /^gateway: invalid configuration: GATEWAY_LOG_LEVEL: /],
  ])('exits 2 with one line naming the key for %o', async (env, line) => {
    const g = await spawnGateway({ GATEWAY_DATA_DIR: dir(), ...env }, { waitReady: false });
    const { code } = await g.exited;
    expect(code).toBe(2);
    const err = g.stderr().trim();
    expect(err.split('\n')).toHaveLength(1);
    expect(err).toMatch(line);
  });

  it('a busy port stops start-up with exit 2 before an admin token is made', async () => {
    const d = dir();
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      for (const env of [{ GATEWAY_HTTP_PORT: String(port) }, { GATEWAY_MQTT_PORT: String(port) }] as Array<Record<string, string>>) {
        const g = await spawnGateway({ GATEWAY_DATA_DIR: d, ...env }, { waitReady: false });
        expect((await g.exited).code).toBe(2);
        expect(g.stderr().trim()).toMatch(new RegExp(`^gateway: cannot listen: .*EADDRINUSE.*${port}`));
        expect(g.stdout()).not.toContain('Admin API token');
        expect(existsSync(join(d, 'admin.token'))).toBe(false);
      }
      // and the next start, on a free port, makes the one token
      const g = await spawnGateway({ GATEWAY_DATA_DIR: d });
      expect(g.stdout()).toContain('Admin API token');
      expect(existsSync(join(d, 'admin.token'))).toBe(true);
      g.proc.kill('SIGTERM');
      expect((await g.exited).code).toBe(0);
    } finally {
      busy.close();
    }
  }, 120_000);

  it('names the config-file key that fails validation', async () => {
    const d = dir();
    const cfg = join(d, 'gateway.yaml');
    for (const [yaml, key] of [
      ['store:\n  type: mongodb\n', 'store.type'],
      ['store:\n  type: influx-v2\n', 'store.influx.org: required for store.type influx-v2'],
      ['store:\n  type: influx-v1\n  influx:\n    url: 8086\n', 'store.influx.url'],
      ['retention:\n  timezone: Mars/Olympus\n', 'retention.timezone: not an IANA time zone'],
      ['retention:\n  schedule: every hour\n', 'retention.schedule: not a cron expression'],
      ['mqtt:\n  port: -1\n', 'mqtt.port'],
      ['notify:\n  webhooks:\n    - url: not-a-url\n      secret: x\n', 'notify.webhooks.0.url'],
      ['unknownKey: 1\n', 'unknownKey'],
      ['store: [\n', 'not valid YAML'],
      ['http:\n  port: 8080\n  host: [1\n', 'not valid YAML/JSON at line 4, column 1'],
      ['http:\n\tport: 8080\n', 'at line 2, column 1'],
    ] as const) {
      writeFileSync(cfg, yaml);
      const g = await spawnGateway({ GATEWAY_DATA_DIR: d, GATEWAY_CONFIG: cfg }, { waitReady: false });
      expect((await g.exited).code, yaml).toBe(2);
      const err = g.stderr().trim();
      expect(err.split('\n'), err).toHaveLength(1);
      expect(err, yaml).toContain(key);
    }
  }, 180_000);

  it('a bad alert rule stops start-up with one line naming the rule', async () => {
    const d = dir();
    const rules = join(d, 'rules.yaml');
    writeFileSync(rules, 'rules:\n  - id: ph_out_of_range\n    severity: urgent\n    conditions: [{ type: above, metric: ph, threshold: 8.5, clear: 8.4 }]\n    message: x\n');
    const cfg = join(d, 'gateway.yaml');
    writeFileSync(cfg, `rulesFile: ${rules}\n`);
    const g = await spawnGateway({ GATEWAY_DATA_DIR: d, GATEWAY_CONFIG: cfg }, { waitReady: false });
    expect((await g.exited).code).toBe(2);
    const err = g.stderr().trim();
    expect(err.split('\n')).toHaveLength(1);
    expect(err).toMatch(/rule ph_out_of_range: severity/);
  });

  it('accepts a JSON config file and the env overrides it', async () => {
    const d = dir();
    const cfg = join(d, 'gateway.json');
    writeFileSync(cfg, JSON.stringify({ http: { port: 1 }, logLevel: 'warn' }));
    const g = await spawnGateway({ GATEWAY_DATA_DIR: d, GATEWAY_CONFIG: cfg, GATEWAY_ADMIN_TOKEN: 'json-config-admin-token' });
    expect((await apiClient(g.http)('/api/v1/devices', { token: 'json-config-admin-token' })).status).toBe(200);
    g.proc.kill('SIGTERM');
    expect((await g.exited).code).toBe(0);
  });

  it('SIGTERM flushes what was acknowledged and exits 0', async () => {
    const d = dir();
    const g = await spawnGateway({ GATEWAY_DATA_DIR: d, GATEWAY_ADMIN_TOKEN: 'sigterm-admin-token-123' });
    const api = apiClient(g.http);
    const dev = await api('/api/v1/devices', { method: 'POST', token: 'sigterm-admin-token-123', json: { id: 'em-1', model: 'generic.electricity-meter' } });
    const c = await connect(g.mqttPort, { username: 'em-1', password: dev.body.credentials.password });
    const base = Date.parse('2026-11-22T00:00:00Z');
    await Promise.all(Array.from({ length: 200 }, (_, i) => publish(c, 'devices/em-1/up', JSON.stringify({ ts: base + i * 1000, energy_import_kwh: i }))));
    g.proc.kill('SIGTERM');
    expect((await g.exited).code).toBe(0);
    c.end(true);
    const g2 = await spawnGateway({ GATEWAY_DATA_DIR: d, GATEWAY_ADMIN_TOKEN: 'sigterm-admin-token-123' });
    const pts = await apiClient(g2.http)('/api/v1/telemetry?device=em-1&metric=energy_import_kwh&limit=1000', { token: 'sigterm-admin-token-123' });
    expect(pts.body.points).toHaveLength(200);
    g2.proc.kill('SIGTERM');
    await g2.exited;
  });
});
