/**
 * The group commit appends readings to readings_recent and moves them into readings a slice
 * of devices at a time (src/storage/recent-readings.mjs). Through the store's reads and the
 * readings_all view nothing of that shows: the last write of a (device, metric, ts) wins
 * wherever each write sits, the small table stays bounded, and a slice readings refuses
 * stays readable in the small table while the commits that try to move it go through.
 * On a real SQLite file, through the store's own commits (main connection and writer thread).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../../src/storage/database.js';
import { SqliteTelemetryStore } from '../../../src/storage/sqlite-telemetry.js';
import type { Reading } from '../../../src/core/types.js';
import { tempDir } from '../../helpers/gateway.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const METRICS = ['ph', 'turbidity_ntu', 'chlorine_mg_l'];

interface Side { dir: string; db: Db; store: SqliteTelemetryStore }
const sides: Side[] = [];

async function open(thread: boolean, devices: number): Promise<Side> {
  const dir = tempDir(`gw-recent-${thread ? 'thread' : 'direct'}-`);
  const db = openDatabase({ dataDir: dir, synchronous: 'normal' });
  const add = db.prepare("INSERT INTO devices (id, model, secret_hash, created_at, updated_at) VALUES (?, 'generic.water-quality', 'x', 0, 0)");
  for (let d = 0; d < devices; d++) add.run(id(d));
  const store = new SqliteTelemetryStore(db, thread ? { file: join(dir, 'gateway.db'), synchronous: 'normal' } : undefined);
  await store.start();
  const side = { dir, db, store };
  sides.push(side);
  return side;
}
afterEach(async () => {
  for (const s of sides.splice(0)) {
    await s.store.stop();
    s.db.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

const id = (d: number) => `wq-${String(d).padStart(4, '0')}`;
const reading = (d: number, metric: string, ts: number, value: number): Reading => ({ deviceId: id(d), metric, value, unit: null, ts, receivedAt: ts, quality: 'ok' });

/** one commit of one message per device, every metric, at step t */
async function commitStep(s: Side, devices: number, t: number, value = (d: number) => t + d / 1000): Promise<void> {
  const readings: Reading[] = [];
  for (let d = 0; d < devices; d++) for (const m of METRICS) readings.push(reading(d, m, T0 + t * 1000, value(d)));
  await s.store.commit({ readings, events: [], deadLetters: [], seen: new Map() });
}

const count = (s: Side, table: string): number => s.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

describe.each([false, true])('readings through the small table (writer thread: %s)', (thread) => {
  it('keeps the small table bounded and every reading readable, in order, once', async () => {
    const devices = 300;
    const s = await open(thread, devices);
    for (let t = 0; t < 40; t++) await commitStep(s, devices, t);
    const total = devices * METRICS.length * 40;
    // readings moved, the rest waiting: nothing lost, nothing twice
    expect(count(s, 'readings_all')).toBe(total);
    expect(count(s, 'readings')).toBeGreaterThan(0);
    expect(count(s, 'readings') + count(s, 'readings_recent')).toBe(total);
    // ~10 rows per busy series (900 series), and at most one commit's worth beyond
    expect(count(s, 'readings_recent')).toBeLessThanOrEqual(10 * devices * METRICS.length + devices * METRICS.length * 2);
    for (const d of [0, 150, 299]) {
      const points = await s.store.series({ deviceId: id(d), metric: 'ph', from: T0, to: T0 + 40_000, limit: 100 });
      expect(points.map((p) => p.ts)).toEqual(Array.from({ length: 40 }, (_, t) => T0 + t * 1000));
      expect(points[39]!.value).toBeCloseTo(39 + d / 1000, 9);
    }
  });

  it('lets the last write of a (device, metric, ts) win whether the first sits in readings or in the small table', async () => {
    const devices = 300;
    const s = await open(thread, devices);
    for (let t = 0; t < 40; t++) await commitStep(s, devices, t);
    // step 0 of device 0 has moved into readings by now; step 39 still waits
    expect(s.db.prepare('SELECT count(*) FROM readings WHERE device_id = ? AND ts = ?').pluck().get(id(0), T0)).toBe(3);
    expect(s.db.prepare('SELECT count(*) FROM readings_recent WHERE device_id = ? AND ts = ?').pluck().get(id(299), T0 + 39_000)).toBe(3);
    await s.store.commit({ readings: [reading(0, 'ph', T0, 7.77), reading(299, 'ph', T0 + 39_000, 8.88)], events: [], deadLetters: [], seen: new Map() });
    const first = await s.store.series({ deviceId: id(0), metric: 'ph', from: T0, to: T0 + 1, limit: 10 });
    expect(first).toEqual([{ ts: T0, value: 7.77, quality: 'ok' }]);
    const last = await s.store.series({ deviceId: id(299), metric: 'ph', from: T0 + 39_000, to: T0 + 39_001, limit: 10 });
    expect(last).toEqual([{ ts: T0 + 39_000, value: 8.88, quality: 'ok' }]);
    expect(count(s, 'readings_all')).toBe(devices * METRICS.length * 40);
    // and once everything has moved on, readings holds the later write
    for (let t = 40; t < 80; t++) await commitStep(s, devices, t);
    expect(s.db.prepare("SELECT value FROM readings_all WHERE device_id = ? AND metric = 'ph' AND ts = ?").pluck().all(id(0), T0)).toEqual([7.77]);
    expect(s.db.prepare("SELECT value FROM readings WHERE device_id = ? AND metric = 'ph' AND ts = ?").pluck().all(id(0), T0)).toEqual([7.77]);
    const prev = await s.store.previous(id(299), 'ph', T0 + 39_001);
    expect(prev).toEqual({ ts: T0 + 39_000, value: 8.88, quality: 'ok' });
  });

  it('keeps a slice readings refuses in the small table, readable, and commits on', async () => {
    const devices = 300;
    const s = await open(thread, devices);
    // a constraint readings has and readings_recent does not: the move of device 7's slice fails
    s.db.exec("CREATE TRIGGER refuse_move BEFORE INSERT ON readings WHEN NEW.value = 4.004 BEGIN SELECT RAISE(ABORT, 'refused on the move'); END");
    for (let t = 0; t < 60; t++) await commitStep(s, devices, t, (d) => (d === 7 && t === 4 ? 4.004 : t + d / 1000));
    expect(count(s, 'readings_all')).toBe(devices * METRICS.length * 60);
    expect(s.db.prepare('SELECT count(*) FROM readings_recent WHERE device_id = ? AND ts = ?').pluck().get(id(7), T0 + 4000)).toBe(3);
    // its neighbours moved on
    expect(s.db.prepare('SELECT count(*) FROM readings WHERE device_id = ? AND ts = ?').pluck().get(id(8), T0 + 4000)).toBe(3);
    const points = await s.store.series({ deviceId: id(7), metric: 'ph', from: T0 + 4000, to: T0 + 4001, limit: 10 });
    expect(points).toEqual([{ ts: T0 + 4000, value: 4.004, quality: 'ok' }]);
  });
});
