// Readings reach the store through a small table in the same key order, readings_recent
// (migration 007), and move into readings a slice of devices at a time, in the group
// commit's own transaction. Why: readings is clustered by (device, metric, ts), so a commit
// that inserts straight into it rewrites one leaf page per busy series; with 500 devices a
// commit of one message per device wrote ~2 000 WAL pages (8 MB) and took 24–28 ms, with
// 5 000 devices ~17 500 pages and ~375 ms (bench/recent-micro.ts). Inserted into the small
// table, the rows of many series share a page; moved later, a series' rows arrive several
// at a time, one page for many. Reads see both through the readings_all view, where a recent row (the later write)
// replaces the readings row with the same key: last write wins as before. Plain JavaScript,
// shared by the writer thread (sqlite-writer.worker.mjs) and the main connection.

/**
 * One rule for a repeated (device, metric, ts) with another value: the last write wins, as
 * InfluxDB's own points do, so /telemetry, /latest and the rollups agree on every store.
 * A redelivered duplicate rewrites the same row: stored once. Both the insert into
 * readings_recent and the move into readings use it (sqlite-telemetry.ts imports it too).
 */
export const LAST_WRITE_WINS = 'ON CONFLICT (device_id, metric, ts) DO UPDATE SET value = excluded.value, received_at = excluded.received_at, quality = excluded.quality';

/**
 * The smallest size the recent table is left at, and rows kept per busy series beyond that:
 * the table's pages grow with what it keeps, the rows a move takes per series with it;
 * ~10 rows per series balanced the two at 500 and at 5 000 devices (docs/performance.md).
 */
const MIN_KEEP = 4096;
const ROWS_PER_SERIES = 10;
/** a move takes at least this many rows, and half again what the commit inserted */
const MIN_MOVE = 1024;
/** busy series (rows of `latest`) are recounted every so many commits */
const RECOUNT_EVERY = 256;

/**
 * afterInsert(n), inside the transaction that inserted n rows into readings_recent: while
 * the table holds more than it should keep, moves the next slice of devices (in key order,
 * wrapping round) into readings. Returns the rows moved.
 */
export function recentMover(db) {
  const boundary = db.prepare('SELECT device_id FROM readings_recent WHERE device_id > ? ORDER BY device_id, metric, ts LIMIT 1 OFFSET ?').pluck();
  const cols = 'device_id, metric, ts, value, received_at, quality';
  const moveTo = db.prepare(`INSERT INTO readings (${cols}) SELECT ${cols} FROM readings_recent WHERE device_id > ? AND device_id <= ? ORDER BY device_id, metric, ts ${LAST_WRITE_WINS}`);
  const dropTo = db.prepare('DELETE FROM readings_recent WHERE device_id > ? AND device_id <= ?');
  const moveRest = db.prepare(`INSERT INTO readings (${cols}) SELECT ${cols} FROM readings_recent WHERE device_id > ? ORDER BY device_id, metric, ts ${LAST_WRITE_WINS}`);
  const dropRest = db.prepare('DELETE FROM readings_recent WHERE device_id > ?');
  const devicesTo = db.prepare('SELECT DISTINCT device_id FROM readings_recent WHERE device_id > ? AND device_id <= ? ORDER BY device_id').pluck();
  const devicesRest = db.prepare('SELECT DISTINCT device_id FROM readings_recent WHERE device_id > ? ORDER BY device_id').pluck();
  const count = db.prepare('SELECT count(*) FROM readings_recent').pluck();
  const series = db.prepare('SELECT count(*) FROM latest').pluck();
  // in a savepoint of the commit's transaction: a slice that readings refuses (a constraint
  // readings_recent does not have) stays where it is, readable and durable, and the commit
  // that happened to move it goes through; the next pass tries it again
  const moveSlice = db.transaction((lo, hi) => {
    if (hi === undefined) { const moved = moveRest.run(lo).changes; dropRest.run(lo); return moved; }
    const moved = moveTo.run(lo, hi).changes;
    dropTo.run(lo, hi);
    return moved;
  });
  let rows = count.get();
  let keep = 0;
  let commits = 0;
  let cursor = '';
  return {
    afterInsert(inserted) {
      // an upsert of a key already there counts as a row: an overestimate, corrected below
      rows += inserted;
      if (commits++ % RECOUNT_EVERY === 0) keep = Math.max(MIN_KEEP, ROWS_PER_SERIES * series.get());
      if (rows <= keep) return 0;
      const hi = boundary.get(cursor, Math.max(MIN_MOVE, Math.ceil(inserted * 1.5)));
      let moved = 0;
      try {
        moved = moveSlice(cursor, hi);
      } catch {
        // device by device: only the device whose rows readings refuses stays behind
        let lo = cursor;
        for (const device of (hi === undefined ? devicesRest.all(cursor) : devicesTo.all(cursor, hi))) {
          try {
            moved += moveSlice(lo, device);
          } catch {
            // stays in readings_recent, read through readings_all; tried again on the next pass
          }
          lo = device;
        }
      }
      if (hi === undefined) {
        cursor = '';
        rows = count.get();
      } else {
        rows -= moved;
        cursor = hi;
      }
      return moved;
    },
  };
}
