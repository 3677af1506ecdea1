/**
 * Rule states are written by the store's writer thread (AlertService saveStates), off the
 * event loop: they must still be in the database after a graceful stop and drive the rules
 * after a restart, exactly as when they were written on the main connection.
 * And an alert a group commit opens is written in one transaction with its webhook outbox row
 * (the transaction opened only before the first write, AlertRepositories.transactionOnWrite):
 * an outbox that refuses the row leaves no alert row behind.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startGateway, tempDir } from '../helpers/gateway.js';
import { connect, publish } from '../helpers/mqtt.js';

const dataDir = tempDir('gw-alert-states-');
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('alert rule states through the writer thread', () => {
  it('a meter index survives a restart, and going back from it opens meter_counter_regressed', async () => {
    let gw = await startGateway({ dataDir });
    const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'em-1', model: 'generic.electricity-meter', site: 'estate/b1' } });
    expect(r.status).toBe(201);
    const password = r.body.credentials.password as string;
    let c = await connect(gw.mqttPort, { username: 'em-1', password });
    await publish(c, 'devices/em-1/up', JSON.stringify({ ts: Date.parse('2026-03-01T00:00:00Z'), energy_import_kwh: 5000 }));
    await c.endAsync();
    await gw.stop();

    const db = new Database(join(dataDir, 'gateway.db'), { readonly: true });
    const row = db.prepare("SELECT state FROM alert_state WHERE rule = 'meter_counter_regressed' AND device_id = 'em-1'").get() as { state: string } | undefined;
    db.close();
    expect(row).toBeDefined();
    expect(JSON.parse(row!.state).conds[0].last.energy_import_kwh).toEqual({ v: 5000, ts: Date.parse('2026-03-01T00:00:00Z') });

    gw = await startGateway({ dataDir });
    try {
      c = await connect(gw.mqttPort, { username: 'em-1', password });
      await publish(c, 'devices/em-1/up', JSON.stringify({ ts: Date.parse('2026-03-01T01:00:00Z'), energy_import_kwh: 4990 }));
      await c.endAsync();
      const alerts = (await gw.api('/api/v1/alerts?rule=meter_counter_regressed&device=em-1')).body.items as Array<{ status: string; value: number; threshold: number }>;
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ status: 'open', value: 4990, threshold: 5000 });
    } finally {
      await gw.stop();
    }
  }, 60_000);
});

describe('an alert and its outbox row, one transaction', () => {
  it('an outbox insert that fails takes the alert row with it; the next message writes both', async () => {
    const dir = tempDir('gw-alert-outbox-');
    const gw = await startGateway({ dataDir: dir, config: { notify: { webhooks: [{ url: 'http://127.0.0.1:9/hook', secret: 'hook-secret' }] } } });
    const outside = new Database(join(dir, 'gateway.db'));
    try {
      const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'bin-tx', model: 'generic.bin-fill', site: 'estate/b1' } });
      expect(r.status).toBe(201);
      outside.exec("CREATE TRIGGER outbox_refuses BEFORE INSERT ON webhook_outbox BEGIN SELECT RAISE(ABORT, 'outbox refused'); END");
      const c = await connect(gw.mqttPort, { username: 'bin-tx', password: r.body.credentials.password as string });
      // the reading is committed and acknowledged; its alert's transaction fails on the outbox
      await publish(c, 'devices/bin-tx/up', JSON.stringify({ fill_pct: 95 }));
      expect(outside.prepare("SELECT count(*) FROM readings_all WHERE device_id = 'bin-tx'").pluck().get()).toBe(1);
      expect(outside.prepare("SELECT count(*) FROM alerts WHERE device_id = 'bin-tx'").pluck().get()).toBe(0);
      outside.exec('DROP TRIGGER outbox_refuses');
      await publish(c, 'devices/bin-tx/up', JSON.stringify({ fill_pct: 96 }));
      await c.endAsync();
      expect(outside.prepare("SELECT count(*) FROM alerts WHERE device_id = 'bin-tx' AND rule = 'bin_full' AND status = 'open'").pluck().get()).toBe(1);
      expect(outside.prepare("SELECT count(*) FROM webhook_outbox WHERE alert_id IN (SELECT id FROM alerts WHERE device_id = 'bin-tx')").pluck().get()).toBeGreaterThanOrEqual(1);
    } finally {
      outside.close();
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
