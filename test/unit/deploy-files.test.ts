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
import { ROOT } from '../helpers/gateway.js';

const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const compose = YAML.parse(read('docker-compose.yml'));
const defaultOf = (expr: string) => /:-([^}]*)\}/.exec(expr)?.[1];

describe('docker-compose.yml and docker/', () => {
  it('runs the gateway, InfluxDB 2 and Grafana, with Mosquitto and EMQX as optional profiles', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['emqx', 'gateway', 'grafana', 'influxdb', 'mosquitto']);
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
});
