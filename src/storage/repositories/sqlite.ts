/**
 * The repositories on the embedded SQLite file (the default, one node): the statements the
 * registries ran before, behind the async interfaces. better-sqlite3 is synchronous, so each
 * method has finished its write when its promise is created.
 */
import { type Db, writeTransaction } from '../database.js';
import {
  ConflictError, actionFilter, apiKeyRecord, auditRecord, deadLetterRecord, deviceRecord, integrationRecord, userModelRecord,
  type ApiKeyRepository, type AuditRepository, type DeadLetterRepository, type DeviceRepository, type IntegrationRepository, type KvRepository, type Repositories,
  type UserModelRepository,
} from './types.js';
import { INSERT_DEAD_LETTER, evictDeadLetters } from '../sqlite-telemetry.js';
import { z } from 'zod';

/** SQLite names the column of a failed UNIQUE: "UNIQUE constraint failed: devices.dev_eui" */
function conflict(err: unknown, fields: Record<string, string>): never {
  const e = err as { code?: string; message?: string };
  if (e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e.code === 'SQLITE_CONSTRAINT_UNIQUE') {
    for (const [column, field] of Object.entries(fields)) {
      if (e.message?.includes(column)) throw new ConflictError(field, e.message);
    }
  }
  throw err;
}

const SeenRow = z.object({ id: z.string(), last_seen: z.number().int() });
const ValueRow = z.object({ value: z.string() });

export function sqliteDevices(db: Db): DeviceRepository {
  const s = {
    all: db.prepare('SELECT * FROM devices'),
    get: db.prepare('SELECT * FROM devices WHERE id = ?'),
    insert: db.prepare(`INSERT INTO devices (id, model, name, site, attributes, dev_eui, secret_hash, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    update: db.prepare('UPDATE devices SET model = ?, name = ?, site = ?, attributes = ?, dev_eui = ?, updated_at = ? WHERE id = ?'),
    secret: db.prepare('UPDATE devices SET secret_hash = ?, updated_at = ? WHERE id = ?'),
    delete: db.prepare('DELETE FROM devices WHERE id = ?'),
    seen: db.prepare('UPDATE devices SET last_seen = ? WHERE id = ? AND (last_seen IS NULL OR last_seen < ?)'),
    seenSince: db.prepare('SELECT id, last_seen FROM devices WHERE last_seen >= ?'),
  };
  const seenMany = writeTransaction(db, (seen: ReadonlyMap<string, number>) => { for (const [id, ts] of seen) s.seen.run(ts, id, ts); });
  return {
    all: async () => s.all.all().map(deviceRecord),
    get: async (id) => { const r = s.get.get(id); return r === undefined ? undefined : deviceRecord(r); },
    insert: async (d) => {
      try {
        s.insert.run(d.id, d.model, d.name, d.site, JSON.stringify(d.attributes), d.devEui, d.secretHash, d.createdAt, d.updatedAt);
      } catch (err) { conflict(err, { 'devices.id': 'id', 'devices.dev_eui': 'lorawan.devEui' }); }
    },
    update: async (id, f) => {
      try {
        return s.update.run(f.model, f.name, f.site, JSON.stringify(f.attributes), f.devEui, f.updatedAt, id).changes > 0;
      } catch (err) { conflict(err, { 'devices.dev_eui': 'lorawan.devEui' }); }
    },
    setSecret: async (id, hash, updatedAt) => s.secret.run(hash, updatedAt, id).changes > 0,
    delete: async (id) => s.delete.run(id).changes > 0,
    markSeen: async (seen) => { if (seen.size > 0) seenMany(seen); },
    seenSince: async (since) => s.seenSince.all(since).map((r) => { const x = SeenRow.parse(r); return { id: x.id, lastSeen: x.last_seen }; }),
  };
}

export function sqliteApiKeys(db: Db): ApiKeyRepository {
  const s = {
    all: db.prepare('SELECT name, role, token_hash, created_at FROM api_keys'),
    get: db.prepare('SELECT name, role, token_hash, created_at FROM api_keys WHERE name = ?'),
    insert: db.prepare('INSERT INTO api_keys (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)'),
    upsert: db.prepare(`INSERT INTO api_keys (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(name) DO UPDATE SET role = excluded.role, token_hash = excluded.token_hash`),
    delete: db.prepare('DELETE FROM api_keys WHERE name = ?'),
  };
  return {
    all: async () => s.all.all().map(apiKeyRecord),
    get: async (name) => { const r = s.get.get(name); return r === undefined ? undefined : apiKeyRecord(r); },
    insert: async (k) => {
      try { s.insert.run(k.name, k.role, k.tokenHash, k.createdAt); } catch (err) { conflict(err, { 'api_keys.name': 'name', 'api_keys.token_hash': 'token' }); }
    },
    upsert: async (k) => {
      try { s.upsert.run(k.name, k.role, k.tokenHash, k.createdAt); } catch (err) { conflict(err, { 'api_keys.token_hash': 'token' }); }
    },
    delete: async (name) => s.delete.run(name).changes > 0,
  };
}

export function sqliteIntegrations(db: Db): IntegrationRepository {
  const s = {
    all: db.prepare('SELECT id, type, secret_hash, created_at FROM integrations'),
    get: db.prepare('SELECT id, type, secret_hash, created_at FROM integrations WHERE id = ?'),
    insert: db.prepare('INSERT INTO integrations (id, type, secret_hash, created_at) VALUES (?, ?, ?, ?)'),
    delete: db.prepare('DELETE FROM integrations WHERE id = ?'),
  };
  return {
    all: async () => s.all.all().map(integrationRecord),
    get: async (id) => { const r = s.get.get(id); return r === undefined ? undefined : integrationRecord(r); },
    insert: async (i) => {
      try { s.insert.run(i.id, i.type, i.secretHash, i.createdAt); } catch (err) { conflict(err, { 'integrations.id': 'id' }); }
    },
    delete: async (id) => s.delete.run(id).changes > 0,
  };
}

export function sqliteAudit(db: Db): AuditRepository {
  const insert = db.prepare('INSERT INTO audit (ts, actor, action, target, details) VALUES (?, ?, ?, ?, ?)');
  return {
    insert: async (e) => { insert.run(e.ts, e.actor, e.action, e.target, e.details ? JSON.stringify(e.details) : null); },
    query: async (q) => {
      const where = ['ts >= ?', 'ts < ?'];
      const args: Array<string | number> = [q.from, q.to];
      if (q.actor !== undefined) { where.push('actor = ?'); args.push(q.actor); }
      if (q.action !== undefined) {
        const f = actionFilter(q.action);
        if (f.prefix) { where.push('substr(action, 1, length(?)) = ?'); args.push(f.value, f.value); } else { where.push('action = ?'); args.push(f.value); }
      }
      if (q.target !== undefined) { where.push('target = ?'); args.push(q.target); }
      const desc = q.order !== 'asc';
      if (q.afterId !== undefined) { where.push(`id ${desc ? '<' : '>'} ?`); args.push(q.afterId); }
      return db.prepare(`SELECT id, ts, actor, action, target, details FROM audit WHERE ${where.join(' AND ')} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ?`)
        .all(...args, q.limit).map(auditRecord);
    },
  };
}

export function sqliteKv(db: Db): KvRepository {
  const get = db.prepare('SELECT value FROM kv WHERE key = ?');
  const set = db.prepare('INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  return {
    get: async (key) => { const r = get.get(key); return r === undefined ? undefined : ValueRow.parse(r).value; },
    set: async (key, value) => { set.run(key, value); },
  };
}

/**
 * Dead letters in the embedded file. The ingest hot path does not come through insert():
 * the SQLite store writes a batch's dead letters inside the group commit's own transaction
 * (on its writer thread), with the same statement and eviction as here.
 */
export function sqliteDeadLetters(db: Db): DeadLetterRepository {
  const add = db.prepare(INSERT_DEAD_LETTER);
  const insert = writeTransaction(db, (rows: readonly unknown[][], maxTotalBytes: number) => {
    for (const r of rows) add.run(r);
    return rows.length > 0 ? evictDeadLetters(db, maxTotalBytes) : 0;
  });
  const totals = db.prepare('SELECT rows, bytes FROM dead_letter_totals WHERE id = 1');
  const TotalsRow = z.object({ rows: z.number().int(), bytes: z.number().int() });
  return {
    insert: async (rows, maxTotalBytes) => insert(rows, maxTotalBytes),
    query: async (q) => {
      const where = ['ts >= ?', 'ts < ?'];
      const args: Array<string | number> = [q.from, q.to];
      if (q.deviceId !== undefined) { where.push('device_id = ?'); args.push(q.deviceId); }
      const desc = q.order === 'desc';
      if (q.afterId !== undefined) { where.push(`id ${desc ? '<' : '>'} ?`); args.push(q.afterId); }
      return db.prepare(`SELECT id, ts, topic, client_id, device_id, reason, payload, payload_bytes, payload_sha256 FROM dead_letters
        WHERE ${where.join(' AND ')} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ?`).all(...args, q.limit).map(deadLetterRecord);
    },
    deleteBefore: async (ts) => db.prepare('DELETE FROM dead_letters WHERE ts < ?').run(ts).changes,
    totals: async () => TotalsRow.parse(totals.get() ?? { rows: 0, bytes: 0 }),
  };
}

export function sqliteUserModels(db: Db): UserModelRepository {
  const s = {
    all: db.prepare('SELECT id, definition, created_at, updated_at FROM user_models'),
    get: db.prepare('SELECT id, definition, created_at, updated_at FROM user_models WHERE id = ?'),
    insert: db.prepare('INSERT INTO user_models (id, definition, created_at, updated_at) VALUES (?, ?, ?, ?)'),
    update: db.prepare('UPDATE user_models SET definition = ?, updated_at = ? WHERE id = ?'),
    delete: db.prepare('DELETE FROM user_models WHERE id = ?'),
  };
  return {
    all: async () => s.all.all().map(userModelRecord),
    get: async (id) => { const r = s.get.get(id); return r === undefined ? undefined : userModelRecord(r); },
    insert: async (m) => {
      try { s.insert.run(m.id, m.definition, m.createdAt, m.updatedAt); } catch (err) { conflict(err, { 'user_models.id': 'id' }); }
    },
    update: async (id, definition, updatedAt) => s.update.run(definition, updatedAt, id).changes > 0,
    delete: async (id) => s.delete.run(id).changes > 0,
  };
}

export function sqliteRepositories(db: Db): Repositories {
  return {
    devices: sqliteDevices(db), apiKeys: sqliteApiKeys(db), integrations: sqliteIntegrations(db), audit: sqliteAudit(db), kv: sqliteKv(db),
    deadLetters: sqliteDeadLetters(db), userModels: sqliteUserModels(db),
  };
}
