/**
 * The main connection beside the writer thread, on one WAL database. The alerts' transaction runs beside the writer's group commits. A deferred transaction
 *   that reads first (is the alert recently resolved?) and then writes fails with SQLITE_BUSY
 *   (a stale snapshot, which the busy timeout does not retry) when the writer committed in
 *   between; under load that lost the alert.opened of a re-opened alert (its rows rolled back,
 *   its event never announced). It takes the write lock when it begins (writeTransaction).
 * A group commit's evaluation seldom writes an alert: it runs in transactionOnWrite, which
 * takes the lock (BEGIN IMMEDIATE) only before the first write, so a quiet evaluation neither
 * costs a BEGIN and a COMMIT nor holds the writer thread off.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqliteAlertRepositories } from '../../../src/alerts/sqlite-repositories.js';
import { openDatabase, type Db } from '../../../src/storage/database.js';

let dir: string;
let db: Db;
let writer: Database.Database;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gw-tx-lock-'));
  db = openDatabase({ dataDir: dir });
  // a second connection, as the writer thread's; no busy timeout, so a held lock shows at once
  writer = new Database(join(dir, 'gateway.db'));
  writer.pragma('busy_timeout = 0');
});
afterEach(() => {
  writer.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const alert = (id: string) => ({
  id, rule: 'bin_full', deviceId: 'bin-1', status: 'open' as const, severity: 'major', kind: 'bin_fill', site: 'a/b', metric: 'fill_pct', value: 90, threshold: 80,
  message: 'm', openedAt: 1, lastSeenAt: 1, occurrences: 1, acknowledgedAt: null, acknowledgedBy: null, assignee: null,
  resolvedAt: null, resolvedBy: null, resolution: null, notes: [], silenced: false,
});

describe('the alerts transaction beside the writer connection', () => {
  it('reads, lets another connection commit nothing in between, and writes', () => {
    const repos = sqliteAlertRepositories(db);
    let writerErr: string | undefined;
    expect(() => repos.transaction(() => {
      // the first statement is a read (the re-open check)
      expect(repos.alerts.recentlyResolved('bin_full', 'bin-1', 0)).toBeUndefined();
      // the writer thread commits a group meanwhile: it must wait for this transaction
      try {
        writer.prepare("INSERT INTO kv (key, value) VALUES ('x', 'y')").run();
      } catch (err) {
        writerErr = (err as { code?: string }).code;
      }
      repos.alerts.save(alert('01A') as never);
    })).not.toThrow();
    expect(writerErr).toBe('SQLITE_BUSY');
    expect(repos.alerts.get('01A')?.status).toBe('open');
  });

  it('an evaluation that writes nothing takes no lock and opens no transaction', () => {
    const repos = sqliteAlertRepositories(db);
    repos.transactionOnWrite!(() => {
      expect(repos.alerts.recentlyResolved('bin_full', 'bin-1', 0)).toBeUndefined();
      expect(db.inTransaction).toBe(false);
      // the writer thread commits meanwhile: nothing holds it off
      writer.prepare("INSERT INTO kv (key, value) VALUES ('x', 'y')").run();
    });
    expect(writer.prepare("SELECT value FROM kv WHERE key = 'x'").pluck().get()).toBe('y');
  });

  it('takes the write lock before its first write and keeps it to the end', () => {
    const repos = sqliteAlertRepositories(db);
    const codes: Array<string | undefined> = [];
    const tryWriter = () => {
      try { writer.prepare("INSERT OR REPLACE INTO kv (key, value) VALUES ('x', 'z')").run(); codes.push(undefined); } catch (err) { codes.push((err as { code?: string }).code); }
    };
    repos.transactionOnWrite!((write) => {
      expect(repos.alerts.recentlyResolved('bin_full', 'bin-1', 0)).toBeUndefined();
      tryWriter(); // before the first write: goes through
      write();
      repos.alerts.save(alert('01A') as never);
      tryWriter(); // between two writes: waits for this transaction
      write(); // a second call changes nothing
      expect(repos.alerts.recentlyResolved('bin_full', 'bin-1', 0)).toBeUndefined();
      repos.alerts.save({ ...alert('01B'), deviceId: 'bin-2' } as never);
    });
    expect(codes).toEqual([undefined, 'SQLITE_BUSY']);
    expect(db.inTransaction).toBe(false);
    expect(repos.alerts.get('01A')?.status).toBe('open');
    expect(repos.alerts.get('01B')?.status).toBe('open');
  });

  it('rolls back every write when the evaluation fails after its first', () => {
    const repos = sqliteAlertRepositories(db);
    expect(() => repos.transactionOnWrite!((write) => {
      write();
      repos.alerts.save(alert('01A') as never);
      throw new Error('outbox refused');
    })).toThrow('outbox refused');
    expect(db.inTransaction).toBe(false);
    expect(repos.alerts.get('01A')).toBeUndefined();
  });
});
