/**
 * Disk full: the data directory is a small tmpfs that fills up. The gateway refuses QoS 1
 * publishes it cannot store (no PUBACK), says so on /readyz, recovers when space returns,
 * and no acknowledged reading is lost.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { ADMIN_TOKEN, apiClient, spawnGateway, tempDir, type ChildGateway } from '../helpers/gateway.js';
import { eventually } from '../helpers/mqtt.js';

const mountPoint = tempDir('gw-full-');
let mounted = false;
let child: ChildGateway | undefined;
afterAll(() => {
  child?.proc.kill('SIGKILL');
  if (mounted) execFileSync('umount', ['-l', mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

describe('disk full', () => {
  it('withholds PUBACKs while the disk is full, recovers, and loses nothing acknowledged', async () => {
    // a 24 MiB filesystem of our own (root in CI; the test fails loudly where mount is not allowed)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mountPoint]);
    mounted = true;
    const dataDir = join(mountPoint, 'data');
    mkdirSync(dataDir);
    const env = { GATEWAY_DATA_DIR: dataDir, GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN };
    const config = { mqtt: { rateLimit: { devicePerSecond: 0 } } };
    child = await spawnGateway(env, { config });
    const api = apiClient(child.http);
    const dev = await api('/api/v1/devices', { method: 'POST', json: { id: 'wm-full', model: 'generic.water-meter' } });

    const acked = new Set<number>();
    let seq = 0;
    // within the raw retention (older readings go to the rollups, storage/backfill.ts)
    const base = Date.now() - 86_400_000;
    const client = mqtt.connect(`mqtt://127.0.0.1:${child.mqttPort}`, { username: 'wm-full', password: dev.body.credentials.password, reconnectPeriod: 300, clientId: 'wm-full', clean: false });
    client.on('error', () => {});
    await new Promise<void>((r) => client.once('connect', () => r()));
    let running = true;
    const pump = async () => {
      while (running) {
        const n = seq++;
        const body = JSON.stringify({ ts: base + n * 1000, water_volume_m3: n / 1000 });
        await new Promise<void>((r) => {
          client.publish('devices/wm-full/up', body, { qos: 1 }, (err) => { if (!err) acked.add(n); r(); });
          setTimeout(r, 2000); // a withheld PUBACK: move on, MQTT.js resends it after reconnecting
        });
      }
    };
    const pumping = Promise.all([pump(), pump(), pump(), pump()]);
    await eventually(() => acked.size > 200, 20_000);

    // fill the disk
    const filler = join(mountPoint, 'filler');
    try { writeFileSync(filler, Buffer.alloc(64 * 1024 * 1024)); } catch { /* ENOSPC: the disk is now full */ }
    await eventually(async () => (await fetch(`${child!.http}/readyz`)).status === 503, 20_000, 100);
    const readyz = (await (await fetch(`${child.http}/readyz`)).json()) as { reason?: string };
    expect(readyz.reason).toMatch(/full|SQLITE_FULL|disk/i);
    const ackedWhileFull = acked.size;
    await new Promise((r) => setTimeout(r, 2000));
    expect(acked.size - ackedWhileFull).toBeLessThan(50); // nothing (or only what was already durable) acknowledged while full
    const metrics = await (await fetch(`${child.http}/metrics`)).text();
    expect(Number(/^gateway_write_failures_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);

    // space returns: the gateway recovers by itself
    rmSync(filler);
    await eventually(() => acked.size > ackedWhileFull + 100, 30_000, 100);
    expect((await fetch(`${child.http}/readyz`)).status).toBe(200);
    running = false;
    await pumping;
    client.end(true);
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);

    child = await spawnGateway(env, { config });
    const pts = (await apiClient(child.http)('/api/v1/telemetry?device=wm-full&metric=water_volume_m3&limit=100000')).body.points as Array<{ ts: string }>;
    const stored = new Set(pts.map((p) => (Date.parse(p.ts) - base) / 1000));
    const lost = [...acked].filter((n) => !stored.has(n));
    expect(lost, `acknowledged but lost, of ${acked.size}`).toEqual([]);
    child.proc.kill('SIGTERM');
    await child.exited;
    child = undefined;
  }, 120_000);
});
