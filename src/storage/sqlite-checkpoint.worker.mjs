// WAL checkpoints beside the writer thread, on a connection of their own.
//
// A checkpoint copies the pages the WAL holds into the database file and fsyncs that file. Run
// by the committing connection (SQLite's auto-checkpoint), it sits inside the commit that
// crosses the threshold: ~1 % of commits took 30-50 ms instead of 2-5, and each held every
// message of its batch and of the batch behind it (docs/performance.md, eighth pass). Here a
// PASSIVE checkpoint runs every `everyMs`: it copies what it can without waiting for, or
// blocking, any reader or writer. The writer keeps its own auto-checkpoint as the backstop that
// bounds the WAL (and lets it restart from its beginning); by the time it runs, this thread has
// copied nearly every frame, so it has little left to do. Durability is SQLite's own: a
// PASSIVE checkpoint fsyncs the WAL before it copies and the database after.
// Plain JavaScript, like sqlite-writer.worker.mjs, so it loads the same way under tsx, vitest
// and a compiled build.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.file);
// never the one to checkpoint on commit (it does not commit), and never waiting on a lock: a
// PASSIVE checkpoint that finds the checkpoint lock taken returns busy, and the next tick retries
db.pragma('busy_timeout = 0');

const stats = { runs: 0, busy: 0, copiedFrames: 0, errors: 0, maxMs: 0, lastError: undefined };
let lastCheckpointed = 0;
let lastLog = 0;
/** the writer's last committed batch id (SqliteTelemetryStore.done), when this thread last caught up */
const done = workerData.done;
let caughtUpAt;

function checkpoint() {
  // nothing committed since the last checkpoint that copied everything: an idle gateway does
  // not take the WAL's locks 20 times a second (what the main connection writes meanwhile
  // waits for the next commit, or for the auto-checkpoint)
  const committed = done ? Atomics.load(done, 0) : undefined;
  if (committed !== undefined && committed === caughtUpAt) return;
  const t0 = performance.now();
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    stats.runs++;
    if (r.busy) stats.busy++;
    // `checkpointed` counts from the WAL's start; a WAL that restarted counts from 0 again
    if (r.checkpointed > 0) stats.copiedFrames += r.log >= lastLog && r.checkpointed >= lastCheckpointed ? r.checkpointed - lastCheckpointed : r.checkpointed;
    lastCheckpointed = Math.max(r.checkpointed, 0);
    lastLog = Math.max(r.log, 0);
    caughtUpAt = !r.busy && r.checkpointed === r.log ? committed : undefined;
    stats.lastError = undefined;
  } catch (err) {
    // e.g. SQLITE_BUSY while another connection checkpoints: the writer's own checkpoint
    // still bounds the WAL; this thread tries again next tick
    stats.errors++;
    stats.lastError = String(err && err.message ? err.message : err);
  }
  const ms = performance.now() - t0;
  if (ms > stats.maxMs) stats.maxMs = ms;
}

const timer = setInterval(checkpoint, workerData.everyMs);

parentPort.on('message', (msg) => {
  if (msg.type === 'stats') {
    parentPort.postMessage({ type: 'stats', id: msg.id, stats: { ...stats, maxMs: Math.round(stats.maxMs * 10) / 10 } });
    return;
  }
  if (msg.type === 'close') {
    clearInterval(timer);
    db.close();
    parentPort.postMessage({ type: 'closed' });
  }
});
