/**
 * The embedded store: one SQLite file in WAL mode holding the device registry, API keys,
 * integrations, dead letters and (store.type = sqlite) the time series. Schema changes are
 * numbered migrations run in order at start-up, each in its own transaction.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type Db = Database.Database;

/**
 * Named migrations, applied in this order, each once (recorded in schema_migrations).
 * Append new ones at the end; never edit one that has shipped.
 */
const MIGRATIONS: Array<[name: string, sql: string]> = [
  ['001-core', `
  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    name TEXT,
    site TEXT NOT NULL DEFAULT '',
    attributes TEXT NOT NULL DEFAULT '{}',
    dev_eui TEXT UNIQUE,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_seen INTEGER
  );
  CREATE INDEX devices_site ON devices(site);
  CREATE TABLE integrations (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE api_keys (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE readings (
    device_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value ANY,
    received_at INTEGER NOT NULL,
    quality INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, metric, ts)
  ) WITHOUT ROWID, STRICT;
  CREATE TABLE latest (
    device_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value ANY,
    quality INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, metric)
  ) WITHOUT ROWID, STRICT;
  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    type TEXT NOT NULL,
    ts INTEGER NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (device_id, type, ts)
  );
  CREATE INDEX events_ts ON events(ts);
  CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    topic TEXT NOT NULL,
    client_id TEXT NOT NULL,
    device_id TEXT,
    reason TEXT NOT NULL,
    payload BLOB NOT NULL
  );
  CREATE INDEX dead_letters_ts ON dead_letters(ts);
  CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `],
  ['002-audit', `
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT
  );
  CREATE INDEX audit_ts ON audit(ts);
  `],
  ['alerts-001', `
  CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    device_id TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    kind TEXT,
    site TEXT NOT NULL DEFAULT '',
    metric TEXT,
    value TEXT,
    threshold REAL,
    message TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    occurrences INTEGER NOT NULL,
    acknowledged_at INTEGER, acknowledged_by TEXT, assignee TEXT,
    resolved_at INTEGER, resolved_by TEXT, resolution TEXT,
    notes TEXT NOT NULL DEFAULT '[]',
    silenced INTEGER NOT NULL DEFAULT 0
  );
  CREATE UNIQUE INDEX alerts_one_unresolved ON alerts(rule, device_id) WHERE status != 'resolved';
  CREATE INDEX alerts_opened ON alerts(opened_at);
  CREATE INDEX alerts_rule_device ON alerts(rule, device_id, resolved_at);
  CREATE TABLE alert_state (rule TEXT NOT NULL, device_id TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (rule, device_id)) WITHOUT ROWID;
  CREATE TABLE silences (id TEXT PRIMARY KEY, match TEXT NOT NULL, until INTEGER NOT NULL, reason TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL);
  CREATE TABLE webhook_outbox (
    id INTEGER PRIMARY KEY,
    webhook TEXT NOT NULL,
    event TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at INTEGER,
    last_status INTEGER,
    last_error TEXT
  );
  CREATE INDEX webhook_outbox_pending ON webhook_outbox(webhook, id) WHERE delivered_at IS NULL;
  `],
  ['003-store-spool', `
  CREATE TABLE store_spool (
    id INTEGER PRIMARY KEY,
    lines TEXT NOT NULL,
    points INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  `],
  ['004-rollups', `
  CREATE TABLE rollups (
    period TEXT NOT NULL,
    device_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count INTEGER NOT NULL,
    sum REAL NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    first REAL NOT NULL,
    last REAL NOT NULL,
    PRIMARY KEY (period, device_id, metric, bucket)
  ) WITHOUT ROWID, STRICT;
  `],
  // times of a bucket's first and last reading: history older than the raw retention is merged into buckets (storage/backfill.ts)
  ['005-rollup-first-last-ts', `
  ALTER TABLE rollups ADD COLUMN first_ts INTEGER;
  ALTER TABLE rollups ADD COLUMN last_ts INTEGER;
  `],
];

export interface OpenOptions {
  dataDir: string;
  synchronous?: 'full' | 'normal';
  file?: string;
}

export function openDatabase({ dataDir, synchronous = 'full', file = 'gateway.db' }: OpenOptions): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dataDir, file));
  db.pragma('journal_mode = WAL');
  // FULL: every commit's WAL frames are fsynced before the commit returns, so a PUBACK
  // sent after commit survives power loss, not only a process crash.
  db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
  db.pragma('busy_timeout = 5000');
  // any connection's commit may checkpoint: the same ~40 MB threshold as the writer thread's
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('foreign_keys = ON');
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -32000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const applied = new Set((db.prepare('SELECT name FROM schema_migrations').all() as Array<{ name: string }>).map((r) => r.name));
  for (const [name, sql] of MIGRATIONS) {
    if (applied.has(name)) continue;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)').run(name, Date.now());
    })();
  }
}

export function kvGet(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function kvSet(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}
