/**
 * tsx bench/recent-micro.ts <direct|recent> [devices] [messages per commit] [history rows per series] [commits]
 * What a group commit costs the SQLite store with readings inserted straight into `readings`
 * (direct: the layout before migration 007) or through `readings_recent` and the slice mover
 * (src/storage/recent-readings.mjs), for commits of one three-reading message per device in
 * turn (the open loop's shape), after `history` rows per series. Prints the mean, p90 and
 * max ms per commit (WAL checkpoints included, at the gateway's wal_autocheckpoint) and, with
 * FRAMES=1, the WAL pages each commit wrote (checkpoints then run outside the timing).
 * CKPT_MS=<ms> runs the gateway's checkpoint thread beside the commits (the commits' own
 * auto-checkpoint stays the backstop, as in the gateway); GAP=<ms> idles between commits.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/storage/database.js';
import { LAST_WRITE_WINS, recentMover } from '../src/storage/recent-readings.mjs';

const [mode = 'recent', devArg = '500', batchArg = '500', histArg = '600', commitsArg = '200'] = process.argv.slice(2);
const DEVICES = Number(devArg);
const BATCH = Number(batchArg);
const HIST = Number(histArg);
const N = Number(commitsArg);
if (mode !== 'direct' && mode !== 'recent') throw new Error('mode is direct or recent');
const FRAMES = process.env.FRAMES === '1';
const dir = mkdtempSync(join(tmpdir(), 'gw-recent-micro-'));
const db = openDatabase({ dataDir: dir, synchronous: 'full' });
db.pragma('cache_size = -16000'); // the writer thread's (sqlite-writer.worker.mjs)
if (FRAMES) db.pragma('wal_autocheckpoint = 0');
// CKPT_MS=<ms>: the gateway's checkpoint thread beside the commits (src/storage/sqlite-checkpoint.worker.mjs)
const CKPT_MS = Number(process.env.CKPT_MS ?? 0);
// GAP=<ms>: idle time between commits, as in the open loop (the writer thread waits for the next batch)
const GAP = Number(process.env.GAP ?? 0);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const { Worker } = await import('node:worker_threads');
const checkpointer = CKPT_MS > 0
  ? new Worker(new URL('../src/storage/sqlite-checkpoint.worker.mjs', import.meta.url), { workerData: { file: join(dir, 'gateway.db'), everyMs: CKPT_MS } })
  : undefined;
const METRICS = ['ph', 'turbidity_ntu', 'chlorine_mg_l'];
const id = (d: number) => `bench-${String(d).padStart(5, '0')}`;
const base = Date.parse('2025-01-01T00:00:00Z');
const seed = db.prepare('INSERT INTO readings VALUES (?, ?, ?, ?, ?, 0)');
const addLatest = db.prepare('INSERT INTO latest VALUES (?, ?, ?, 0, 0)');
db.transaction(() => {
  for (let d = 0; d < DEVICES; d++) for (const m of METRICS) {
    for (let h = 0; h < HIST; h++) seed.run(id(d), m, base + h * 1000, h, base);
    addLatest.run(id(d), m, base);
  }
})();
db.pragma('wal_checkpoint(TRUNCATE)');
const insert = db.prepare(`INSERT INTO ${mode === 'direct' ? 'readings' : 'readings_recent'} (device_id, metric, ts, value, received_at, quality) VALUES (?, ?, ?, ?, ?, 0) ${LAST_WRITE_WINS}`);
const mover = recentMover(db);
const frames = () => (db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>)[0]!.log;
let step = HIST;
let next = 0;
const times: number[] = [];
let pages = 0;
for (let b = 0; b < N; b++) {
  if (FRAMES) db.pragma('wal_checkpoint(TRUNCATE)');
  const f0 = FRAMES ? frames() : 0;
  const t0 = performance.now();
  db.exec('BEGIN IMMEDIATE');
  for (let k = 0; k < BATCH; k++) {
    const d = next++ % DEVICES;
    if (d === 0) step++;
    for (const m of METRICS) insert.run(id(d), m, base + step * 1000, step, base);
  }
  if (mode === 'recent') mover.afterInsert(BATCH * METRICS.length);
  db.exec('COMMIT');
  const dt = performance.now() - t0;
  if (GAP > 0) Atomics.wait(sleeper, 0, 0, GAP);
  // the second half: the small table has reached its size by then
  if (b >= N / 2) { times.push(dt); if (FRAMES) pages += frames() - f0; }
}
times.sort((a, b) => a - b);
const mean = times.reduce((a, b) => a + b, 0) / times.length;
const recent = db.prepare('SELECT count(*) FROM readings_recent').pluck().get();
process.stdout.write(`${mode}: ${DEVICES} devices, ${BATCH} messages x ${METRICS.length} readings per commit, ${HIST} rows per series before: `
  + `${mean.toFixed(2)} ms per commit (p90 ${times[Math.floor(times.length * 0.9)]!.toFixed(1)}, p99 ${times[Math.floor(times.length * 0.99)]!.toFixed(1)}, max ${times[times.length - 1]!.toFixed(1)})`
  + `${FRAMES ? `, ${(pages / times.length).toFixed(0)} WAL pages per commit` : ''}; readings_recent ${recent} rows\n`);
if (checkpointer) {
  checkpointer.postMessage({ type: 'stats' });
  const [m] = await once(checkpointer, 'message') as [{ stats: unknown }];
  process.stdout.write(`checkpoint thread: ${JSON.stringify(m.stats)}\n`);
  await checkpointer.terminate();
}
db.close();
rmSync(dir, { recursive: true, force: true });
