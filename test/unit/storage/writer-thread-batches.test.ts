/**
 * The writer thread's packed batches (src/storage/packed-batch.ts, sqlite-writer.worker.mjs)
 * against the same batches committed on the main connection (commitSync, the store without a
 * thread): every table must end up the same, row for row. The thread's store has a dictionary
 * of 40 names, so the batches cross its reset many times; values of every kind the store keeps
 * (numbers, -0, booleans, strings, out-of-range), a series repeated within a batch (the newest
 * reading is the `latest`), last-seen times, events and a dead letter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../../src/storage/database.js';
import { SqliteTelemetryStore } from '../../../src/storage/sqlite-telemetry.js';
import type { WriteBatch } from '../../../src/storage/telemetry-store.js';
import type { Reading } from '../../../src/core/types.js';
import { tempDir } from '../../helpers/gateway.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const DEVICES = 150;

interface Side { dir: string; db: Db; store: SqliteTelemetryStore }
let threaded: Side;
let direct: Side;

async function side(thread: boolean): Promise<Side> {
  const dir = tempDir(`gw-packed-${thread ? 'thread' : 'direct'}-`);
  const db = openDatabase({ dataDir: dir, synchronous: 'normal' });
  const add = db.prepare("INSERT INTO devices (id, model, secret_hash, created_at, updated_at) VALUES (?, 'generic.bin-fill', 'x', 0, 0)");
  for (let d = 0; d < DEVICES; d++) add.run(`dev-${d}`);
  const store = new SqliteTelemetryStore(db, thread ? { file: join(dir, 'gateway.db'), synchronous: 'normal' } : undefined, { maxDictionary: 400 });
  await store.start();
  return { dir, db, store };
}

beforeAll(async () => {
  threaded = await side(true);
  direct = await side(false);
});
afterAll(async () => {
  for (const s of [threaded, direct]) {
    await s.store.stop();
    s.db.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

const METRICS = ['battery_v', 'fill_pct', 'door_open', 'label', 'temperature_c', 'ph'];

function batchOf(b: number, size = 150): WriteBatch {
  const readings: Reading[] = [];
  const seen = new Map<string, number>();
  for (let k = 0; k < size; k++) {
    const device = `dev-${(b * 7 + k) % DEVICES}`;
    const metric = METRICS[(b + k) % METRICS.length]!;
    const ts = T0 + b * 100_000 + (k % 4000); // a series repeats within a batch at different times
    const value = metric === 'door_open' ? k % 2 === 0 : metric === 'label' ? `lot ${b}-${k} 车位` : k === 3 ? -0 : b * 0.5 + k / 7;
    readings.push({ deviceId: device, metric, value, unit: null, ts, receivedAt: T0 + b * 1000 + 50, quality: k % 11 === 0 ? 'out_of_range' : 'ok' });
    seen.set(device, T0 + b * 1000 + k);
  }
  return {
    readings,
    events: Array.from({ length: b % 4 }, (_, k) => ({ deviceId: `dev-${(b + k) % DEVICES}`, type: k % 2 ? 'tamper' : 'arrival', ts: T0 + b * 10 + k, data: { b, note: `line\none "${k}"\\` } })),
    deadLetters: b % 5 === 0 ? [{ ts: T0 + b, topic: `devices/dev-${b}/up`, clientId: 'c', deviceId: undefined, reason: 'test', payload: Buffer.from(`p${b}`) }] : [],
    seen,
  };
}

const dump = (db: Db) => ({
  readings: db.prepare('SELECT device_id, metric, ts, value, typeof(value) AS t, received_at, quality FROM readings_all ORDER BY device_id, metric, ts').all(),
  latest: db.prepare('SELECT device_id, metric, ts, value, typeof(value) AS t, quality FROM latest ORDER BY device_id, metric').all(),
  events: db.prepare('SELECT device_id, type, ts, data FROM events ORDER BY device_id, type, ts').all(),
  dead: db.prepare('SELECT ts, topic, reason, payload FROM dead_letters ORDER BY id').all(),
  seen: db.prepare('SELECT id, last_seen FROM devices ORDER BY id').all(),
});

describe('packed batches on the writer thread', () => {
  it('store exactly what the main connection stores, across dictionary resets', async () => {
    for (let b = 0; b < 24; b++) {
      // a batch larger than the shared buffer's first size (256 kB), and two commits in
      // flight at once (two buffers), among the usual ones
      const size = b === 9 ? 12_000 : 150;
      if (b % 6 === 5) await Promise.all([threaded.store.commit(batchOf(b, size)), threaded.store.commit(batchOf(b + 100))]);
      else await threaded.store.commit(batchOf(b, size));
      await direct.store.commit(batchOf(b, size));
      if (b % 6 === 5) await direct.store.commit(batchOf(b + 100));
    }
    // older than what is stored: latest and last_seen keep the newer values
    await threaded.store.commit(batchOf(50));
    await direct.store.commit(batchOf(50));
    const a = dump(threaded.db);
    const d = dump(direct.db);
    expect(a.readings.length).toBeGreaterThan(10_000);
    expect(a.events.length).toBeGreaterThan(20);
    expect(a.readings.filter((r) => (r as { t: string }).t === 'text').length).toBeGreaterThan(100);
    expect(a).toEqual(d);
  });

  it('settle a commit from the shared cell (poll) while the writer\'s answer still waits in the event loop', async () => {
    let settled = false;
    const committed = threaded.store.commit(batchOf(900)).then(() => { settled = true; });
    // the event loop stays blocked here, so the writer's message cannot be dispatched: only
    // poll() can see that the batch is committed
    const inFlight = (threaded.store as unknown as { inFlight: number[] }).inFlight;
    const deadline = Date.now() + 10_000;
    while (inFlight.length > 0 && Date.now() < deadline) threaded.store.poll();
    expect(inFlight).toEqual([]);
    // microtasks only (the promise chain to the caller), no macrotask: the writer's message is still undispatched
    for (let i = 0; i < 20 && !settled; i++) await Promise.resolve();
    expect(settled).toBe(true);
    expect(threaded.db.prepare('SELECT count(*) AS n FROM readings_all WHERE ts >= ?').get(T0 + 900 * 100_000)).toEqual({ n: 150 });
    await committed;
    // the answer, dispatched later, settles nothing twice; the next commit goes the usual way
    await threaded.store.commit(batchOf(901));
    expect(threaded.db.prepare('SELECT count(*) AS n FROM readings_all WHERE ts >= ?').get(T0 + 901 * 100_000)).toEqual({ n: 150 });
  });
});
