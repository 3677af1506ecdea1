/**
 * 005-strict on a database written by an earlier version: every table becomes STRICT, rows
 * that fit are carried over with their values coerced, rows that cannot be placed are left
 * out, and dead letters gain their length and sha256. Real SQLite files.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, openDatabase } from '../../../src/storage/database.js';
import { tempDir } from '../../helpers/gateway.js';

const dir = tempDir('gw-strict-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('005-strict', () => {
  it('migrates a pre-STRICT database, coercing what fits', () => {
    const file = join(dir, 'gateway.db');
    const old = new Database(file);
    old.exec('CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
    for (const [name, sql] of MIGRATIONS.slice(0, MIGRATIONS.findIndex(([n]) => n === '005-strict'))) {
      old.exec(sql);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(name, 1);
    }
    old.prepare("INSERT INTO devices (id, model, secret_hash, created_at, updated_at, last_seen) VALUES ('d1', 'generic.parking', 'h', 1.0, 2, 1700000000000.7)").run();
    old.prepare("INSERT INTO events (device_id, type, ts, data) VALUES ('d1', 'arrival', 1700000000000.5, '{}')").run();
    old.prepare("INSERT INTO events (device_id, type, ts, data) VALUES ('d1', 'arrival', 'not a time', '{}')").run();
    old.prepare("INSERT INTO events (device_id, type, ts, data) VALUES ('d1', 'departure', '1700000000123', '{}')").run();
    old.prepare("INSERT INTO dead_letters (ts, topic, client_id, reason, payload) VALUES (5, 't', 'c', 'r', ?)").run(Buffer.from('abc'));
    old.prepare("INSERT INTO kv (key, value) VALUES ('n', 42)").run();
    old.close();

    const db = openDatabase({ dataDir: dir });
    const tables = db.prepare("SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string; strict: number }>;
    expect(tables.length).toBeGreaterThan(15);
    expect(tables.filter((t) => t.strict !== 1).map((t) => t.name)).toEqual([]);
    expect(db.prepare("SELECT ts, typeof(ts) AS t FROM events WHERE type = 'arrival'").all()).toEqual([{ ts: 1700000000001, t: 'integer' }]);
    expect(db.prepare("SELECT ts FROM events WHERE type = 'departure'").pluck().get()).toBe(1700000000123);
    expect(db.prepare("SELECT last_seen FROM devices WHERE id = 'd1'").pluck().get()).toBe(1700000000001);
    expect(db.prepare('SELECT payload_bytes, payload_sha256 FROM dead_letters').get()).toEqual({ payload_bytes: 3, payload_sha256: createHash('sha256').update('abc').digest('hex') });
    expect(db.prepare('SELECT rows FROM dead_letter_totals').pluck().get()).toBe(1);
    expect(db.prepare("SELECT value FROM kv WHERE key = 'n'").pluck().get()).toBe('42');
    // STRICT now refuses what the old events table stored as a REAL
    expect(() => db.prepare("INSERT INTO events (device_id, type, ts, data) VALUES ('d1', 'tamper', 1.5, '{}')").run()).toThrow(/cannot store REAL value in INTEGER column events.ts/);
    db.close();
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
  });
});
