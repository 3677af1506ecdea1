/**
 * The files for running the gateway with Docker (no Docker engine runs here): the compose
 * file, the image's Dockerfile, the gateway config it mounts, Grafana's provisioning and
 * dashboards agree with each other, with the config schema and with the vocabulary.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ConfigSchema } from '../../src/config.js';
import { VOCABULARY } from '../../src/core/vocabulary.js';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../helpers/gateway.js';

const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const compose = YAML.parse(read('docker-compose.yml'));
const defaultOf = (expr: string) => /:-([^}]*)\}/.exec(expr)?.[1];

describe('docker-compose.yml and docker/', () => {
  it('runs the gateway, InfluxDB 2 and Grafana, with Mosquitto and EMQX as optional profiles', () => {
    const merged = YAML.parse(read('docker-compose.yml'), { merge: true });
    expect(Object.keys(merged.services).filter((s) => !merged.services[s].profiles?.includes('cluster')).sort()).toEqual(['emqx', 'gateway', 'grafana', 'influxdb', 'mosquitto']);
    for (const s of ['gateway', 'influxdb', 'grafana']) expect(compose.services[s].profiles, s).toBeUndefined();
    expect(compose.services.mosquitto.profiles).toEqual(['upstream']);
    expect(compose.services.emqx.profiles).toEqual(['emqx']);
    expect(compose.services.gateway.build.dockerfile).toBe('docker/Dockerfile');
    for (const v of [...compose.services.gateway.volumes, ...compose.services.grafana.volumes, ...compose.services.mosquitto.volumes]) {
      const host = String(v).split(':')[0]!;
      if (host.startsWith('./')) expect(existsSync(join(ROOT, host)), host).toBe(true);
    }
  });

  it('the Dockerfile copies what exists and starts what npm start starts', () => {
    const df = read('docker/Dockerfile');
    for (const m of df.matchAll(/^COPY (?!--from)(.+) \.\/?\S*$/gm)) {
      for (const src of m[1]!.split(' ')) expect(existsSync(join(ROOT, src)), src).toBe(true);
    }
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(df)![1]!) as string[];
    // `exec`: the shell npm runs the script in is replaced by node, so npm's forwarded SIGTERM reaches the gateway
    expect(`exec ${cmd.join(' ')}`).toBe(JSON.parse(read('package.json')).scripts.start);
  });

  it('the gateway config it mounts is valid and matches the InfluxDB it starts', () => {
    const cfg = ConfigSchema.parse(YAML.parse(read('docker/gateway.yaml')));
    const env = compose.services.influxdb.environment;
    expect(cfg.store.type).toBe('influx-v2');
    expect(cfg.store.influx.url).toBe('http://influxdb:8086');
    expect(cfg.store.influx.token).toBe(defaultOf(env.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN));
    expect(cfg.store.influx.org).toBe(defaultOf(env.DOCKER_INFLUXDB_INIT_ORG));
    expect(cfg.store.influx.bucket).toBe(defaultOf(env.DOCKER_INFLUXDB_INIT_BUCKET));
    expect(compose.services.gateway.environment.GATEWAY_CONFIG).toBe('/app/docker/gateway.yaml');
  });

  it('Grafana: a provisioned InfluxDB data source and one dashboard per kind, querying vocabulary metrics', () => {
    const ds = YAML.parse(read('docker/grafana/provisioning/datasources/influxdb.yaml')).datasources[0];
    expect(ds).toMatchObject({ type: 'influxdb', url: 'http://influxdb:8086', jsonData: { version: 'Flux' } });
    const files = readdirSync(join(ROOT, 'docker/grafana/dashboards')).sort();
    expect(files).toEqual(['bins.json', 'doors.json', 'meters.json', 'parking.json', 'water-quality.json']);
    const uids = new Set<string>();
    for (const f of files) {
      const d = JSON.parse(read(`docker/grafana/dashboards/${f}`));
      uids.add(d.uid);
      expect(d.panels.length, f).toBeGreaterThanOrEqual(3);
      for (const p of d.panels) {
        expect(p.datasource.uid, `${f}: ${p.title}`).toBe(ds.uid);
        const q: string = p.targets[0].query;
        expect(q, `${f}: ${p.title}`).toContain('from(bucket: "telemetry")');
        for (const m of q.matchAll(/_measurement == "([^"]+)"/g)) expect(VOCABULARY[m[1]!], `${f}: ${m[1]}`).toBeDefined();
      }
    }
    expect(uids.size).toBe(files.length);
  });

  describe('the cluster profile', () => {
    // compose merges `<<:` anchors; so does this parse
    const merged = YAML.parse(read('docker-compose.yml'), { merge: true });
    const cluster = Object.entries(merged.services as Record<string, any>).filter(([, s]) => s.profiles?.includes('cluster'));
    const haproxyCfg = read('docker/haproxy.cfg');

    it('three gateways on one PostgreSQL and one Redis behind HAProxy on 1883 and 8080', () => {
      expect(cluster.map(([n]) => n).sort()).toEqual(['gateway-1', 'gateway-2', 'gateway-3', 'haproxy', 'postgres', 'redis']);
      const pgEnv = merged.services.postgres.environment;
      const ids = new Set<string>();
      for (const n of ['gateway-1', 'gateway-2', 'gateway-3']) {
        const g = merged.services[n];
        expect(g.build.dockerfile, n).toBe('docker/Dockerfile');
        expect(g.depends_on, n).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
        const env = g.environment;
        ids.add(env.GATEWAY_NODE_ID);
        expect(env.GATEWAY_NODE_ID, n).toBe(n);
        expect(env.GATEWAY_REDIS_URL, n).toBe('redis://redis:6379');
        const url = new URL(env.GATEWAY_POSTGRES_URL.replace(/\$\{[^}]*\}/, defaultOf(pgEnv.POSTGRES_PASSWORD)!));
        expect([url.hostname, url.port, url.username, url.password, url.pathname], n).toEqual(['postgres', '5432', pgEnv.POSTGRES_USER, defaultOf(pgEnv.POSTGRES_PASSWORD), `/${pgEnv.POSTGRES_DB}`]);
        expect(g.ports, n).toBeUndefined(); // reached through HAProxy only
        const cfgMount = g.volumes.find((v: string) => v.startsWith('./docker/gateway-cluster.yaml:'));
        expect(cfgMount.split(':')[1], n).toBe(env.GATEWAY_CONFIG);
        expect(g.volumes.some((v: string) => v.endsWith(':/data')), n).toBe(true);
      }
      expect(ids.size).toBe(3);
      expect(merged.services.haproxy.ports).toEqual(expect.arrayContaining(['1883:1883', '8080:8080']));
      expect(merged.services.haproxy.volumes).toEqual(['./docker/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro']);
      expect(merged.services.postgres.image).toMatch(/^postgres:15/);
      expect(merged.services.redis.image).toMatch(/^redis:7/);
      for (const k of Object.keys(merged.volumes)) expect(k).toMatch(/^[a-z0-9-]+$/);
    });

    it('the cluster gateway config is valid: PostgreSQL store, URLs from the environment', () => {
      const cfg = ConfigSchema.parse(YAML.parse(read('docker/gateway-cluster.yaml')));
      expect(cfg.store.type).toBe('postgres');
      expect(cfg.store.postgres.url).toBeUndefined(); // defaults to GATEWAY_POSTGRES_URL
      expect(cfg.cluster.postgres.leaseMs + cfg.cluster.postgres.heartbeatMs).toBeLessThanOrEqual(10_000); // CONTRACT: take-over within 10 s
    });

    it('HAProxy: MQTT in TCP mode and HTTP, every gateway in both backends, checked on /readyz', () => {
      const section = (name: string) => new RegExp(`^(?:backend|frontend) ${name}\\n([\\s\\S]*?)(?=^\\S|(?![\\s\\S]))`, 'm').exec(haproxyCfg)?.[1] ?? '';
      expect(section('mqtt')).toMatch(/bind :1883\n\s+mode tcp/);
      expect(section('http')).toMatch(/bind :8080\n\s+mode http/);
      for (const [b, port] of [['gateways_mqtt', 1883], ['gateways_http', 8080]] as const) {
        const body = section(b);
        expect(body, b).toContain('option httpchk GET /readyz');
        expect(body, b).toContain('http-check expect status 200');
        const servers = [...body.matchAll(/^\s+server (\S+) (\S+):(\d+) check/gm)].map((m) => [m[1], m[2], Number(m[3])]);
        expect(servers, b).toEqual(['gateway-1', 'gateway-2', 'gateway-3'].map((n) => [n, n, port]));
        if (port === 1883) for (const l of body.split('\n').filter((x) => x.includes('server '))) expect(l).toContain('check port 8080');
      }
    });

    it('haproxy -c accepts docker/haproxy.cfg (only the compose host names do not resolve here)', () => {
      const r = spawnSync('haproxy', ['-c', '-f', join(ROOT, 'docker/haproxy.cfg')], { encoding: 'utf8' });
      if (r.error) throw new Error(`haproxy is not installed (apt-get install -y haproxy): ${r.error.message}`);
      const out = r.stdout + r.stderr;
      expect(r.status, out).toBe(0);
      expect(out).toContain('Configuration file is valid');
      const warnings = out.split('\n').filter((l) => l.includes('[WARNING]'));
      for (const w of warnings) expect(w).toMatch(/could not resolve address 'gateway-[123]'/);
      expect(out).not.toContain('[ALERT]');
    });
  });
});
