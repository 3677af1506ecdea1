/**
 * Two commits in flight (a store with a writer thread, commitsInOrder): the committer hands
 * the writer the next batch while it commits one, and still reaches the listeners and the
 * acknowledgements batch by batch in commit order, each only after its own commit.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupCommitter, type Entry } from '../../../src/ingest/committer.js';
import { openDatabase, type Db } from '../../../src/storage/database.js';
import { SqliteTelemetryStore } from '../../../src/storage/sqlite-telemetry.js';
import type { WriteBatch } from '../../../src/storage/telemetry-store.js';
import { tempDir } from '../../helpers/gateway.js';

let dir: string;
let db: Db;
let store: SqliteTelemetryStore;

beforeAll(async () => {
  dir = tempDir('gw-committer-overlap-');
  db = openDatabase({ dataDir: dir });
  store = new SqliteTelemetryStore(db, { file: join(dir, 'gateway.db'), synchronous: 'full' });
  await store.start();
});
afterAll(async () => {
  await store.stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.parse('2026-12-01T00:00:00Z');
const entry = (i: number): Entry => ({
  readings: [{ deviceId: 'd1', metric: 'fill_pct', value: i, unit: '%', ts: T0 + i, receivedAt: T0 + i, quality: 'ok' }],
  events: [], receivedAt: T0 + i,
});

describe('group commit with two batches in flight', () => {
  it('posts the next batch before the first is durable, and acknowledges in commit order', async () => {
    expect(store.commitsInOrder).toBe(true);
    const calls: number[] = [];
    const answers: Array<() => void> = [];
    // the real store behind a gate: the first commit's answer is held until the second has been handed over
    const gated = Object.create(store) as SqliteTelemetryStore;
    gated.commit = (batch: WriteBatch) => {
      calls.push(batch.readings.length);
      const real = store.commit(batch);
      if (calls.length === 1) return new Promise<void>((res, rej) => answers.push(() => void real.then(res, rej)));
      return real;
    };
    const order: string[] = [];
    const committer = new GroupCommitter(gated, {
      maxDelayMs: 2, maxMessages: 1000,
      onCommitted: (entries) => order.push(`committed ${entries.map((e) => e.readings[0]!.value).join(',')}`),
    });
    const acks: Array<Promise<void>> = [];
    const ack = (i: number) => acks.push(committer.submit(entry(i)).then(() => { order.push(`ack ${i}`); }));
    ack(1);
    await new Promise((r) => setTimeout(r, 20));
    ack(2); ack(3);
    // the second batch reaches the store while the first is still not answered
    for (let t = 0; t < 100 && calls.length < 2; t++) await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual([1, 2]);
    expect(order).toEqual([]);
    // a third batch waits: two in flight at most
    ack(4);
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toEqual([1, 2]);
    answers[0]!();
    await Promise.all(acks);
    expect(calls).toEqual([1, 2, 1]);
    expect(order).toEqual(['committed 1', 'ack 1', 'committed 2,3', 'ack 2', 'ack 3', 'committed 4', 'ack 4']);
    const stored = db.prepare("SELECT value FROM readings WHERE device_id = 'd1' ORDER BY ts").pluck().all();
    expect(stored).toEqual([1, 2, 3, 4]);
    await committer.flush();
  });
});
