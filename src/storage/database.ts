/**
 * The embedded store: one SQLite file in WAL mode holding the device registry, API keys,
 * integrations, dead letters and (store.type = sqlite) the time series. Schema changes are
 * numbered migrations run in order at start-up, each in its own transaction.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

export type Db = Database.Database;

/**
 * A transaction that takes the write lock when it begins (BEGIN IMMEDIATE), waiting out
 * another connection's commit with the busy timeout. Every transaction that writes uses it:
 * the main connection and the writer thread write the same WAL database, and a deferred
 * transaction that reads first fails at its first write with SQLITE_BUSY, at once and without
 * the busy timeout, when the other connection committed since that read (its snapshot is
 * stale). Under load that rolled back an alert re-opened in the same transaction as its
 * re-open check, and its event was never announced (test/unit/storage/main-connection-beside-writer.test.ts).
 */
export function writeTransaction<A extends unknown[], R>(db: Db, fn: (...args: A) => R): (...args: A) => R {
  return db.transaction(fn).immediate;
}

/**
 * Named migrations, applied in this order, each once (recorded in schema_migrations).
 * Append new ones at the end; never edit one that has shipped.
 */
export const MIGRATIONS: Array<[name: string, sql: string]> = [
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
  ['005-strict', `
  -- Every table STRICT (issue 13): a value of the wrong type is refused at INSERT instead of
  -- being stored as whatever it happened to be (a fractional ts became a REAL in events).
  -- Rows are copied with their values coerced to the column's type; an event whose ts is
  -- not a number at all cannot be placed in time and is not carried over.
  CREATE TABLE devices_new (
    id TEXT PRIMARY KEY, model TEXT NOT NULL, name TEXT, site TEXT NOT NULL DEFAULT '',
    attributes TEXT NOT NULL DEFAULT '{}', dev_eui TEXT UNIQUE, secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, last_seen INTEGER
  ) STRICT;
  INSERT INTO devices_new SELECT CAST(id AS TEXT), CAST(model AS TEXT), CAST(name AS TEXT), CAST(site AS TEXT), CAST(attributes AS TEXT),
    CAST(dev_eui AS TEXT), CAST(secret_hash AS TEXT), CAST(ROUND(created_at) AS INTEGER), CAST(ROUND(updated_at) AS INTEGER), CAST(ROUND(last_seen) AS INTEGER) FROM devices;
  DROP TABLE devices;
  ALTER TABLE devices_new RENAME TO devices;
  CREATE INDEX devices_site ON devices(site);

  CREATE TABLE integrations_new (id TEXT PRIMARY KEY, type TEXT NOT NULL, secret_hash TEXT NOT NULL, created_at INTEGER NOT NULL) STRICT;
  INSERT INTO integrations_new SELECT CAST(id AS TEXT), CAST(type AS TEXT), CAST(secret_hash AS TEXT), CAST(ROUND(created_at) AS INTEGER) FROM integrations;
  DROP TABLE integrations;
  ALTER TABLE integrations_new RENAME TO integrations;

  CREATE TABLE api_keys_new (name TEXT PRIMARY KEY, role TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL) STRICT;
  INSERT INTO api_keys_new SELECT CAST(name AS TEXT), CAST(role AS TEXT), CAST(token_hash AS TEXT), CAST(ROUND(created_at) AS INTEGER) FROM api_keys;
  DROP TABLE api_keys;
  ALTER TABLE api_keys_new RENAME TO api_keys;

  CREATE TABLE events_new (
    id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL, data TEXT NOT NULL,
    UNIQUE (device_id, type, ts)
  ) STRICT;
  INSERT OR IGNORE INTO events_new SELECT id, CAST(device_id AS TEXT), CAST(type AS TEXT), CAST(ROUND(ts) AS INTEGER), CAST(data AS TEXT)
    FROM events WHERE typeof(ts) IN ('integer', 'real') ORDER BY id;
  DROP TABLE events;
  ALTER TABLE events_new RENAME TO events;
  CREATE INDEX events_ts ON events(ts);

  -- dead letters keep a bounded payload with its original length and sha256 (NULL: the
  -- payload is whole); size is what a row counts against ingest.deadLetters.maxTotalBytes,
  -- summed by the triggers below (0 from a writer that did not set it: its own lengths)
  CREATE TABLE dead_letters_new (
    id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, topic TEXT NOT NULL, client_id TEXT NOT NULL, device_id TEXT,
    reason TEXT NOT NULL, payload BLOB NOT NULL,
    payload_bytes INTEGER, payload_sha256 TEXT, size INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  INSERT INTO dead_letters_new SELECT id, CAST(ROUND(ts) AS INTEGER), CAST(topic AS TEXT), CAST(client_id AS TEXT), CAST(device_id AS TEXT), CAST(reason AS TEXT),
    CAST(payload AS BLOB), length(CAST(payload AS BLOB)), gw_sha256(CAST(payload AS BLOB)),
    length(CAST(payload AS BLOB)) + length(CAST(topic AS TEXT)) + length(CAST(client_id AS TEXT)) + length(CAST(reason AS TEXT)) + 128
    FROM dead_letters WHERE typeof(ts) IN ('integer', 'real') ORDER BY id;
  DROP TABLE dead_letters;
  ALTER TABLE dead_letters_new RENAME TO dead_letters;
  CREATE INDEX dead_letters_ts ON dead_letters(ts);
  CREATE TABLE dead_letter_totals (id INTEGER PRIMARY KEY CHECK (id = 1), rows INTEGER NOT NULL, bytes INTEGER NOT NULL) STRICT;
  INSERT INTO dead_letter_totals SELECT 1, count(*), coalesce(sum(size), 0) FROM dead_letters;
  CREATE TRIGGER dead_letters_added AFTER INSERT ON dead_letters BEGIN
    UPDATE dead_letter_totals SET rows = rows + 1,
      bytes = bytes + CASE WHEN NEW.size > 0 THEN NEW.size ELSE length(NEW.payload) + length(NEW.topic) + length(NEW.client_id) + length(NEW.reason) + 128 END WHERE id = 1;
  END;
  CREATE TRIGGER dead_letters_removed AFTER DELETE ON dead_letters BEGIN
    UPDATE dead_letter_totals SET rows = rows - 1,
      bytes = bytes - CASE WHEN OLD.size > 0 THEN OLD.size ELSE length(OLD.payload) + length(OLD.topic) + length(OLD.client_id) + length(OLD.reason) + 128 END WHERE id = 1;
  END;

  CREATE TABLE kv_new (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  INSERT INTO kv_new SELECT CAST(key AS TEXT), CAST(value AS TEXT) FROM kv;
  DROP TABLE kv;
  ALTER TABLE kv_new RENAME TO kv;

  CREATE TABLE audit_new (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, details TEXT) STRICT;
  INSERT INTO audit_new SELECT id, CAST(ROUND(ts) AS INTEGER), CAST(actor AS TEXT), CAST(action AS TEXT), CAST(target AS TEXT), CAST(details AS TEXT) FROM audit ORDER BY id;
  DROP TABLE audit;
  ALTER TABLE audit_new RENAME TO audit;
  CREATE INDEX audit_ts ON audit(ts);

  CREATE TABLE alerts_new (
    id TEXT PRIMARY KEY, rule TEXT NOT NULL, device_id TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL, kind TEXT,
    site TEXT NOT NULL DEFAULT '', metric TEXT, value TEXT, threshold REAL, message TEXT NOT NULL,
    opened_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, occurrences INTEGER NOT NULL,
    acknowledged_at INTEGER, acknowledged_by TEXT, assignee TEXT,
    resolved_at INTEGER, resolved_by TEXT, resolution TEXT,
    notes TEXT NOT NULL DEFAULT '[]', silenced INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  INSERT INTO alerts_new SELECT CAST(id AS TEXT), CAST(rule AS TEXT), CAST(device_id AS TEXT), CAST(status AS TEXT), CAST(severity AS TEXT), CAST(kind AS TEXT),
    CAST(site AS TEXT), CAST(metric AS TEXT), CAST(value AS TEXT), CAST(threshold AS REAL), CAST(message AS TEXT),
    CAST(ROUND(opened_at) AS INTEGER), CAST(ROUND(last_seen_at) AS INTEGER), CAST(ROUND(occurrences) AS INTEGER),
    CAST(ROUND(acknowledged_at) AS INTEGER), CAST(acknowledged_by AS TEXT), CAST(assignee AS TEXT),
    CAST(ROUND(resolved_at) AS INTEGER), CAST(resolved_by AS TEXT), CAST(resolution AS TEXT),
    CAST(notes AS TEXT), CAST(ROUND(silenced) AS INTEGER) FROM alerts;
  DROP TABLE alerts;
  ALTER TABLE alerts_new RENAME TO alerts;
  CREATE UNIQUE INDEX alerts_one_unresolved ON alerts(rule, device_id) WHERE status != 'resolved';
  CREATE INDEX alerts_opened ON alerts(opened_at);
  CREATE INDEX alerts_rule_device ON alerts(rule, device_id, resolved_at);

  CREATE TABLE alert_state_new (rule TEXT NOT NULL, device_id TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (rule, device_id)) WITHOUT ROWID, STRICT;
  INSERT INTO alert_state_new SELECT CAST(rule AS TEXT), CAST(device_id AS TEXT), CAST(state AS TEXT) FROM alert_state;
  DROP TABLE alert_state;
  ALTER TABLE alert_state_new RENAME TO alert_state;

  CREATE TABLE silences_new (id TEXT PRIMARY KEY, match TEXT NOT NULL, until INTEGER NOT NULL, reason TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL) STRICT;
  INSERT INTO silences_new SELECT CAST(id AS TEXT), CAST(match AS TEXT), CAST(ROUND(until) AS INTEGER), CAST(reason AS TEXT), CAST(created_by AS TEXT), CAST(ROUND(created_at) AS INTEGER) FROM silences;
  DROP TABLE silences;
  ALTER TABLE silences_new RENAME TO silences;

  CREATE TABLE webhook_outbox_new (
    id INTEGER PRIMARY KEY, webhook TEXT NOT NULL, event TEXT NOT NULL, alert_id TEXT NOT NULL, body TEXT NOT NULL,
    created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
    delivered_at INTEGER, last_status INTEGER, last_error TEXT
  ) STRICT;
  INSERT INTO webhook_outbox_new SELECT id, CAST(webhook AS TEXT), CAST(event AS TEXT), CAST(alert_id AS TEXT), CAST(body AS TEXT),
    CAST(ROUND(created_at) AS INTEGER), CAST(ROUND(attempts) AS INTEGER), CAST(ROUND(next_attempt_at) AS INTEGER),
    CAST(ROUND(delivered_at) AS INTEGER), CAST(ROUND(last_status) AS INTEGER), CAST(last_error AS TEXT) FROM webhook_outbox ORDER BY id;
  DROP TABLE webhook_outbox;
  ALTER TABLE webhook_outbox_new RENAME TO webhook_outbox;
  CREATE INDEX webhook_outbox_pending ON webhook_outbox(webhook, id) WHERE delivered_at IS NULL;

  CREATE TABLE store_spool_new (id INTEGER PRIMARY KEY, lines TEXT NOT NULL, points INTEGER NOT NULL, created_at INTEGER NOT NULL) STRICT;
  INSERT INTO store_spool_new SELECT id, CAST(lines AS TEXT), CAST(ROUND(points) AS INTEGER), CAST(ROUND(created_at) AS INTEGER) FROM store_spool ORDER BY id;
  DROP TABLE store_spool;
  ALTER TABLE store_spool_new RENAME TO store_spool;

  CREATE TABLE schema_migrations_new (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;
  INSERT INTO schema_migrations_new SELECT CAST(name AS TEXT), CAST(ROUND(applied_at) AS INTEGER) FROM schema_migrations;
  DROP TABLE schema_migrations;
  ALTER TABLE schema_migrations_new RENAME TO schema_migrations;
  `],
  ['codecs-001', `
  CREATE TABLE user_models (
    id TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  `],
  // notification channels and escalation (CONTRACT v2): one outbox row per channel message,
  // delivered in id order per channel; one escalation row per alert, its next step due at
  // next_at (state, not a timer: a restart between steps neither loses nor repeats one)
  ['alerts-002-notify', `
  CREATE TABLE notify_outbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    event TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    step INTEGER,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_attempt_at INTEGER,
    delivered_at INTEGER,
    last_status INTEGER,
    last_error TEXT
  ) STRICT;
  CREATE INDEX notify_outbox_pending ON notify_outbox(channel, id) WHERE delivered_at IS NULL;
  CREATE INDEX notify_outbox_alert ON notify_outbox(alert_id, id);
  CREATE TABLE alert_escalation (
    alert_id TEXT PRIMARY KEY,
    policy TEXT NOT NULL,
    step INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    next_at INTEGER,
    heard TEXT NOT NULL DEFAULT '[]'
  ) STRICT;
  CREATE INDEX alert_escalation_due ON alert_escalation(next_at) WHERE next_at IS NOT NULL;
  `],
  // times of a bucket's first and last reading: history older than the raw retention is merged into buckets (storage/backfill.ts)
  ['006-rollup-first-last-ts', `
  ALTER TABLE rollups ADD COLUMN first_ts INTEGER;
  ALTER TABLE rollups ADD COLUMN last_ts INTEGER;
  `],
  // the group commit appends to a small table in the same key order and moves it into
  // readings a slice at a time (storage/recent-readings.mjs): a commit then rewrites a few
  // hundred pages instead of one readings leaf page per busy series. Reads go through
  // readings_all, where a row of readings_recent (the later write) replaces one of readings.
  ['007-readings-recent', `
  CREATE TABLE readings_recent (
    device_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value ANY,
    received_at INTEGER NOT NULL,
    quality INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, metric, ts)
  ) WITHOUT ROWID, STRICT;
  CREATE VIEW readings_all AS
    SELECT device_id, metric, ts, value, received_at, quality FROM readings_recent
    UNION ALL
    SELECT device_id, metric, ts, value, received_at, quality FROM readings AS r
    WHERE NOT EXISTS (SELECT 1 FROM readings_recent AS x WHERE x.device_id = r.device_id AND x.metric = r.metric AND x.ts = r.ts);
  `],
];

export interface OpenOptions {
  dataDir: string;
  synchronous?: 'full' | 'normal';
  file?: string;
}

export function openDatabase({ dataDir, synchronous = 'full', file = 'gateway.db' }: OpenOptions): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, file);
  ownerOnly(path);
  const db = new Database(path);
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
  // SQLite creates -wal and -shm with the database file's mode; ones left by an older
  // version (0644) are tightened here
  for (const extra of ['-wal', '-shm']) if (existsSync(path + extra)) chmodSync(path + extra, 0o600);
  return db;
}

/**
 * Data files are the owner's alone (0600): secrets' hashes, residents' pseudonymised events.
 * The file is created before SQLite opens it, because SQLite creates it with the umask's mode
 * (0644 by default) and gives -wal and -shm the same.
 */
export function ownerOnly(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
  // 005-strict hashes the payloads of dead letters kept by earlier versions
  db.function('gw_sha256', { deterministic: true }, (b: unknown) => createHash('sha256').update(b instanceof Uint8Array ? b : Buffer.from(String(b ?? ''))).digest('hex'));
  const applied = new Set((db.prepare('SELECT name FROM schema_migrations').all() as Array<{ name: string }>).map((r) => r.name));
  for (const [name, sql] of MIGRATIONS) {
    if (applied.has(name)) continue;
    writeTransaction(db, () => {
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
