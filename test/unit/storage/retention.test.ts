/**
 * Retention with a fake clock on a real SQLite file: raw readings past rawDays are pruned,
 * hourly and daily rollups (local days, Asia/Shanghai) keep what they summarise, late
 * readings inside the look-back are rolled up on the next run, and the schedule is cron.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openDatabase, type Db } from '../../../src/storage/database.js';
import { SqliteTelemetryStore } from '../../../src/storage/sqlite-telemetry.js';
import { Retention } from '../../../src/storage/retention.js';
import type { Reading } from '../../../src/core/types.js';
import { tempDir } from '../../helpers/gateway.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const cfg = { rawDays: 90, hourlyDays: 730, dailyDays: 3650, deadLetterDays: 30, alertDays: 365, timezone: 'Asia/Shanghai', schedule: '7 * * * *' };
let dir: string | undefined;
let db: Db | undefined;
afterEach(() => { db?.close(); if (dir) rmSync(dir, { recursive: true, force: true }); db = undefined; dir = undefined; });

function setup() {
  dir = tempDir('gw-retention-');
  db = openDatabase({ dataDir: dir });
  const store = new SqliteTelemetryStore(db);
  let now = Date.parse('2026-11-24T00:00:00Z'); // 08:00 in Shanghai
  const clock = () => now;
  const retention = new Retention(db, cfg, { clock, log: pino({ level: 'silent' }), rollups: true });
  const r = (metric: string, ts: number, value: number | boolean, quality: Reading['quality'] = 'ok'): Reading => ({ deviceId: 'wm-1', metric, value, unit: null, ts, receivedAt: ts, quality });
  const write = (readings: Reading[]) => store.commitSync({ readings, events: [], deadLetters: [], seen: new Map() });
  // rollups as stored, the bucket start as `bucket`, mean left out (checked once below)
  const rollups = async (q: { deviceId: string; metric: string; period: '1h' | '1d'; from: number; to: number }) =>
    (await store.rollups({ ...q, limit: 100_000 })).map(({ ts, mean: _mean, ...rest }) => ({ bucket: ts, ...rest }));
  return { db, store, retention, rollups, r, write, advance: (ms: number) => { now += ms; }, now: () => now };
}

describe('retention and rollups (fake clock)', () => {
  it('prunes raw readings past rawDays and keeps hourly and daily rollups of them', async () => {
    const { db, store, retention, rollups, r, write, now } = setup();
    const start = now() - 120 * DAY;
    const readings: Reading[] = [];
    // a meter reading every 6 h for 120 days (value = index), a door flag, one faulty reading
    for (let i = 0; i * 6 * HOUR < 120 * DAY; i++) readings.push(r('water_volume_m3', start + i * 6 * HOUR, i));
    readings.push(r('door_open', start, true));
    readings.push(r('water_volume_m3', start + 3 * HOUR, 9999, 'out_of_range'));
    write(readings);
    db.prepare('INSERT INTO events (device_id, type, ts, data) VALUES (?, ?, ?, ?), (?, ?, ?, ?)').run('wm-1', 'tamper', start, '{}', 'wm-1', 'tamper', now() - DAY, '{}');
    db.prepare("INSERT INTO dead_letters (ts, topic, client_id, reason, payload) VALUES (?, 't', 'c', 'r', x''), (?, 't', 'c', 'r', x'')").run(now() - 31 * DAY, now() - 29 * DAY);

    const report = await retention.run();
    const cutoff = now() - 90 * DAY;
    const left = await store.series({ deviceId: 'wm-1', metric: 'water_volume_m3', from: 0, to: now(), limit: 100_000 });
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((p) => p.ts >= cutoff)).toBe(true);
    expect(left[0]!.ts - cutoff).toBeLessThan(6 * HOUR);
    expect(await store.series({ deviceId: 'wm-1', metric: 'door_open', from: 0, to: now(), limit: 10 })).toEqual([]);
    expect(report.rawDeleted).toBe(readings.length - left.length);
    expect(report.eventsDeleted).toBe(1);
    expect(report.deadLettersDeleted).toBe(1);

    // hourly: every reading has its hour, the faulty one is not in it
    const hourly = await rollups({ deviceId: 'wm-1', metric: 'water_volume_m3', period: '1h', from: 0, to: now() });
    expect(hourly).toHaveLength(480);
    expect(hourly[0]).toEqual({ bucket: start, count: 1, sum: 0, min: 0, max: 0, first: 0, last: 0 });
    // daily, at local midnight (16:00Z): start is 2026-07-27T00:00Z = 08:00 local, so the first
    // local day holds readings 0..2 (00, 06, 12Z) and the next full day 3..6
    const daily = await rollups({ deviceId: 'wm-1', metric: 'water_volume_m3', period: '1d', from: 0, to: now() });
    expect(daily[0]).toEqual({ bucket: Date.parse('2026-07-26T16:00:00Z'), count: 3, sum: 3, min: 0, max: 2, first: 0, last: 2 });
    expect(daily[1]).toEqual({ bucket: Date.parse('2026-07-27T16:00:00Z'), count: 4, sum: 3 + 4 + 5 + 6, min: 3, max: 6, first: 3, last: 6 });
    expect((await store.rollups({ deviceId: 'wm-1', metric: 'water_volume_m3', period: '1d', from: daily[1]!.bucket, to: daily[1]!.bucket + 1, limit: 1 }))[0]!.mean).toBe(4.5);
    // only completed local days: now is 08:00 on the 24th local, so the last is the 23rd
    expect(daily.at(-1)!.bucket).toBe(Date.parse('2026-11-22T16:00:00Z'));
    expect(await rollups({ deviceId: 'wm-1', metric: 'door_open', period: '1h', from: 0, to: now() })).toEqual([]);
  });

  it('rolls up readings that arrive late, within the look-back, on the next run', async () => {
    const { store, retention, rollups, r, write, advance, now } = setup();
    const hour = Date.parse('2026-11-23T10:00:00Z');
    write([r('ph', hour + 60_000, 7)]);
    await retention.run();
    expect(await rollups({ deviceId: 'wm-1', metric: 'ph', period: '1h', from: hour, to: hour + HOUR })).toEqual([{ bucket: hour, count: 1, sum: 7, min: 7, max: 7, first: 7, last: 7 }]);
    advance(HOUR);
    write([r('ph', hour + 30 * 60_000, 8)]); // from a backlog, an hour late
    await retention.run();
    expect(await rollups({ deviceId: 'wm-1', metric: 'ph', period: '1h', from: hour, to: hour + HOUR })).toEqual([{ bucket: hour, count: 2, sum: 15, min: 7, max: 8, first: 7, last: 8 }]);
    expect(now()).toBe(Date.parse('2026-11-24T01:00:00Z'));
  });

  it('prunes hourly rollups past hourlyDays, and runs on its cron schedule', async () => {
    const { store, retention, rollups, r, write, advance, now } = setup();
    write([r('ph', now() - 10 * DAY, 7)]);
    await retention.run();
    expect(await rollups({ deviceId: 'wm-1', metric: 'ph', period: '1h', from: 0, to: now() })).toHaveLength(1);
    advance(800 * DAY);
    const report = await retention.run();
    expect(report.rollupsDeleted).toBe(1); // the hourly one; the daily one is kept for 10 years
    expect(await rollups({ deviceId: 'wm-1', metric: 'ph', period: '1h', from: 0, to: now() })).toEqual([]);
    expect(await rollups({ deviceId: 'wm-1', metric: 'ph', period: '1d', from: 0, to: now() })).toHaveLength(1);

    retention.start();
    try {
      const next = retention.nextRun()!;
      expect(next.getUTCMinutes()).toBe(7);
      expect(next.getTime() - Date.now()).toBeLessThanOrEqual(HOUR);
    } finally {
      await retention.stop();
    }
  });
});
