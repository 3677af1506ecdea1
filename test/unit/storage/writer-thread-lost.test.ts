/**
 * A writer thread that fails or ends under a running store (an uncaught error in it, an
 * out-of-memory abort, a terminate) must not leave the group commits waiting for an answer
 * that will not come: what it had in flight is refused (no PUBACK; devices send it again),
 * the loss is reported once, and later commits run on the main connection, as with
 * `writerThread: false`. On a real SQLite file, through the store's own commits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { openDatabase, type Db } from '../../../src/storage/database.js';
import { SqliteTelemetryStore, registerStoreThreadMetrics } from '../../../src/storage/sqlite-telemetry.js';
import type { Reading } from '../../../src/core/types.js';
import { tempDir } from '../../helpers/gateway.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const opened: Array<{ dir: string; db: Db; store: SqliteTelemetryStore }> = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.store.stop();
    o.db.close();
    rmSync(o.dir, { recursive: true, force: true });
  }
});

const reading = (d: number, t: number): Reading => ({ deviceId: `bin-${d}`, metric: 'fill_pct', value: (d + t) % 100, unit: '%', ts: T0 + t * 1000, receivedAt: T0 + t * 1000, quality: 'ok' });
const batchOf = (t: number, devices = 50) => ({ readings: Array.from({ length: devices }, (_, d) => reading(d, t)), events: [], deadLetters: [], seen: new Map<string, number>() });
const settled = (p: Promise<void>) => p.then(() => 'committed', (err: Error) => `refused: ${err.message}`);

describe('the writer thread lost under a running store', () => {
  it('refuses what it had in flight, reports once, and commits on the main connection from then on', async () => {
    const dir = tempDir('gw-writer-lost-');
    const db = openDatabase({ dataDir: dir, synchronous: 'full' });
    const lost: string[] = [];
    const store = new SqliteTelemetryStore(db, { file: join(dir, 'gateway.db'), synchronous: 'full' }, { onWriterLost: (m) => lost.push(m) });
    await store.start();
    opened.push({ dir, db, store });
    const registry = new Registry();
    registerStoreThreadMetrics(registry, store);
    const up = async () => Number((await registry.getSingleMetric('gateway_sqlite_writer_thread_up')!.get()).values[0]!.value);

    await store.commit(batchOf(0));
    expect(store.writerRunning).toBe(true);
    expect(await up()).toBe(1);
    // commits in flight when the thread goes: each one settles (none waits for ever)
    const inFlight = [1, 2, 3, 4].map((t) => settled(store.commit(batchOf(t))));
    await (store as unknown as { worker: Worker }).worker.terminate();
    const outcomes = await Promise.race([
      Promise.all(inFlight),
      new Promise<string[]>((_, reject) => setTimeout(() => reject(new Error('a commit in flight never settled')), 5000)),
    ]);
    for (const o of outcomes) expect(o).toMatch(/^committed$|^refused: writer thread exited/);
    expect(lost).toEqual([expect.stringContaining('writer thread exited')]);
    expect(store.writerRunning).toBe(false);
    expect(await up()).toBe(0);
    // on the main connection now: durable, readable, and /readyz ready again once it commits
    await store.commit(batchOf(9));
    expect(store.readiness()).toEqual({ ok: true });
    expect(db.prepare('SELECT count(*) FROM readings_all WHERE ts = ?').pluck().get(T0 + 9000)).toBe(50);
    expect(db.prepare('SELECT count(*) FROM readings_all WHERE ts = ?').pluck().get(T0)).toBe(50);
    // what was refused is what the devices send again; what committed is there
    for (const [i, o] of outcomes.entries()) {
      if (o === 'committed') expect(db.prepare('SELECT count(*) FROM readings_all WHERE ts = ?').pluck().get(T0 + (i + 1) * 1000)).toBe(50);
    }
    // rule states too
    await store.saveAlertStates([['bin_full', 'bin-1', '{"active":true}']]);
    expect(db.prepare('SELECT state FROM alert_state WHERE rule = ? AND device_id = ?').pluck().get('bin_full', 'bin-1')).toBe('{"active":true}');
    expect(lost).toHaveLength(1);
  });
});
