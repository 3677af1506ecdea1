/**
 * InfluxDB 2 in a container (testcontainers): the v2 writer, Flux queries, the spool and
 * the rollup tasks against the real server. Needs a Docker engine: `npm run test:docker`.
 * Without one every test here fails with a message that says so (this suite is not part of
 * `npm test`, whose servers are all Debian packages).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenericContainer, Wait, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';

const TOKEN = 'estate-test-token';
let container: StartedTestContainer;
let sqliteGw: TestGateway;
let gw: TestGateway;
let url: string;

beforeAll(async () => {
  try {
    await getContainerRuntimeClient();
  } catch (err) {
    throw new Error(`NO DOCKER ENGINE: the InfluxDB 2 tests cannot run here (${(err as Error).message.split('\n')[0]}). They need Docker; the InfluxDB 1.x tests of npm test run against Debian's influxd.`);
  }
  container = await new GenericContainer('influxdb:2.7')
    .withEnvironment({
      DOCKER_INFLUXDB_INIT_MODE: 'setup', DOCKER_INFLUXDB_INIT_USERNAME: 'estate', DOCKER_INFLUXDB_INIT_PASSWORD: 'estate-password',
      DOCKER_INFLUXDB_INIT_ORG: 'estate', DOCKER_INFLUXDB_INIT_BUCKET: 'telemetry', DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: TOKEN,
    })
    .withExposedPorts(8086)
    .withWaitStrategy(Wait.forHttp('/health', 8086).forStatusCode(200))
    .start();
  url = `http://${container.getHost()}:${container.getMappedPort(8086)}`;
  sqliteGw = await startGateway();
  gw = await startGateway({ config: { store: { type: 'influx-v2', influx: { url, org: 'estate', bucket: 'telemetry', token: TOKEN, timeoutMs: 3000 } } } });
});

afterAll(async () => {
  await gw?.stop();
  await sqliteGw?.stop();
  await container?.stop();
});

describe('InfluxDB 2 store (Docker)', () => {
  it('answers REST telemetry and latest exactly as the SQLite store', async () => {
    const log = [['2026-11-21T15:00:00Z', 100], ['2026-11-21T17:00:00Z', 103.5], ['2026-11-22T04:00:00Z', 0], ['2026-11-22T06:00:00Z', 4]] as const;
    for (const g of [sqliteGw, gw]) {
      const r = await g.api('/api/v1/devices', { method: 'POST', json: { id: 'wm-1', model: 'generic.water-meter', site: 'a/b/c' } });
      const c = await connect(g.mqttPort, { username: 'wm-1', password: r.body.credentials.password, clientId: 'wm-1' });
      await publish(c, 'devices/wm-1/up', JSON.stringify(log.map(([ts, v]) => ({ ts, water_volume_m3: v }))));
      c.end();
    }
    for (const q of [
      '/api/v1/telemetry?device=wm-1&metric=water_volume_m3',
      '/api/v1/telemetry?device=wm-1&metric=water_volume_m3&from=2026-11-21T16:00:00Z&to=2026-11-23T16:00:00Z&every=1d&agg=delta&tz=Asia/Shanghai',
      '/api/v1/devices/wm-1/latest',
    ]) {
      const [a, b] = await Promise.all([sqliteGw.api(q), gw.api(q)]);
      expect(b.body, q).toEqual(a.body);
    }
  });

  it('spools while InfluxDB 2 is paused and drains in order when it is back', async () => {
    const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'wq-1', model: 'generic.water-quality', site: 'a/b' } });
    const c = await connect(gw.mqttPort, { username: 'wq-1', password: r.body.credentials.password, clientId: 'wq-1' });
    await container.exec(['kill', '-STOP', '1']);
    const base = Date.parse('2026-11-23T00:00:00Z');
    for (let i = 0; i < 20; i++) await publish(c, 'devices/wq-1/up', JSON.stringify({ ts: base + i * 60_000, ph: 7 + i / 100 }));
    c.end();
    expect((await gw.api('/readyz', { token: null })).body.status).toBe('degraded');
    await container.exec(['kill', '-CONT', '1']);
    await eventually(async () => (await gw.api('/readyz', { token: null })).body.status === 'ready', 60_000, 500);
    const points = (await gw.api('/api/v1/telemetry?device=wq-1&metric=ph')).body.points;
    expect(points.map((p: { value: number }) => p.value)).toEqual(Array.from({ length: 20 }, (_, i) => 7 + i / 100));
  });

  it('created the rollup buckets and tasks', async () => {
    const res = await fetch(`${url}/api/v2/tasks?org=estate`, { headers: { authorization: `Token ${TOKEN}` } });
    const names = ((await res.json()) as { tasks: Array<{ name: string }> }).tasks.map((t) => t.name).sort();
    expect(names).toEqual(['rollup telemetry_1d', 'rollup telemetry_1h']);
  });
});
