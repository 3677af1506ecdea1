// Group-commit writer for the embedded store, in its own thread: the transaction (and the
// fsync of synchronous=FULL) runs here so the main thread keeps reading sockets, decoding
// and acknowledging while a batch is being made durable. Plain JavaScript so that it loads
// the same way under tsx, vitest and a compiled build.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const CHUNK = 64;
const db = new Database(workerData.file);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${workerData.synchronous.toUpperCase()}`);
db.pragma('busy_timeout = 5000');
// checkpoint every ~40 MB of WAL instead of every 4 MB: a batch rewrites the same few
// hundred leaf pages (one per busy series) again and again, and a checkpoint writes each
// page once however often it changed since the last one
db.pragma('wal_autocheckpoint = 10000');
// a 16 MB page cache instead of SQLite's 2 MB: a batch touches one readings leaf page per busy
// series, and with a few hundred devices those pages no longer fit in 2 MB, so every batch
// re-read them (bench/writer-micro.ts, 500 devices: readings INSERTs 14 -> 6 ms per batch)
db.pragma('cache_size = -16000');

// the same last-write-wins rule as sqlite-telemetry.ts (LAST_WRITE_WINS)
const LWW = 'ON CONFLICT (device_id, metric, ts) DO UPDATE SET value = excluded.value, received_at = excluded.received_at, quality = excluded.quality';
const one = db.prepare(`INSERT INTO readings (device_id, metric, ts, value, received_at, quality) VALUES (?, ?, ?, ?, ?, ?) ${LWW}`);
const chunk = db.prepare(`INSERT INTO readings (device_id, metric, ts, value, received_at, quality) VALUES ${Array(CHUNK).fill('(?, ?, ?, ?, ?, ?)').join(', ')} ${LWW}`);
const latest = db.prepare(`INSERT INTO latest (device_id, metric, ts, value, quality) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (device_id, metric) DO UPDATE SET ts = excluded.ts, value = excluded.value, quality = excluded.quality
  WHERE excluded.ts >= latest.ts`);
const event = db.prepare('INSERT INTO events (device_id, type, ts, data) VALUES (?, ?, ?, ?) ON CONFLICT (device_id, type, ts) DO UPDATE SET data = excluded.data');
// rows come ready from the main thread (deadLetterRow: payload cut, length, sha256, size)
const dead = db.prepare('INSERT INTO dead_letters (ts, topic, client_id, device_id, reason, payload, payload_bytes, payload_sha256, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
const totalDead = db.prepare('SELECT bytes FROM dead_letter_totals WHERE id = 1').pluck();
const oldestDead = db.prepare('SELECT id, CASE WHEN size > 0 THEN size ELSE length(payload) + length(topic) + length(client_id) + length(reason) + 128 END AS size FROM dead_letters ORDER BY id LIMIT 512');
const dropDead = db.prepare('DELETE FROM dead_letters WHERE id <= ?');

/** the same oldest-first eviction as evictDeadLetters() in sqlite-telemetry.ts */
function evict(maxTotalBytes) {
  let over = (totalDead.get() ?? 0) - maxTotalBytes;
  let evicted = 0;
  while (over > 0) {
    const rows = oldestDead.all();
    if (rows.length === 0) break;
    let cut = rows[0].id;
    for (const r of rows) {
      cut = r.id;
      over -= r.size;
      evicted++;
      if (over <= 0) break;
    }
    dropDead.run(cut);
  }
  return evicted;
}
const seen = db.prepare('UPDATE devices SET last_seen = ? WHERE id = ? AND (last_seen IS NULL OR last_seen < ?)');

/** rows: flat array, 6 values per reading (device, metric, ts, value, receivedAt, quality) */
// BEGIN IMMEDIATE: the main connection writes the same database (writeTransaction in database.ts)
const write = db.transaction((msg) => {
  const rows = msg.rows;
  const n = rows.length / 6;
  let i = 0;
  for (; i + CHUNK <= n; i += CHUNK) chunk.run(rows.slice(i * 6, (i + CHUNK) * 6));
  for (; i < n; i++) one.run(rows.slice(i * 6, i * 6 + 6));
  const newest = new Map();
  for (let k = 0; k < n; k++) {
    const o = k * 6;
    const key = `${rows[o]}\u0000${rows[o + 1]}`;
    const cur = newest.get(key);
    if (cur === undefined || rows[o + 2] >= rows[cur + 2]) newest.set(key, o);
  }
  for (const o of newest.values()) latest.run(rows[o], rows[o + 1], rows[o + 2], rows[o + 3], rows[o + 5]);
  for (const e of msg.events) event.run(e[0], e[1], e[2], e[3]);
  for (const d of msg.deadLetters) dead.run(d);
  for (const s of msg.seen) seen.run(s[1], s[0], s[1]);
  return msg.deadLetters.length > 0 ? evict(msg.maxDeadLetterBytes) : 0;
});

// result codes about a statement's data (telemetry-store.ts isSqliteDataError): the
// committer bisects the batch instead of refusing every message in it
const isDataError = (err) => (typeof err?.code === 'string' && err.code.startsWith('SQLITE_'))
  ? /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(err.code)
  : err instanceof TypeError || err instanceof RangeError;

// alert rule states (src/alerts/service.ts saveStates): written here, behind the group
// commits, so the main thread neither blocks on them nor waits for this thread's lock
const saveState = db.prepare('INSERT INTO alert_state (rule, device_id, state) VALUES (?, ?, ?) ON CONFLICT(rule, device_id) DO UPDATE SET state = excluded.state');
const deleteState = db.prepare('DELETE FROM alert_state WHERE rule = ? AND device_id = ?');
const writeStates = db.transaction((rows) => {
  for (const [rule, device, state] of rows) {
    if (state === null) deleteState.run(rule, device);
    else saveState.run(rule, device, state);
  }
});

parentPort.on('message', (msg) => {
  if (msg.type === 'states') {
    try {
      writeStates.immediate(msg.rows);
      parentPort.postMessage({ id: msg.id });
    } catch (err) {
      parentPort.postMessage({ id: msg.id, error: String(err && err.message ? err.message : err), code: err?.code, data: false });
    }
    return;
  }
  if (msg.type === 'close') {
    db.close();
    parentPort.postMessage({ type: 'closed' });
    return;
  }
  try {
    const evicted = write.immediate(msg);
    parentPort.postMessage({ id: msg.id, evicted });
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: String(err && err.message ? err.message : err), code: err?.code, data: isDataError(err) });
  }
});
