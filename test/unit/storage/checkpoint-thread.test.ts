/**
 * With the writer thread, WAL checkpoints run in a thread of their own
 * (src/storage/sqlite-checkpoint.worker.mjs), not inside the commit that crosses SQLite's
 * auto-checkpoint threshold. What shows it from outside: the database file itself, copied
 * without its WAL, holds what was committed once the thread has run, although no commit
 * reached the writer's threshold; without the thread it holds none of it.
 * On a real SQLite file, through the store's own commits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import type { Worker } from 'node:worker_threads';
import { openDatabase, type Db } from '../../../src/storage/database.js';
import { SqliteTelemetryStore, registerStoreThreadMetrics } from '../../../src/storage/sqlite-telemetry.js';
import type { Reading } from '../../../src/core/types.js';
import { tempDir } from '../../helpers/gateway.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');
interface Side { dir: string; db: Db; store: SqliteTelemetryStore; stopped?: boolean; lost: string[] }
const sides: Side[] = [];

async function open(checkpointEveryMs: number): Promise<Side> {
  const dir = tempDir('gw-ckpt-');
  const db = openDatabase({ dataDir: dir, synchronous: 'full' });
  // the schema into the database file, so that a copy of the file alone can be read
  db.pragma('wal_checkpoint(TRUNCATE)');
  const lost: string[] = [];
  const store = new SqliteTelemetryStore(db, { file: join(dir, 'gateway.db'), synchronous: 'full', checkpointEveryMs }, { onCheckpointerError: (m) => lost.push(m) });
  await store.start();
  const side: Side = { dir, db, store, lost };
  sides.push(side);
  return side;
}
afterEach(async () => {
  for (const s of sides.splice(0)) {
    if (!s.stopped) await s.store.stop();
    s.db.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

const reading = (d: number, t: number): Reading => ({ deviceId: `bin-${d}`, metric: 'fill_pct', value: (d + t) % 100, unit: '%', ts: T0 + t * 1000, receivedAt: T0 + t * 1000, quality: 'ok' });

async function commitSteps(s: Side, devices: number, steps: number): Promise<number> {
  for (let t = 0; t < steps; t++) {
    const readings: Reading[] = [];
    for (let d = 0; d < devices; d++) readings.push(reading(d, t));
    await s.store.commit({ readings, events: [], deadLetters: [], seen: new Map() });
  }
  return devices * steps;
}

/**
 * readings in the database file alone: what checkpoints have copied out of the WAL. A plain
 * file copy is not a snapshot: one taken while the thread writes pages into the file can be
 * torn (SQLITE_CORRUPT), and counts as NaN here, which no wait below accepts; a later copy,
 * once the checkpoint is through, is whole.
 */
function readingsInMainFile(s: Side): number {
  const copy = tempDir('gw-ckpt-copy-');
  try {
    copyFileSync(join(s.dir, 'gateway.db'), join(copy, 'alone.db'));
    expect(existsSync(join(copy, 'alone.db-wal'))).toBe(false);
    const db = new Database(join(copy, 'alone.db'), { readonly: true });
    try {
      return db.prepare('SELECT count(*) FROM readings_all').pluck().get() as number;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CORRUPT') return NaN;
      throw err;
    } finally {
      db.close();
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

async function until(what: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('WAL checkpoints beside the writer thread', () => {
  it('copies what was committed into the database file without a commit checkpointing', async () => {
    const s = await open(20);
    const n = await commitSteps(s, 200, 10);
    expect(n).toBe(2000);
    // a few hundred WAL frames: far below the writer's own threshold of 10 000
    await until(async () => ((await s.store.checkpointStats())?.copiedFrames ?? 0) > 0);
    await until(async () => readingsInMainFile(s) === n);
    const stats = (await s.store.checkpointStats())!;
    expect(stats.runs).toBeGreaterThan(0);
    expect(stats.lastError).toBeUndefined();
    // and the store reads everything, as without the thread
    expect(s.db.prepare('SELECT count(*) FROM readings_all').pluck().get()).toBe(n);
  });

  it('without the thread the commits leave the database file as it was (the WAL holds them)', async () => {
    const s = await open(0);
    await commitSteps(s, 200, 10);
    await new Promise((r) => setTimeout(r, 200));
    expect(await s.store.checkpointStats()).toBeUndefined();
    expect(readingsInMainFile(s)).toBe(0);
  });

  it('stops with the store, and commits made after a stop and restart are durable', async () => {
    const s = await open(20);
    await commitSteps(s, 50, 4);
    await s.store.stop();
    s.stopped = true;
    expect(await s.store.checkpointStats()).toBeUndefined();
    const again = new SqliteTelemetryStore(s.db, { file: join(s.dir, 'gateway.db'), synchronous: 'full', checkpointEveryMs: 20 });
    await again.start();
    try {
      await again.commit({ readings: [reading(999, 1)], events: [], deadLetters: [], seen: new Map() });
      await until(async () => readingsInMainFile(s) === 201);
    } finally {
      await again.stop();
    }
  });

  it('shows on /metrics: checkpoints and frames counted, up while it runs, 0 and reported once it is lost', async () => {
    const s = await open(20);
    const registry = new Registry();
    registerStoreThreadMetrics(registry, s.store);
    const value = async (name: string): Promise<number> => {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
      return Number((m?.values as Array<{ value: number }> | undefined)?.[0]?.value ?? NaN);
    };
    await commitSteps(s, 200, 5);
    await until(async () => (await value('gateway_sqlite_checkpoint_frames_total')) > 0);
    expect(await value('gateway_sqlite_checkpoints_total')).toBeGreaterThan(0);
    expect(await value('gateway_sqlite_checkpoint_errors_total')).toBe(0);
    expect(await value('gateway_sqlite_checkpointer_up')).toBe(1);
    const text = await registry.metrics();
    expect(text).toMatch(/^gateway_sqlite_checkpoint_max_seconds \d/m);
    const frames = await value('gateway_sqlite_checkpoint_frames_total');
    expect(s.lost).toEqual([]);
    // the thread ends under the store (as if killed): reported once, and /metrics says so
    await (s.store as unknown as { checkpointer: Worker }).checkpointer.terminate();
    await until(async () => s.lost.length > 0);
    expect(s.lost).toEqual([expect.stringContaining('checkpoint thread exited')]);
    await new Promise((r) => setTimeout(r, 300)); // past the per-scrape cache
    expect(await value('gateway_sqlite_checkpointer_up')).toBe(0);
    // the counts it reported last stay (a counter that fell to 0 would read as a reset)
    expect(await value('gateway_sqlite_checkpoint_frames_total')).toBeGreaterThanOrEqual(frames);
    expect((await s.store.checkpointStats())?.running).toBe(false);
    // and the store goes on committing, the writer checkpointing on its own
    await s.store.commit({ readings: [reading(999, 7)], events: [], deadLetters: [], seen: new Map() });
    expect(s.db.prepare('SELECT count(*) FROM readings_all').pluck().get()).toBe(1001);
  });
});
