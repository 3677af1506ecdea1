/**
 * The PostgreSQL telemetry schema and its month partitions.
 *
 * readings is declaratively partitioned by RANGE (ts) in UTC months, with a DEFAULT
 * partition: an insert never fails for want of a partition (a reading years in the future
 * lands in DEFAULT). Months are created ahead of time (start-up and every retention run) and
 * on demand before a commit that has readings of a month not seen yet. Creating a month
 * moves that month's rows out of DEFAULT in the same transaction; without that, a plain
 * CREATE TABLE ... PARTITION OF fails once DEFAULT holds a row of the range.
 *
 * Indexes, as the queries use them: the primary key btree (device_id, metric, ts) serves
 * every series / previous / scan query (one device and metric, a ts range, in ts order) and
 * is the duplicate rule's conflict target; a BRIN on ts serves retention's range deletes
 * and the rollup job's time-range scan over all series, at a few pages per partition.
 */
import type pg from 'pg';
import { pgTransaction } from './tx.js';

const MIGRATIONS: Array<[string, string]> = [
  ['001-telemetry', `
  CREATE TABLE readings (
    device_id text NOT NULL,
    metric text NOT NULL,
    ts bigint NOT NULL,
    num double precision,
    txt text,
    received_at bigint NOT NULL,
    quality smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, metric, ts)
  ) PARTITION BY RANGE (ts);
  CREATE TABLE readings_default PARTITION OF readings DEFAULT;
  CREATE INDEX readings_ts_brin ON readings USING brin (ts) WITH (pages_per_range = 32);
  CREATE TABLE latest (
    device_id text NOT NULL,
    metric text NOT NULL,
    ts bigint NOT NULL,
    num double precision,
    txt text,
    quality smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, metric)
  );
  CREATE TABLE events (
    id bigserial PRIMARY KEY,
    device_id text NOT NULL,
    type text NOT NULL,
    ts bigint NOT NULL,
    data text NOT NULL,
    UNIQUE (device_id, type, ts)
  );
  CREATE INDEX events_ts ON events (ts);
  CREATE TABLE rollups (
    period text NOT NULL,
    device_id text NOT NULL,
    metric text NOT NULL,
    bucket bigint NOT NULL,
    count bigint NOT NULL,
    sum double precision NOT NULL,
    min double precision NOT NULL,
    max double precision NOT NULL,
    first double precision NOT NULL,
    last double precision NOT NULL,
    PRIMARY KEY (period, device_id, metric, bucket)
  );
  CREATE TABLE store_kv (key text PRIMARY KEY, value text NOT NULL);
  `],
];

/** one lock id per kind of schema change, so nodes starting together do not race */
const MIGRATE_LOCK = 0x6573_7461; // "esta"
const PARTITION_LOCK = 0x6573_7462;

export async function migrate(pool: pg.Pool): Promise<void> {
  await runMigrations(pool, 'telemetry_migrations', MIGRATE_LOCK, MIGRATIONS);
}

/**
 * Numbered migrations applied in order, each once, in one transaction under an advisory lock,
 * so nodes starting together migrate once (the telemetry schema here, the shared state in
 * storage/repositories/postgres.ts, each with its own table and lock).
 */
export async function runMigrations(pool: pg.Pool, table: string, lock: number, migrations: ReadonlyArray<readonly [string, string]>): Promise<void> {
  await pgTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [lock]);
    await c.query(`CREATE TABLE IF NOT EXISTS ${table} (name text PRIMARY KEY, applied_at bigint NOT NULL)`);
    const done = new Set((await c.query('SELECT name FROM ' + table)).rows.map((r: unknown) => String((r as { name: unknown }).name)));
    for (const [name, sql] of migrations) {
      if (done.has(name)) continue;
      await c.query(sql);
      await c.query(`INSERT INTO ${table} (name, applied_at) VALUES ($1, $2)`, [name, Date.now()]);
    }
  });
}

/** start of the UTC month holding ts */
export function monthOf(ts: number): number {
  const d = new Date(ts);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function nextMonth(monthStart: number): number {
  const d = new Date(monthStart);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export function partitionName(monthStart: number): string {
  const d = new Date(monthStart);
  return `readings_y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** existing month partitions: name -> [from, to) */
export async function listPartitions(pool: pg.Pool): Promise<Map<string, { from: number; to: number }>> {
  const rows = (await pool.query<{ name: string; bound: string }>(`SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relname = 'readings' AND c.relname <> 'readings_default'`)).rows;
  const out = new Map<string, { from: number; to: number }>();
  for (const r of rows) {
    const m = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/.exec(r.bound);
    if (m) out.set(r.name, { from: Number(m[1]), to: Number(m[2]) });
  }
  return out;
}

/**
 * Creates the month partition when missing, moving that month's rows out of DEFAULT.
 * Returns false when another node had created it already.
 */
export async function ensureMonth(pool: pg.Pool, monthStart: number): Promise<boolean> {
  const name = partitionName(monthStart);
  const to = nextMonth(monthStart);
  return pgTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
    const exists = (await c.query('SELECT 1 FROM pg_class WHERE relname = $1', [name])).rowCount! > 0;
    if (!exists) {
      // name is generated from a number above, never from input
      await c.query(`CREATE TABLE ${name} (LIKE readings INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await c.query(`WITH moved AS (DELETE FROM readings_default WHERE ts >= $1 AND ts < $2 RETURNING *) INSERT INTO ${name} SELECT * FROM moved`, [monthStart, to]);
      await c.query(`ALTER TABLE readings ATTACH PARTITION ${name} FOR VALUES FROM (${monthStart}) TO (${to})`);
    }
    return !exists;
  });
}
