/**
 * CONTRACT "Delivery guarantee": a QoS 1 PUBACK means committed. A client publishes
 * continuously while the gateway process is killed with SIGKILL; after a restart on the
 * same data dir, every reading whose PUBACK arrived is in the store.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import mqtt from 'mqtt';
import { ADMIN_TOKEN, apiClient, spawnGateway, tempDir, type ChildGateway } from '../helpers/gateway.js';

const dataDir = tempDir('gw-kill-');
let child: ChildGateway | undefined;
afterAll(() => {
  child?.proc.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('durable PUBACK', () => {
  it('keeps every acknowledged reading across kill -9', async () => {
    const env = { GATEWAY_DATA_DIR: dataDir, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN };
    // throughput, not the publish rate limit, is under test here
    const config = { mqtt: { rateLimit: { devicePerSecond: 0 } } };
    child = await spawnGateway(env, { config });
    const api = apiClient(child.http);
    const created = await api('/api/v1/devices', { method: 'POST', json: { id: 'wq-1', model: 'generic.water-quality' } });
    expect(created.status).toBe(201);

    const acked: number[] = [];
    let sent = 0;
    let stopped = false;
    const client = mqtt.connect(`mqtt://127.0.0.1:${child.mqttPort}`, { username: 'wq-1', password: created.body.credentials.password, reconnectPeriod: 0 });
    client.on('error', () => {});
    await new Promise<void>((r) => client.once('connect', () => r()));
    // 20 messages in flight at a time, each with its own timestamp as the key
    const base = Date.parse('2026-11-22T00:00:00Z');
    const pump = () => {
      if (stopped) return;
      const seq = sent++;
      client.publish('devices/wq-1/up', JSON.stringify({ ts: base + seq * 1000, ph: 7 + (seq % 100) / 100 }), { qos: 1 }, (err) => {
        if (!err) acked.push(seq);
        pump();
      });
    };
    for (let i = 0; i < 20; i++) pump();
    await new Promise((r) => setTimeout(r, 1500));
    const killedAt = sent;
    child.proc.kill('SIGKILL');
    await child.exited;
    stopped = true;
    client.end(true);
    expect(acked.length).toBeGreaterThan(100);

    child = await spawnGateway(env, { config });
    const api2 = apiClient(child.http);
    const stored = await api2(`/api/v1/telemetry?device=wq-1&metric=ph&limit=100000`);
    const have = new Set<number>(stored.body.points.map((p: { ts: string }) => (Date.parse(p.ts) - base) / 1000));
    const missing = acked.filter((seq) => !have.has(seq));
    expect(missing, `acknowledged but lost (of ${acked.length} acked, ${killedAt} sent)`).toEqual([]);
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
    child = undefined;
  }, 60_000);
});
