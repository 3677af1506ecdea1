// WAL checkpoints for the embedded store, in their own thread. A checkpoint copies the pages
// committed to the WAL back into the database file and fsyncs it; run by the writer thread
// (wal_autocheckpoint), the commit that crossed the threshold took it on, and every message
// waiting for that commit waited 100-700 ms (bench/run.ts open loop, "commits over 100 ms").
// A PASSIVE checkpoint on this connection runs beside the writer's commits instead: it takes
// no write lock, copies what is committed, and the writer restarts the WAL from its start
// once everything in it is copied. Plain JavaScript for the same reason as the writer's.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('wal_autocheckpoint = 0');
let timer;
let failing = false;
const pass = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    if (failing) parentPort.postMessage({ type: 'checkpoint', ok: true });
    failing = false;
  } catch (err) {
    // reported once per outage; the writer's own threshold (a backstop) still checkpoints
    if (!failing) parentPort.postMessage({ type: 'checkpoint', ok: false, error: String(err && err.message ? err.message : err) });
    failing = true;
  }
  timer = setTimeout(pass, workerData.intervalMs);
};
timer = setTimeout(pass, workerData.intervalMs);
parentPort.on('message', (msg) => {
  if (msg.type !== 'close') return;
  clearTimeout(timer);
  db.close();
  parentPort.postMessage({ type: 'closed' });
});
