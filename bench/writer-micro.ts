/**
 * tsx bench/writer-micro.ts [devices] [batch] [batches]: what one group commit costs the
 * writer, part by part, for a batch of `batch` one-reading messages spread over `devices`
 * devices (the shape of `npm run bench -- --devices N`), on the gateway's own schema and
 * pragmas. Prints ms per batch for the readings INSERTs, the `latest` upserts, the
 * last-seen UPDATEs and the COMMIT (fsync), after a warm-up that gives every series history.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/storage/database.js';

const DEVICES = Number(process.argv[2] ?? 500);
const BATCH = Number(process.argv[3] ?? 1500);
const BATCHES = Number(process.argv[4] ?? 40);
const dir = mkdtempSync(join(tmpdir(), 'gw-writer-micro-'));
const db = openDatabase({ dataDir: dir });
// CACHE=-16000 for the writer thread's 16 MB (sqlite-writer.worker.mjs); SQLite's default is 2 MB
db.pragma(`cache_size = ${process.env.CACHE ?? -2000}`);
const ins = db.prepare('INSERT INTO devices (id, model, name, site, attributes, dev_eui, secret_hash, created_at, updated_at) VALUES (?, ?, NULL, ?, ?, NULL, ?, 0, 0)');
db.transaction(() => { for (let d = 0; d < DEVICES; d++) ins.run(`bench-${String(d).padStart(5, '0')}`, 'generic.bin-fill', `bench/estate/b${d % 10}`, '{}', 'scrypt$'.padEnd(120, 'x')); })();
const METRICS = ['ph', 'fill_pct', 'occupied', 'water_volume_m3', 'energy_import_kwh', 'door_open'];
const LWW = 'ON CONFLICT (device_id, metric, ts) DO UPDATE SET value = excluded.value, received_at = excluded.received_at, quality = excluded.quality';
const CHUNK = 64;
const chunk = db.prepare(`INSERT INTO readings (device_id, metric, ts, value, received_at, quality) VALUES ${Array(CHUNK).fill('(?, ?, ?, ?, ?, ?)').join(', ')} ${LWW}`);
const latest = db.prepare(`INSERT INTO latest (device_id, metric, ts, value, quality) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (device_id, metric) DO UPDATE SET ts = excluded.ts, value = excluded.value, quality = excluded.quality WHERE excluded.ts >= latest.ts`);
const seen = db.prepare('UPDATE devices SET last_seen = ? WHERE id = ? AND (last_seen IS NULL OR last_seen < ?)');
const seq = new Array<number>(DEVICES).fill(0);
let next = 0;
const t = { readings: 0, latest: 0, seen: 0, commit: 0 };
const base = Date.parse('2025-01-01T00:00:00Z');
for (let b = 0; b < BATCHES + 10; b++) {
  const rows: Array<string | number> = [];
  const devs = new Map<number, number>();
  for (let k = 0; k < BATCH; k++) {
    const d = next++ % DEVICES;
    const ts = base + seq[d]!++ * 1000;
    rows.push(`bench-${String(d).padStart(5, '0')}`, METRICS[d % 6]!, ts, 1 + (ts % 97), ts, 0);
    devs.set(d, ts);
  }
  const t0 = performance.now();
  db.exec('BEGIN');
  for (let i = 0; i + CHUNK * 6 <= rows.length; i += CHUNK * 6) chunk.run(rows.slice(i, i + CHUNK * 6));
  const t1 = performance.now();
  for (const [d, ts] of devs) latest.run(`bench-${String(d).padStart(5, '0')}`, METRICS[d % 6]!, ts, 1, 0);
  const t2 = performance.now();
  for (const [d, ts] of devs) seen.run(ts, `bench-${String(d).padStart(5, '0')}`, ts);
  const t3 = performance.now();
  db.exec('COMMIT');
  const t4 = performance.now();
  if (b >= 10) { t.readings += t1 - t0; t.latest += t2 - t1; t.seen += t3 - t2; t.commit += t4 - t3; }
}
const per = (v: number) => (v / BATCHES).toFixed(2);
process.stdout.write(`${DEVICES} devices, ${BATCH} per batch: readings ${per(t.readings)} ms, latest ${per(t.latest)} ms, seen ${per(t.seen)} ms, commit ${per(t.commit)} ms per batch (page cache ${process.env.CACHE ?? -2000})\n`);
db.close();
rmSync(dir, { recursive: true, force: true });
