/**
 * The fleet simulator runs a 200-device site for a minute against a fresh gateway; every
 * message sent is either stored or a dead letter (the injected garbage), counts reconciled.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, ROOT, startGateway, type TestGateway } from '../helpers/gateway.js';
import { eventually } from '../helpers/mqtt.js';
import { runFleet } from '../../simulators/fleet.js';
import { ENCODERS } from '../../simulators/encoders/index.js';

let gw: TestGateway;
beforeAll(async () => { gw = await startGateway(); });
afterAll(async () => gw?.stop());

const SIM_SECONDS = Number(process.env.SIM_SECONDS ?? 60);

describe('fleet simulator', () => {
  it(`runs 200 devices for ${SIM_SECONDS} s: every message stored or dead-lettered`, async () => {
    const stats = await runFleet({
      http: gw.http, mqtt: `mqtt://127.0.0.1:${gw.mqttPort}`, token: ADMIN_TOKEN, site: 'jiangnan/sim-garden', prefix: 'sim',
      devices: 200, rate: 60, durationS: SIM_SECONDS, faults: ['ph', 'turbidity', 'stuck', 'silent', 'garbage'], lorawanShare: 0.5, seed: 7,
    });
    expect(stats.failed).toBe(0);
    expect(stats.acked).toBe(stats.sent);
    expect(stats.sent).toBeGreaterThan(SIM_SECONDS * 40);
    expect(stats.garbage).toBeGreaterThan(0);
    if (Object.keys(ENCODERS).length > 0) {
      expect(stats.byTransport['ttn-v3']).toBeGreaterThan(0);
      expect(stats.byTransport['chirpstack-v4']).toBeGreaterThan(0);
    }
    const metrics = (await gw.api('/metrics', { token: null })).text;
    const sum = (name: string) => [...metrics.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'gm'))].reduce((s, m) => s + Number(m[1]), 0);
    const decoded = sum('gateway_messages_decoded_total');
    const dead = (gw.gateway.db.prepare('SELECT count(*) AS n FROM dead_letters').get() as { n: number }).n;
    const reasons = gw.gateway.db.prepare('SELECT reason, count(*) AS n FROM dead_letters GROUP BY reason ORDER BY n DESC LIMIT 5').all();
    expect(dead, JSON.stringify(reasons)).toBe(stats.garbage);
    expect(decoded + dead).toBe(stats.sent);
    expect(sum('gateway_messages_dead_lettered_total')).toBe(dead);
    const readings = (gw.gateway.db.prepare('SELECT count(*) AS n FROM readings_all').get() as { n: number }).n;
    expect(readings).toBeGreaterThan(decoded);
    const summary = await gw.api('/api/v1/sites/jiangnan/sim-garden/summary');
    expect(summary.body.devices.total).toBe(200);
    expect(summary.body.parking.bays).toBeGreaterThan(0);
  }, SIM_SECONDS * 1000 + 60_000);

  it('--count stops after that many messages, prints progress, and leaves no door open (no door_held_open alert)', async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'simulators/cli.ts'), '--url', gw.http, '--mqtt', `mqtt://127.0.0.1:${gw.mqttPort}`,
        '--token', ADMIN_TOKEN, '--site', 'jiangnan/doors', '--prefix', 'cnt', '--devices', '12', '--rate', '200', '--count', '150', '--lorawan', '0.5', '--seed', '3'],
      { cwd: ROOT, timeout: 60_000 }, (_err, stdout, stderr) => resolve({ code: p.exitCode, stdout, stderr }));
    });
    expect(out.code, out.stderr).toBe(0);
    const stats = JSON.parse(out.stdout.trim().split('\n').pop()!);
    // the closing messages come on top of the count
    expect(stats.sent).toBe(150 + stats.doorsClosed);
    expect(stats.acked).toBe(stats.sent);
    expect(out.stderr).toMatch(/simulate: .*sent \d+ .*\(150\/150 messages\)|sent 15\d/);
    expect(out.stderr).toContain('door(s) left open were closed');
    // every door simulated ends closed: its latest door_open is false, so no door_held_open can fire later
    const doors = (await gw.api('/api/v1/devices?site=jiangnan/doors&kind=door_access')).body.items as Array<{ id: string }>;
    expect(doors.length).toBeGreaterThan(0);
    await eventually(async () => {
      for (const d of doors) {
        const latest = (await gw.api(`/api/v1/devices/${d.id}/latest`)).body.readings;
        if (latest.door_open && latest.door_open.value !== false) return undefined;
      }
      return true;
    }, 10_000);
    const open = await gw.api('/api/v1/alerts?rule=door_held_open&site=jiangnan/doors');
    expect(open.body.items).toEqual([]);
  }, 90_000);
});
