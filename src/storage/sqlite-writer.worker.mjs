// Group-commit writer for the embedded store, in its own thread: the transaction (and the
// fsync of synchronous=FULL) runs here so the main thread keeps reading sockets, decoding
// and acknowledging while a batch is being made durable. Plain JavaScript so that it loads
// the same way under tsx, vitest and a compiled build.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { LAST_WRITE_WINS, recentMover } from './recent-readings.mjs';

const CHUNK = 64;
/** [last committed batch id mod 2^31, dead letters it evicted] (SqliteTelemetryStore.done) */
const done = workerData.done;
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

/**
 * One statement for CHUNK rows and one for a single row, from the same SQL: the per-statement
 * cost dominates a row's (readings; and at 5 000 devices the latest and last-seen writes were
 * 13-16 of a 30-35 ms transaction for 1 450 messages one statement per row, 6-9 in chunks)
 */
function rowStatements(sql, width) {
  const values = (k) => Array(k).fill(`(${Array(width).fill('?').join(', ')})`).join(', ');
  return { width, many: db.prepare(sql(values(CHUNK))), one: db.prepare(sql(values(1))), args: new Array(CHUNK * width), row: new Array(width) };
}

/** count rows, CHUNK per statement; fill(args, offset, i) writes row i's values at offset */
function runRows(st, count, fill) {
  let i = 0;
  for (; i + CHUNK <= count; i += CHUNK) {
    for (let j = 0; j < CHUNK; j++) fill(st.args, j * st.width, i + j);
    st.many.run(st.args);
  }
  for (; i < count; i++) { fill(st.row, 0, i); st.one.run(st.row); }
}

// into the small table in key order, moved into readings a slice at a time (recent-readings.mjs)
const readingRows = rowStatements((v) => `INSERT INTO readings_recent (device_id, metric, ts, value, received_at, quality) VALUES ${v} ${LAST_WRITE_WINS}`, 6);
const mover = recentMover(db);
const latestRows = rowStatements((v) => `INSERT INTO latest (device_id, metric, ts, value, quality) VALUES ${v}
  ON CONFLICT (device_id, metric) DO UPDATE SET ts = excluded.ts, value = excluded.value, quality = excluded.quality WHERE excluded.ts >= latest.ts`, 5);
// VALUES columns are column1 = device id, column2 = time
const seenRows = rowStatements((v) => `UPDATE devices SET last_seen = v.column2 FROM (VALUES ${v}) AS v
  WHERE devices.id = v.column1 AND (devices.last_seen IS NULL OR devices.last_seen < v.column2)`, 2);
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
// the dictionary of device ids and metric names the main thread's BatchPacker indexes into
// (src/storage/packed-batch.ts, which documents the layout read here)
const names = [];
const FLAG_OUT_OF_RANGE = 1;
const FLAG_STRING = 2;

function learn(p) {
  if (p.reset) names.length = 0;
  for (const name of p.names) names.push(name);
}

// BEGIN IMMEDIATE: the main connection writes the same database (writeTransaction in database.ts)
const write = db.transaction((msg) => {
  const p = msg.packed;
  const { n, s, e } = p;
  // the layout of packedLayout() in packed-batch.ts
  const f64Len = 3 * n + s + e;
  const u32Len = 2 * n + s + 2 * e;
  const f = new Float64Array(p.sab, 0, f64Len);
  const u = new Uint32Array(p.sab, 8 * f64Len, u32Len);
  const flags = new Uint8Array(p.sab, 8 * f64Len + 4 * u32Len, n);
  // string values in reading order: the k-th reading's is strs[strAt[k]]
  const strAt = p.strs.length > 0 ? new Int32Array(n) : undefined;
  if (strAt) for (let k = 0, j = 0; k < n; k++) if (flags[k] & FLAG_STRING) strAt[k] = j++;
  const value = (k) => (flags[k] & FLAG_STRING ? p.strs[strAt[k]] : f[n + k]);
  runRows(readingRows, n, (a, o, k) => {
    a[o] = names[u[k]]; a[o + 1] = names[u[n + k]]; a[o + 2] = f[k]; a[o + 3] = value(k); a[o + 4] = f[2 * n + k]; a[o + 5] = flags[k] & FLAG_OUT_OF_RANGE;
  });
  // latest: the newest reading per (device, metric) of the batch
  const newest = new Map();
  for (let k = 0; k < n; k++) {
    const key = u[k] * 1048576 + u[n + k]; // both below MAX_DICTIONARY (2^20)
    const cur = newest.get(key);
    if (cur === undefined || f[k] >= f[cur]) newest.set(key, k);
  }
  if (n > 0) mover.afterInsert(n);
  const latest = [...newest.values()];
  runRows(latestRows, latest.length, (a, o, j) => {
    const k = latest[j];
    a[o] = names[u[k]]; a[o + 1] = names[u[n + k]]; a[o + 2] = f[k]; a[o + 3] = value(k); a[o + 4] = flags[k] & FLAG_OUT_OF_RANGE;
  });
  if (e > 0) {
    const data = p.eventData.split('\n');
    for (let k = 0; k < e; k++) event.run(names[u[2 * n + s + k]], names[u[2 * n + s + e + k]], f[3 * n + s + k], data[k]);
  }
  for (const d of msg.deadLetters) dead.run(d);
  runRows(seenRows, s, (a, o, k) => { a[o] = names[u[2 * n + k]]; a[o + 1] = f[3 * n + k]; });
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
  // before the transaction: a batch refused for its data still taught the names its halves use
  learn(msg.packed);
  try {
    const evicted = write.immediate(msg);
    // committed: marked for the main thread's poll() first (evicted, then the id), then answered
    Atomics.store(done, 1, evicted);
    Atomics.store(done, 0, msg.id % 0x80000000);
    parentPort.postMessage({ id: msg.id, evicted });
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: String(err && err.message ? err.message : err), code: err?.code, data: isDataError(err) });
  }
});
