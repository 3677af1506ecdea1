/**
 * A real Mosquitto as the upstream broker: a TTN v3 envelope published to it is decoded and
 * stored; a gateway killed after it received a message but before the message was committed
 * (the store's write lock is held by another process) never acknowledged it, so the broker
 * redelivers it to the restarted gateway, which stores it once.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { ADMIN_TOKEN, ROOT, apiClient, spawnGateway, startGateway, tempDir, type ChildGateway } from '../helpers/gateway.js';
import { eventually, mosquitto } from '../helpers/mqtt.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';

let broker: Mosquitto;
let child: ChildGateway | undefined;
const dataDir = tempDir('gw-src-');
const sample = JSON.parse(readFileSync(join(ROOT, '../shared/corpus/ttn-v3-uplink.json'), 'utf8'));

beforeAll(async () => { broker = await startMosquitto(); });
afterAll(async () => {
  child?.proc.kill('SIGKILL');
  await broker?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function envelope(fill: number, receivedAt: string): string {
  const e = structuredClone(sample);
  e.uplink_message.f_port = 1;
  e.uplink_message.frm_payload = Buffer.from(JSON.stringify({ fill_pct: fill })).toString('base64');
  e.uplink_message.received_at = receivedAt;
  return JSON.stringify(e);
}
const upstreamPub = (msg: string) => mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', 'v3/app1@estate/devices/dev1/up', '-m', msg]);

describe('upstream broker source', () => {
  it('stores a TTN v3 envelope from the upstream, and a message redelivered after a kill is stored once', async () => {
    const config = { sources: [{ name: 'ttn', url: `mqtt://127.0.0.1:${broker.port}`, clientId: 'gw-test-ttn', topics: ['v3/+/devices/+/up'], format: 'ttn-v3' }] };
    const env = { GATEWAY_DATA_DIR: dataDir, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN };
    child = await spawnGateway(env, { config });
    const api = apiClient(child.http);
    expect((await api('/api/v1/devices', { method: 'POST', json: { id: 'bin-up', model: 'generic.bin-fill', lorawan: { devEui: '0004A30B001C0530' } } })).status).toBe(201);
    await new Promise((r) => setTimeout(r, 500)); // subscribed

    expect((await upstreamPub(envelope(42, '2026-11-22T01:00:00Z'))).code).toBe(0);
    await eventually(async () => (await api('/api/v1/devices/bin-up/latest')).body.readings.fill_pct?.value === 42, 5000);

    // another process holds the store's write lock: the gateway receives and decodes the next
    // message but cannot commit it; it is killed in that window, then the lock is released
    const lock = new Database(join(dataDir, 'gateway.db'));
    lock.exec('BEGIN EXCLUSIVE');
    expect((await upstreamPub(envelope(77, '2026-11-22T02:00:00Z'))).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    child.proc.kill('SIGKILL');
    await child.exited;
    lock.exec('ROLLBACK');
    lock.close();

    child = await spawnGateway(env, { config });
    const api2 = apiClient(child.http);
    await eventually(async () => (await api2('/api/v1/devices/bin-up/latest')).body.readings.fill_pct?.value === 77, 10_000);
    const points = (await api2('/api/v1/telemetry?device=bin-up&metric=fill_pct')).body.points;
    expect(points).toEqual([{ ts: '2026-11-22T01:00:00.000Z', value: 42 }, { ts: '2026-11-22T02:00:00.000Z', value: 77 }]);
    expect((await api2('/api/v1/dead-letters')).body.items).toEqual([]);
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
    child = undefined;
  }, 60_000);

  it('two gateways with an MQTT 5 shared subscription split one upstream stream: every message stored once, by one of them', async () => {
    const source = (id: string) => ({ sources: [{ name: 'ttn', url: `mqtt://127.0.0.1:${broker.port}`, clientId: `gw-share-${id}`, protocolVersion: 5, topics: ['$share/estate/v3/+/devices/+/up'], format: 'ttn-v3' }] });
    const gws = [await startGateway({ config: source('a') }), await startGateway({ config: source('b') })];
    try {
      for (const gw of gws) expect((await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'bin-share', model: 'generic.bin-fill', lorawan: { devEui: '0004A30B001C0530' } } })).status).toBe(201);
      await new Promise((r) => setTimeout(r, 1000)); // both subscribed
      for (let i = 0; i < 20; i++) expect((await upstreamPub(envelope(i, new Date(Date.parse('2026-11-23T00:00:00Z') + i * 60_000).toISOString()))).code).toBe(0);
      const stored = async () => Promise.all(gws.map(async (gw) => (await gw.api('/api/v1/telemetry?device=bin-share&metric=fill_pct')).body.points as Array<{ value: number }>));
      await eventually(async () => (await stored()).flat().length >= 20, 10_000);
      await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
      const [a, b] = await stored();
      expect(a!.length).toBeGreaterThan(0);
      expect(b!.length).toBeGreaterThan(0);
      expect([...a!, ...b!].map((p) => p.value).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    } finally {
      for (const gw of gws) await gw.stop();
    }
  }, 60_000);
});
