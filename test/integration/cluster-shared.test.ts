/**
 * Dead letters and user models shared in PostgreSQL (issue 15 items 1 and 4): two gateways
 * on one real PostgreSQL 15 and one Redis. A dead letter made through node A (a bad payload
 * over MQTT) is in PostgreSQL when its PUBACK arrives and is listed by node B with its
 * reason; the maxTotalBytes cap evicts the oldest of the shared table whichever node wrote
 * them, counted in the nodes' /metrics; a user model created on A decodes an uplink received
 * on B within 1 s, replaced on A B decodes with the new codec, deleted on A it is gone on B;
 * a stored codec that does not compile is logged and counted, and the node stays ready.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, createHash } from 'node:crypto';
import pg from 'pg';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { startRedis, type Redis } from '../helpers/redis.js';
import { startInfluxd } from '../helpers/influxd.js';

const SITE = 'jiangnan/yuhua-garden/b3';
const MiB = 1024 * 1024;
/** payloads cut to 240 KiB: four such dead letters fit in the 1 MiB cap, five do not */
const KEEP = 240 * 1024;
/** under the broker's payload limit */
const SENT = 250_000;

let pgServer: Postgres;
let redis: Redis;
let url: string;
let pool: pg.Pool;
let a: TestGateway;
let b: TestGateway;
const clients: MqttClient[] = [];
const measured: Record<string, number> = {};

const cfg = (id: string) => ({
  cluster: { nodeId: id, postgres: { url }, redis: { url: redis.url } },
  store: { type: 'postgres' },
  ingest: { deadLetters: { maxPayloadBytes: KEEP, maxTotalBytes: MiB } },
});

beforeAll(async () => {
  pgServer = await startPostgres();
  redis = await startRedis();
  url = await pgServer.createDatabase('shared');
  a = await startGateway({ config: cfg('node-a') });
  b = await startGateway({ config: cfg('node-b') });
  pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined); // the server's shutdown after the last test
}, 90_000);

afterAll(async () => {
  console.log(`cross-node latencies (ms): ${JSON.stringify(measured)}`);
  await Promise.all(clients.map((c) => c.endAsync()));
  await a?.stop();
  await b?.stop();
  await pool?.end();
  await redis?.stop();
  await pgServer?.stop();
}, 60_000);

async function provision(gw: TestGateway, id: string, model: string): Promise<string> {
  const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id, model, site: SITE } });
  expect(r.status, r.text).toBe(201);
  return r.body.credentials.password;
}

/** provisioned on `on`, connected to `via` (the registry reaches it within 1 s) */
async function device(on: TestGateway, via: TestGateway, id: string, model: string): Promise<MqttClient> {
  const password = await provision(on, id, model);
  await eventually(() => via.gateway.registry.get(id), 5000, 5);
  const c = await connect(via.mqttPort, { username: id, password, clientId: id });
  clients.push(c);
  return c;
}

interface Listed { id: string; deviceId?: string; reason: string; payloadBase64: string; payloadBytes: number; payloadSha256?: string; truncated: boolean }
async function listed(gw: TestGateway): Promise<Listed[]> {
  const out: Listed[] = [];
  let cursor: string | undefined;
  do {
    const r = await gw.api(`/api/v1/dead-letters?order=asc&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(r.status, r.text).toBe(200);
    out.push(...r.body.items);
    cursor = r.body.next ?? undefined;
  } while (cursor);
  return out;
}

async function metric(gw: TestGateway, name: string): Promise<number> {
  const text = (await gw.api('/metrics', { token: null })).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

const embeddedDeadLetters = (gw: TestGateway) => (gw.gateway.db.prepare('SELECT count(*) AS n FROM dead_letters').get() as { n: number }).n;

describe('dead letters shared in PostgreSQL', () => {
  it('a bad payload through node A is in PostgreSQL when its PUBACK arrives, and node B lists it with its reason', async () => {
    const c = await device(a, a, 'wq-bad', 'generic.water-quality');
    await publish(c, 'devices/wq-bad/up', 'ph=7.1 (not JSON)');
    // the PUBACK came: the dead letter is durable in the shared table, no waiting
    const rows = (await pool.query("SELECT device_id, reason, payload FROM dead_letters WHERE device_id = 'wq-bad'")).rows;
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0].payload).toString()).toBe('ph=7.1 (not JSON)');
    const onB = (await listed(b)).filter((d) => d.deviceId === 'wq-bad');
    expect(onB).toHaveLength(1);
    expect(onB[0]).toMatchObject({ deviceId: 'wq-bad', payloadBase64: Buffer.from('ph=7.1 (not JSON)').toString('base64'), payloadBytes: 17, truncated: false });
    expect(onB[0]!.reason).toBe(rows[0].reason);
    expect(onB[0]!.reason).toMatch(/JSON/);
    expect(await listed(a)).toEqual(await listed(b));
    // nothing of it in either node's embedded file
    expect(embeddedDeadLetters(a) + embeddedDeadLetters(b)).toBe(0);
  }, 30_000);

  it('a burst of 2000 bad payloads through A and B: every one acknowledged and in PostgreSQL, batched (one INSERT per group commit)', async () => {
    const N = 1000;
    const ca = await device(a, a, 'wq-burst-a', 'generic.water-quality');
    const cb = await device(a, b, 'wq-burst-b', 'generic.water-quality');
    const commits = async () => await metric(a, 'gateway_write_batch_messages_count') + await metric(b, 'gateway_write_batch_messages_count');
    // counts the INSERT statements on dead_letters (test-only: a statement trigger beside the gateway's)
    await pool.query(`CREATE TABLE test_dl_inserts (at timestamptz DEFAULT now());
      CREATE FUNCTION test_dl_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO test_dl_inserts DEFAULT VALUES; RETURN NULL; END $$;
      CREATE TRIGGER test_dl_insert AFTER INSERT ON dead_letters FOR EACH STATEMENT EXECUTE FUNCTION test_dl_insert();`);
    const commitsBefore = await commits();
    const t0 = Date.now();
    await Promise.all([ca, cb].flatMap((c, k) => Array.from({ length: N }, (_, i) => publish(c, `devices/wq-burst-${k === 0 ? 'a' : 'b'}/up`, `garbage ${i}`))));
    const ms = Date.now() - t0;
    measured[`${2 * N} dead letters acknowledged through two nodes`] = ms;
    const n = (await pool.query("SELECT count(*)::int AS n FROM dead_letters WHERE device_id IN ('wq-burst-a', 'wq-burst-b')")).rows[0].n;
    expect(n).toBe(2 * N);
    const used = await commits() - commitsBefore;
    const inserts = (await pool.query('SELECT count(*)::int AS n FROM test_dl_inserts')).rows[0].n;
    await pool.query('DROP TRIGGER test_dl_insert ON dead_letters; DROP FUNCTION test_dl_insert(); DROP TABLE test_dl_inserts');
    console.log(`${2 * N} dead letters in ${ms} ms, ${used} group commits, ${inserts} INSERT statements`);
    expect(used).toBeLessThan(N / 2);
    expect(inserts).toBeGreaterThan(0);
    expect(inserts).toBeLessThanOrEqual(used);
    expect(embeddedDeadLetters(a) + embeddedDeadLetters(b)).toBe(0);
  }, 60_000);

  it('the cap evicts the oldest of the shared table whichever node wrote them, counted in /metrics, listed alike on both', async () => {
    const before = (await listed(a)).length;
    const evictedBefore = await metric(a, 'gateway_dead_letters_evicted_total') + await metric(b, 'gateway_dead_letters_evicted_total');
    const ca = await device(a, a, 'wq-flood-a', 'generic.water-quality');
    const cb = await device(a, b, 'wq-flood-b', 'generic.water-quality');
    const sent: string[] = [];
    for (let i = 0; i < 7; i++) {
      // 250 kB that are not JSON, cut to 240 KiB; alternately through A and B
      const payload = Buffer.concat([Buffer.from('garbage '), randomBytes(SENT - 8)]);
      sent.push(createHash('sha256').update(payload).digest('hex'));
      await publish(i % 2 === 0 ? ca : cb, `devices/wq-flood-${i % 2 === 0 ? 'a' : 'b'}/up`, payload);
    }
    const onA = await listed(a);
    expect(await listed(b)).toEqual(onA);
    // oldest first until within 1 MiB: the earlier test's letter, then three of these; the four newest stay
    expect(onA.map((d) => d.payloadSha256)).toEqual(sent.slice(3));
    expect(onA.every((d) => d.truncated && d.payloadBytes === SENT && Buffer.from(d.payloadBase64, 'base64').length === KEEP)).toBe(true);
    const totals = (await pool.query('SELECT rows, bytes, (SELECT count(*) FROM dead_letters) AS n, (SELECT sum(size) FROM dead_letters) AS s FROM dead_letter_totals')).rows[0];
    expect(Number(totals.rows)).toBe(4);
    expect(Number(totals.rows)).toBe(Number(totals.n));
    expect(Number(totals.bytes)).toBe(Number(totals.s));
    expect(Number(totals.bytes)).toBeLessThanOrEqual(MiB);
    const evicted = await metric(a, 'gateway_dead_letters_evicted_total') + await metric(b, 'gateway_dead_letters_evicted_total') - evictedBefore;
    expect(evicted).toBe(before + 7 - 4);
    expect(embeddedDeadLetters(a) + embeddedDeadLetters(b)).toBe(0);
  }, 60_000);
});

describe('dead letters an InfluxDB store makes, on a cluster node', () => {
  it('readings InfluxDB refuses as data are a dead letter in PostgreSQL, listed by the other node', async () => {
    const influxd = await startInfluxd();
    let node: TestGateway | undefined;
    try {
      node = await startGateway({ config: { ...cfg('node-influx'), store: { type: 'influx-v1', influx: { url: influxd.url, database: 'shared_dl', timeoutMs: 2000 } } } });
      // ph stored as a string first: InfluxDB then refuses a float ph (field type conflict, HTTP 400)
      const w = await fetch(`${influxd.url}/write?db=shared_dl&precision=ms`, { method: 'POST', body: `ph,device=wq-influx value="x" ${Date.now() - 60_000}` });
      expect(w.status).toBe(204);
      const c = await device(a, node, 'wq-influx', 'generic.water-quality');
      await publish(c, 'devices/wq-influx/up', JSON.stringify({ ph: 7.2 }));
      const rows = (await pool.query("SELECT topic, reason, payload FROM dead_letters WHERE topic = 'store/influx-v1'")).rows;
      expect(rows).toHaveLength(1);
      expect(rows[0].reason).toMatch(/field type conflict/);
      expect(Buffer.from(rows[0].payload).toString()).toMatch(/^ph,.*device=wq-influx.* value=7\.2/);
      const onB = (await listed(b)).filter((d) => d.reason === rows[0].reason);
      expect(onB).toHaveLength(1);
      expect(embeddedDeadLetters(node)).toBe(0);
      await c.endAsync();
    } finally {
      await node?.stop();
      await influxd.stop();
    }
  }, 60_000);
});

/** °F ×10 in bytes 0-1, battery in mV in bytes 2-3; `scale` is the codec version under test */
const lidModel = (id: string, scale: number) => ({
  id, vendor: 'Acme', name: 'Lid sensor LS-2', kind: 'bin_fill', format: 'binary', ports: [2], reportIntervalS: 600,
  decoder: `function decodeUplink(input) { var b = input.bytes; return { data: { t: ((b[0] << 8) | b[1]) * ${scale}, mv: (b[2] << 8) | b[3] } }; }`,
  mapping: [{ path: 't', metric: 'temperature_c', scale: 0.1, unit: 'degF' }, { path: 'mv', metric: 'battery_v', unit: 'mV' }],
});

describe('user models shared in PostgreSQL', () => {
  it('created on A decodes on B within 1 s; a node started later knows its devices\' kind; replaced on A, B decodes with the new codec; deleted on A, gone on B', async () => {
    const created = await a.api('/api/v1/models', { method: 'POST', json: lidModel('user.lid', 1) });
    expect(created.status, created.text).toBe(201);
    let t0 = Date.now();
    await eventually(() => b.gateway.catalogue.get('user.lid'), 5000, 2);
    measured['model created on A → on B'] = Date.now() - t0;
    expect(measured['model created on A → on B']).toBeLessThan(1000);
    expect((await b.api('/api/v1/models/user.lid')).body).toMatchObject({ id: 'user.lid', kind: 'bin_fill', source: 'user', codec: { decoder: lidModel('user.lid', 1).decoder } });

    const c = await device(a, b, 'lid-1', 'user.lid');
    expect(b.gateway.registry.get('lid-1')!.kind).toBe('bin_fill');
    // 0x0316 = 790: 79.0 °F = 26.1 °C; 0x0D48 = 3400 mV
    t0 = Date.now();
    await publish(c, 'devices/lid-1/up/2', Buffer.from('03160D48', 'hex'));
    measured['first uplink of the model through B, PUBACK'] = Date.now() - t0;
    let latest = (await a.api('/api/v1/devices/lid-1/latest')).body.readings;
    expect(latest.temperature_c.value).toBeCloseTo((79 - 32) * 5 / 9, 6);
    expect(latest.battery_v.value).toBe(3.4);

    // a node started now loads the model before the registry: its device has the model's kind at once
    const late = await startGateway({ config: cfg('node-late') });
    try {
      expect(late.gateway.registry.get('lid-1')?.kind).toBe('bin_fill');
      expect(late.gateway.catalogue.get('user.lid')?.kind).toBe('bin_fill');
    } finally {
      await late.stop();
    }

    const replaced = await a.api('/api/v1/models/user.lid', { method: 'PUT', json: lidModel('user.lid', 2) });
    expect(replaced.status, replaced.text).toBe(200);
    t0 = Date.now();
    const updatedAt = Date.parse(replaced.body.updatedAt);
    await eventually(() => (b.gateway.userModels.get('user.lid')?.updatedAt ?? 0) >= updatedAt, 5000, 2);
    measured['model replaced on A → on B'] = Date.now() - t0;
    expect(measured['model replaced on A → on B']).toBeLessThan(1000);
    // the same bytes through B, decoded by the new codec: 1580 → 158.0 °F = 70 °C
    await publish(c, 'devices/lid-1/up/2', Buffer.from('03160D49', 'hex'));
    latest = (await a.api('/api/v1/devices/lid-1/latest')).body.readings;
    expect(latest.temperature_c.value).toBeCloseTo(70, 5);
    expect(latest.battery_v.value).toBe(3.401);

    // in use: refused on either node; then the device goes, and the model
    expect((await b.api('/api/v1/models/user.lid', { method: 'DELETE' })).status).toBe(409);
    await c.endAsync();
    expect((await a.api('/api/v1/devices/lid-1', { method: 'DELETE' })).status).toBe(204);
    await eventually(() => !b.gateway.registry.get('lid-1'), 5000, 5);
    expect((await a.api('/api/v1/models/user.lid', { method: 'DELETE' })).status).toBe(204);
    t0 = Date.now();
    await eventually(() => !b.gateway.catalogue.get('user.lid'), 5000, 2);
    measured['model deleted on A → gone on B'] = Date.now() - t0;
    expect(measured['model deleted on A → gone on B']).toBeLessThan(1000);
    expect((await b.api('/api/v1/models/user.lid')).status).toBe(404);
    expect((await pool.query("SELECT count(*)::int AS n FROM user_models WHERE id = 'user.lid'")).rows[0].n).toBe(0);
    // none of it in the embedded files
    for (const gw of [a, b]) expect((gw.gateway.db.prepare('SELECT count(*) AS n FROM user_models').get() as { n: number }).n).toBe(0);
  }, 60_000);

  it('a stored codec that does not compile is logged and counted on every node, which stays ready; fixed, it loads', async () => {
    const broken = { ...lidModel('user.broken', 1), decoder: 'function decodeUplink(input) { return {' };
    // as an operator's psql (or an older node) could write it: no REST check on the way
    await pool.query('INSERT INTO user_models (id, definition, created_at, updated_at) VALUES ($1, $2, 1, 1)', ['user.broken', JSON.stringify(broken)]);
    for (const gw of [a, b]) await eventually(async () => (await metric(gw, 'gateway_user_models_failed')) === 1, 5000, 10);
    expect(b.gateway.userModels.failed.get('user.broken')).toMatch(/does not compile on this node: .*SyntaxError/);
    expect(b.gateway.catalogue.get('user.broken')).toBeUndefined();
    expect((await b.api('/readyz', { token: null })).status).toBe(200);
    expect((await a.api('/readyz', { token: null })).status).toBe(200);
    await pool.query("UPDATE user_models SET definition = $1, updated_at = 2 WHERE id = 'user.broken'", [JSON.stringify(lidModel('user.broken', 1))]);
    for (const gw of [a, b]) {
      await eventually(() => gw.gateway.catalogue.get('user.broken'), 5000, 10);
      expect(await metric(gw, 'gateway_user_models_failed')).toBe(0);
    }
  }, 30_000);
});

describe('PostgreSQL unreachable (last: it stops the server)', () => {
  it('a dead letter is not acknowledged while it cannot be written to PostgreSQL; the resent message is stored once after', async () => {
    // the telemetry in this node's SQLite: its readings are acknowledged while PostgreSQL is down, its dead letters not
    const node = await startGateway({ config: { ...cfg('node-sqlite'), store: { type: 'sqlite' } } });
    const password = await provision(node, 'wq-down', 'generic.water-quality');
    const client = mqtt.connect(`mqtt://127.0.0.1:${node.mqttPort}`, { username: 'wq-down', password, clientId: 'wq-down', reconnectPeriod: 200 });
    client.on('error', () => undefined);
    try {
      await new Promise<void>((r) => client.once('connect', () => r()));
      await pgServer.kill();
      const acked = (payload: string) => new Promise<number>((resolve) => client.publish('devices/wq-down/up', payload, { qos: 1 }, (err) => { if (!err) resolve(Date.now()); }));
      const reading = await Promise.race([acked(JSON.stringify({ ph: 7.3 })), new Promise<number>((r) => setTimeout(() => r(0), 5000))]);
      expect(reading, 'a reading acknowledged (stored in this node\'s SQLite)').toBeGreaterThan(0);
      let badAckedAt = 0;
      void acked('not json while PostgreSQL is down').then((t) => { badAckedAt = t; });
      await new Promise((r) => setTimeout(r, 2000));
      expect(badAckedAt, 'dead letter acknowledged while PostgreSQL was down').toBe(0);
      expect((await node.api('/readyz', { token: null })).status).toBe(503);
      const upAt = Date.now();
      await pgServer.start();
      await eventually(() => badAckedAt > 0, 20_000, 50);
      measured['dead letter acknowledged after PostgreSQL restart'] = badAckedAt - upAt;
      const rows = (await pool.query("SELECT count(*)::int AS n FROM dead_letters WHERE device_id = 'wq-down'")).rows;
      expect(rows[0].n).toBe(1);
      expect(embeddedDeadLetters(node)).toBe(0);
      expect((await node.api('/api/v1/devices/wq-down/latest')).body.readings.ph.value).toBe(7.3);
    } finally {
      client.end(true);
      await node.stop();
    }
  }, 60_000);
});
