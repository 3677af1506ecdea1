/**
 * The durable spool: batches the time-series server did not take (InfluxDB line protocol,
 * or the PostgreSQL store's one-JSON-array-per-line entries), kept in
 * the embedded SQLite store (same file, same fsync as the rest of a commit) until they are
 * drained, oldest first. Rows are appended inside the commit's transaction, so a PUBACK
 * never goes out for a reading that is neither in the server nor on disk.
 */
import type { Db } from './database.js';

export interface SpoolChunk {
  lastId: number;
  lines: string;
  points: number;
}

export class Spool {
  private readonly stmt;
  private rows = 0;
  private pointCount = 0;

  constructor(db: Db, private readonly clock: () => number = Date.now) {
    this.stmt = {
      append: db.prepare('INSERT INTO store_spool (lines, points, created_at) VALUES (?, ?, ?)'),
      head: db.prepare('SELECT id, lines, points FROM store_spool ORDER BY id'),
      remove: db.prepare('DELETE FROM store_spool WHERE id <= ?'),
      stats: db.prepare('SELECT count(*) AS rows, coalesce(sum(points), 0) AS points FROM store_spool'),
      oldest: db.prepare('SELECT min(created_at) AS t FROM store_spool'),
    };
    this.recount();
  }

  get batches(): number { return this.rows; }
  get points(): number { return this.pointCount; }
  get oldestAt(): number | undefined { return (this.stmt.oldest.get() as { t: number | null }).t ?? undefined; }

  private recount(): void {
    const s = this.stmt.stats.get() as { rows: number; points: number };
    this.rows = s.rows;
    this.pointCount = s.points;
  }

  /** call inside the commit's transaction; `points`: the readings among the lines (default: every line is one) */
  append(lines: string[], points = lines.length): void {
    if (lines.length === 0) return;
    this.stmt.append.run(lines.join('\n'), points, this.clock());
    this.rows += 1;
    this.pointCount += points;
  }

  /** the oldest batches, up to about `maxPoints` readings (at least one batch) */
  head(maxPoints: number): SpoolChunk | undefined {
    const parts: string[] = [];
    let points = 0;
    let lastId = 0;
    let n = 0;
    // iterate, not all(): after an outage the spool can hold far more than one chunk
    for (const r of this.stmt.head.iterate() as Iterable<{ id: number; lines: string; points: number }>) {
      if (n > 0 && points + r.points > maxPoints) break;
      parts.push(r.lines);
      points += r.points;
      lastId = r.id;
      n++;
    }
    if (n === 0) return undefined;
    return { lastId, lines: parts.join('\n'), points };
  }

  /** after the server took a chunk */
  remove(chunk: SpoolChunk): void {
    this.stmt.remove.run(chunk.lastId);
    this.recount();
  }
}

/** The drain loop's back-off: a sleep that wake() ends early (new data to drain, or stop). */
export class Backoff {
  private waker: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.waker = undefined; resolve(); }, ms);
      this.waker = () => { clearTimeout(t); this.waker = undefined; resolve(); };
    });
  }

  wake(): void {
    this.waker?.();
  }
}
