/**
 * The repositories on PostgreSQL (cluster mode: cluster.postgres.url): the shared registry
 * every node reads. Hand-written SQL, as in the SQLite implementation (docs/cluster.md says
 * why). Schema changes are numbered migrations in state_migrations, applied under an
 * advisory lock so nodes starting together do not race.
 *
 * Every change of a device (other than last_seen), an API key or an integration is announced
 * by a trigger with pg_notify on REGISTRY_CHANNEL, payload {"kind", "id"}: delivered to every
 * listening node when (and only if) the writing transaction commits, whatever wrote the row
 * (a node, or an operator with psql). The receiver reloads that row (src/cluster/changes.ts).
 */
import { runMigrations } from '../postgres/schema.js';
import type pg from 'pg';
import { z } from 'zod';
import {
  ConflictError, StoreUnavailableError, actionFilter, apiKeyRecord, auditRecord, deadLetterRecord, deviceRecord, integrationRecord, userModelRecord,
  type ApiKeyRepository, type AuditRepository, type DeadLetterRepository, type DeviceRepository, type IntegrationRepository, type KvRepository, type Repositories,
  type UserModelRepository,
} from './types.js';
import { StoreDataError } from '../telemetry-store.js';
import { oldestCut } from '../sqlite-telemetry.js';

export const REGISTRY_CHANNEL = 'gateway_registry';

const MIGRATIONS: Array<[string, string]> = [
  ['001-registry', `
  CREATE TABLE devices (
    id text PRIMARY KEY,
    model text NOT NULL,
    name text,
    site text NOT NULL DEFAULT '',
    attributes text NOT NULL DEFAULT '{}',
    dev_eui text UNIQUE,
    secret_hash text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    last_seen bigint
  );
  CREATE INDEX devices_site ON devices (site);
  CREATE INDEX devices_last_seen ON devices (last_seen);
  CREATE TABLE integrations (id text PRIMARY KEY, type text NOT NULL, secret_hash text NOT NULL, created_at bigint NOT NULL);
  CREATE TABLE api_keys (name text PRIMARY KEY, role text NOT NULL, token_hash text NOT NULL UNIQUE, created_at bigint NOT NULL);
  CREATE TABLE audit (id bigserial PRIMARY KEY, ts bigint NOT NULL, actor text NOT NULL, action text NOT NULL, target text NOT NULL, details text);
  CREATE INDEX audit_ts ON audit (ts);
  CREATE TABLE kv (key text PRIMARY KEY, value text NOT NULL);

  -- TG_ARGV: the kind announced, the key column (a row of another table has no NEW.id)
  CREATE FUNCTION gateway_registry_notify() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('${REGISTRY_CHANNEL}', json_build_object('kind', TG_ARGV[0],
      'id', (CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END) ->> TG_ARGV[1])::text);
    RETURN NULL;
  END $$;
  CREATE TRIGGER devices_changed AFTER INSERT OR DELETE ON devices FOR EACH ROW EXECUTE FUNCTION gateway_registry_notify('device', 'id');
  -- last_seen moves on every uplink: not a registry change (nodes poll it, src/registry/devices.ts)
  CREATE TRIGGER devices_updated AFTER UPDATE ON devices FOR EACH ROW
    WHEN ((OLD.model, OLD.name, OLD.site, OLD.attributes, OLD.dev_eui, OLD.secret_hash, OLD.updated_at)
      IS DISTINCT FROM (NEW.model, NEW.name, NEW.site, NEW.attributes, NEW.dev_eui, NEW.secret_hash, NEW.updated_at))
    EXECUTE FUNCTION gateway_registry_notify('device', 'id');
  CREATE TRIGGER api_keys_changed AFTER INSERT OR UPDATE OR DELETE ON api_keys FOR EACH ROW EXECUTE FUNCTION gateway_registry_notify('api_key', 'name');
  CREATE TRIGGER integrations_changed AFTER INSERT OR UPDATE OR DELETE ON integrations FOR EACH ROW EXECUTE FUNCTION gateway_registry_notify('integration', 'id');
  `],
  // the columns of the embedded store's dead_letters (005-strict); dead_letter_totals is kept
  // by statement triggers, so a psql DELETE or TRUNCATE keeps what counts against
  // maxTotalBytes right, and a multi-row INSERT updates the totals row once
  ['002-dead-letters', `
  CREATE TABLE dead_letters (
    id bigserial PRIMARY KEY,
    ts bigint NOT NULL,
    topic text NOT NULL,
    client_id text NOT NULL,
    device_id text,
    reason text NOT NULL,
    payload bytea NOT NULL,
    payload_bytes bigint,
    payload_sha256 text,
    size bigint NOT NULL
  );
  CREATE INDEX dead_letters_ts ON dead_letters (ts);
  CREATE INDEX dead_letters_device ON dead_letters (device_id, id);
  CREATE TABLE dead_letter_totals (id int PRIMARY KEY CHECK (id = 1), rows bigint NOT NULL, bytes bigint NOT NULL);
  INSERT INTO dead_letter_totals VALUES (1, 0, 0);
  CREATE FUNCTION gateway_dead_letters_added() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE dead_letter_totals SET rows = rows + (SELECT count(*) FROM added), bytes = bytes + (SELECT coalesce(sum(size), 0) FROM added) WHERE id = 1;
    RETURN NULL;
  END $$;
  CREATE FUNCTION gateway_dead_letters_removed() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE dead_letter_totals SET rows = rows - (SELECT count(*) FROM removed), bytes = bytes - (SELECT coalesce(sum(size), 0) FROM removed) WHERE id = 1;
    RETURN NULL;
  END $$;
  CREATE FUNCTION gateway_dead_letters_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE dead_letter_totals SET rows = 0, bytes = 0 WHERE id = 1;
    RETURN NULL;
  END $$;
  CREATE TRIGGER dead_letters_added AFTER INSERT ON dead_letters REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION gateway_dead_letters_added();
  CREATE TRIGGER dead_letters_removed AFTER DELETE ON dead_letters REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION gateway_dead_letters_removed();
  CREATE TRIGGER dead_letters_truncated AFTER TRUNCATE ON dead_letters FOR EACH STATEMENT EXECUTE FUNCTION gateway_dead_letters_truncated();
  `],
  // user models (codecs) announced on the registry channel: a model created before a device
  // of it is provisioned reaches the other nodes first (NOTIFY is delivered in commit order)
  ['003-user-models', `
  CREATE TABLE user_models (id text PRIMARY KEY, definition text NOT NULL, created_at bigint NOT NULL, updated_at bigint NOT NULL);
  CREATE TRIGGER user_models_changed AFTER INSERT OR UPDATE OR DELETE ON user_models FOR EACH ROW EXECUTE FUNCTION gateway_registry_notify('user_model', 'id');
  `],
];

const MIGRATE_LOCK = 0x6573_7463; // beside the telemetry schema's locks (src/storage/postgres/schema.ts)

export async function migrateState(pool: pg.Pool): Promise<void> {
  await runMigrations(pool, 'state_migrations', MIGRATE_LOCK, MIGRATIONS);
}

/** PostgreSQL's unique_violation (23505) names the constraint: devices_dev_eui_key, devices_pkey */
function conflict(err: unknown, fields: Record<string, string>): never {
  const e = err as { code?: string; constraint?: string; message?: string };
  if (e.code === '23505' && e.constraint !== undefined && fields[e.constraint] !== undefined) throw new ConflictError(fields[e.constraint]!, e.message ?? 'duplicate key');
  throw err;
}

/**
 * The pool as the repositories use it: a failure to reach the server (no SQLSTATE, or class
 * 08 connection exception / 57 operator intervention such as a shutdown) becomes a
 * StoreUnavailableError; errors of the statement itself (a unique violation) pass as they are.
 */
interface Queryable { query(text: string, values?: unknown[]): Promise<pg.QueryResult> }
function guarded(pool: pg.Pool): Queryable {
  const query = async (text: string, values?: unknown[]) => {
    try {
      return await pool.query(text, values);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const sqlstate = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
      if (sqlstate === undefined || sqlstate.startsWith('08') || sqlstate.startsWith('57')) {
        throw new StoreUnavailableError('shared registry (PostgreSQL) unavailable; nothing was changed, retry later', (err as Error).message);
      }
      throw err;
    }
  };
  return { query };
}

const SeenRow = z.object({ id: z.string(), last_seen: z.coerce.number().int() });
const ValueRow = z.object({ value: z.string() });

export function pgDevices(raw: pg.Pool): DeviceRepository {
  const pool = guarded(raw);
  return {
    all: async () => (await pool.query('SELECT * FROM devices')).rows.map(deviceRecord),
    get: async (id) => { const r = (await pool.query('SELECT * FROM devices WHERE id = $1', [id])).rows[0]; return r === undefined ? undefined : deviceRecord(r); },
    insert: async (d) => {
      try {
        await pool.query(`INSERT INTO devices (id, model, name, site, attributes, dev_eui, secret_hash, created_at, updated_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [d.id, d.model, d.name, d.site, JSON.stringify(d.attributes), d.devEui, d.secretHash, d.createdAt, d.updatedAt]);
      } catch (err) { conflict(err, { devices_pkey: 'id', devices_dev_eui_key: 'lorawan.devEui' }); }
    },
    update: async (id, f) => {
      try {
        const r = await pool.query('UPDATE devices SET model = $1, name = $2, site = $3, attributes = $4, dev_eui = $5, updated_at = $6 WHERE id = $7',
          [f.model, f.name, f.site, JSON.stringify(f.attributes), f.devEui, f.updatedAt, id]);
        return (r.rowCount ?? 0) > 0;
      } catch (err) { conflict(err, { devices_dev_eui_key: 'lorawan.devEui' }); }
    },
    setSecret: async (id, hash, updatedAt) => ((await pool.query('UPDATE devices SET secret_hash = $1, updated_at = $2 WHERE id = $3', [hash, updatedAt, id])).rowCount ?? 0) > 0,
    delete: async (id) => ((await pool.query('DELETE FROM devices WHERE id = $1', [id])).rowCount ?? 0) > 0,
    markSeen: async (seen) => {
      if (seen.size === 0) return;
      // one statement for the whole batch; sorted so concurrent nodes lock rows in one order
      const ids = [...seen.keys()].sort();
      await pool.query(`UPDATE devices d SET last_seen = s.ts FROM unnest($1::text[], $2::bigint[]) AS s(id, ts)
        WHERE d.id = s.id AND (d.last_seen IS NULL OR d.last_seen < s.ts)`, [ids, ids.map((id) => seen.get(id)!)]);
    },
    seenSince: async (since) => (await pool.query('SELECT id, last_seen FROM devices WHERE last_seen >= $1', [since])).rows
      .map((r: unknown) => { const x = SeenRow.parse(r); return { id: x.id, lastSeen: x.last_seen }; }),
  };
}

export function pgApiKeys(raw: pg.Pool): ApiKeyRepository {
  const pool = guarded(raw);
  return {
    all: async () => (await pool.query('SELECT name, role, token_hash, created_at FROM api_keys')).rows.map(apiKeyRecord),
    get: async (name) => { const r = (await pool.query('SELECT name, role, token_hash, created_at FROM api_keys WHERE name = $1', [name])).rows[0]; return r === undefined ? undefined : apiKeyRecord(r); },
    insert: async (k) => {
      try {
        await pool.query('INSERT INTO api_keys (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4)', [k.name, k.role, k.tokenHash, k.createdAt]);
      } catch (err) { conflict(err, { api_keys_pkey: 'name', api_keys_token_hash_key: 'token' }); }
    },
    upsert: async (k) => {
      try {
        // only when something changes: every node starting with the same GATEWAY_ADMIN_TOKEN
        // would otherwise announce a change of the admin key
        await pool.query(`INSERT INTO api_keys (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4)
          ON CONFLICT (name) DO UPDATE SET role = excluded.role, token_hash = excluded.token_hash
          WHERE (api_keys.role, api_keys.token_hash) IS DISTINCT FROM (excluded.role, excluded.token_hash)`, [k.name, k.role, k.tokenHash, k.createdAt]);
      } catch (err) { conflict(err, { api_keys_token_hash_key: 'token' }); }
    },
    delete: async (name) => ((await pool.query('DELETE FROM api_keys WHERE name = $1', [name])).rowCount ?? 0) > 0,
  };
}

export function pgIntegrations(raw: pg.Pool): IntegrationRepository {
  const pool = guarded(raw);
  return {
    all: async () => (await pool.query('SELECT id, type, secret_hash, created_at FROM integrations')).rows.map(integrationRecord),
    get: async (id) => { const r = (await pool.query('SELECT id, type, secret_hash, created_at FROM integrations WHERE id = $1', [id])).rows[0]; return r === undefined ? undefined : integrationRecord(r); },
    insert: async (i) => {
      try {
        await pool.query('INSERT INTO integrations (id, type, secret_hash, created_at) VALUES ($1, $2, $3, $4)', [i.id, i.type, i.secretHash, i.createdAt]);
      } catch (err) { conflict(err, { integrations_pkey: 'id' }); }
    },
    delete: async (id) => ((await pool.query('DELETE FROM integrations WHERE id = $1', [id])).rowCount ?? 0) > 0,
  };
}

export function pgAudit(raw: pg.Pool): AuditRepository {
  const pool = guarded(raw);
  return {
    insert: async (e) => {
      await pool.query('INSERT INTO audit (ts, actor, action, target, details) VALUES ($1, $2, $3, $4, $5)', [e.ts, e.actor, e.action, e.target, e.details ? JSON.stringify(e.details) : null]);
    },
    query: async (q) => {
      const args: Array<string | number> = [q.from, q.to];
      const where = ['ts >= $1', 'ts < $2'];
      const arg = (v: string | number) => { args.push(v); return `$${args.length}`; };
      if (q.actor !== undefined) where.push(`actor = ${arg(q.actor)}`);
      if (q.action !== undefined) {
        const f = actionFilter(q.action);
        if (f.prefix) { const p = arg(f.value); where.push(`left(action, length(${p})) = ${p}`); } else where.push(`action = ${arg(f.value)}`);
      }
      if (q.target !== undefined) where.push(`target = ${arg(q.target)}`);
      const desc = q.order !== 'asc';
      if (q.afterId !== undefined) where.push(`id ${desc ? '<' : '>'} ${arg(q.afterId)}`);
      const limit = arg(q.limit);
      return (await pool.query(`SELECT id, ts, actor, action, target, details FROM audit WHERE ${where.join(' AND ')} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ${limit}`, args)).rows.map(auditRecord);
    },
  };
}

export function pgKv(raw: pg.Pool): KvRepository {
  const pool = guarded(raw);
  return {
    get: async (key) => { const r = (await pool.query('SELECT value FROM kv WHERE key = $1', [key])).rows[0]; return r === undefined ? undefined : ValueRow.parse(r).value; },
    set: async (key, value) => { await pool.query('INSERT INTO kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]); },
  };
}

/**
 * PostgreSQL text cannot hold U+0000, which SQLite and MQTT topics, client ids and decoder
 * messages can: a dead letter is kept with it replaced (the payload, bytea, is kept as it came).
 * Refused, it would fail the group commit again on every redelivery.
 */
const pgText = (s: string): string => (s.includes('\u0000') ? s.replace(/\u0000/g, '\uFFFD') : s);

/** SQLSTATE classes about the statement's data (22 data exception, 23 integrity): the committer bisects the batch */
function dataError(err: unknown): Error {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)) return new StoreDataError((err as Error).message, code);
  return err as Error;
}

/**
 * A dead-letter write is part of a group commit: a hung server fails it (no PUBACK, the
 * devices resend) instead of stalling ingest, as the telemetry store's query_timeout does.
 */
const DEAD_LETTER_QUERY_TIMEOUT_MS = 15_000;
// query_timeout per query is read by pg's Client.query (lib/client.js) but missing from its types
const timed = (c: pg.PoolClient, text: string, values?: unknown[]): Promise<pg.QueryResult> => c.query({ text, values, query_timeout: DEAD_LETTER_QUERY_TIMEOUT_MS } as pg.QueryConfig);

const TotalsRow = z.object({ rows: z.coerce.number().int(), bytes: z.coerce.number().int() });
const EvictRow = z.object({ id: z.coerce.number().int(), size: z.coerce.number().int() });

export function pgDeadLetters(raw: pg.Pool): DeadLetterRepository {
  const pool = guarded(raw);
  /** one transaction on one client, the totals row locked first (see insert) */
  const locked = async <T>(fn: (c: pg.PoolClient, totals: { rows: number; bytes: number }) => Promise<T>): Promise<T> => {
    let c: pg.PoolClient;
    try { c = await raw.connect(); } catch (err) {
      throw new StoreUnavailableError('dead letters (PostgreSQL) unavailable; nothing was written', (err as Error).message);
    }
    try {
      await timed(c, 'BEGIN');
      const totals = TotalsRow.parse((await timed(c, 'SELECT rows, bytes FROM dead_letter_totals WHERE id = 1 FOR UPDATE')).rows[0]);
      const out = await fn(c, totals);
      await timed(c, 'COMMIT');
      c.release();
      return out;
    } catch (err) {
      // the connection is discarded, not rolled back: after a timeout a ROLLBACK on it could
      // hang as long as the server; closing it ends the transaction (and its lock) server-side
      c.release(true);
      throw dataError(err);
    }
  };
  return {
    /**
     * Every writer locks the totals row before it inserts or deletes: the nodes' commits and
     * the leader's retention take their locks in one order (no deadlock between an eviction
     * and a retention delete of the same oldest rows), ids are drawn in commit order (a
     * client paging by id does not skip a row committed late with a lower id), and each
     * eviction sees the totals of the commits before it (two nodes do not both evict for
     * the same excess).
     */
    insert: async (rows, maxTotalBytes) => {
      if (rows.length === 0) return 0;
      return locked(async (c, totals) => {
        const cols: [number[], string[], string[], Array<string | null>, string[], Buffer[], number[], string[], number[]] = [[], [], [], [], [], [], [], [], []];
        let added = 0;
        for (const [ts, topic, clientId, deviceId, reason, payload, payloadBytes, sha256, size] of rows) {
          cols[0].push(ts); cols[1].push(pgText(topic)); cols[2].push(pgText(clientId)); cols[3].push(deviceId === null ? null : pgText(deviceId)); cols[4].push(pgText(reason));
          cols[5].push(payload); cols[6].push(payloadBytes); cols[7].push(sha256); cols[8].push(size);
          added += size;
        }
        await timed(c, `INSERT INTO dead_letters (ts, topic, client_id, device_id, reason, payload, payload_bytes, payload_sha256, size)
          SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::bigint[], $8::text[], $9::bigint[])`, cols);
        // the same oldest-first eviction as evictDeadLetters() on SQLite
        let over = totals.bytes + added - maxTotalBytes;
        let evicted = 0;
        while (over > 0) {
          const oldest = (await timed(c, 'SELECT id, size FROM dead_letters ORDER BY id LIMIT 512')).rows.map((r: unknown) => EvictRow.parse(r));
          if (oldest.length === 0) break;
          const step = oldestCut(oldest, over);
          over = step.over;
          evicted += step.evicted;
          await timed(c, 'DELETE FROM dead_letters WHERE id <= $1', [step.cut]);
        }
        return evicted;
      });
    },
    query: async (q) => {
      const args: Array<string | number> = [q.from, q.to];
      const where = ['ts >= $1', 'ts < $2'];
      const arg = (v: string | number) => { args.push(v); return `$${args.length}`; };
      if (q.deviceId !== undefined) where.push(`device_id = ${arg(q.deviceId)}`);
      const desc = q.order === 'desc';
      if (q.afterId !== undefined) where.push(`id ${desc ? '<' : '>'} ${arg(q.afterId)}`);
      const limit = arg(q.limit);
      return (await pool.query(`SELECT id, ts, topic, client_id, device_id, reason, payload, payload_bytes, payload_sha256 FROM dead_letters
        WHERE ${where.join(' AND ')} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ${limit}`, args)).rows.map(deadLetterRecord);
    },
    deleteBefore: async (ts) => locked(async (c) => (await timed(c, 'DELETE FROM dead_letters WHERE ts < $1', [ts])).rowCount ?? 0),
    totals: async () => TotalsRow.parse((await pool.query('SELECT rows, bytes FROM dead_letter_totals WHERE id = 1')).rows[0]),
  };
}

export function pgUserModels(raw: pg.Pool): UserModelRepository {
  const pool = guarded(raw);
  return {
    all: async () => (await pool.query('SELECT id, definition, created_at, updated_at FROM user_models')).rows.map(userModelRecord),
    get: async (id) => { const r = (await pool.query('SELECT id, definition, created_at, updated_at FROM user_models WHERE id = $1', [id])).rows[0]; return r === undefined ? undefined : userModelRecord(r); },
    insert: async (m) => {
      try {
        await pool.query('INSERT INTO user_models (id, definition, created_at, updated_at) VALUES ($1, $2, $3, $4)', [m.id, m.definition, m.createdAt, m.updatedAt]);
      } catch (err) { conflict(err, { user_models_pkey: 'id' }); }
    },
    update: async (id, definition, updatedAt) => ((await pool.query('UPDATE user_models SET definition = $1, updated_at = $2 WHERE id = $3', [definition, updatedAt, id])).rowCount ?? 0) > 0,
    delete: async (id) => ((await pool.query('DELETE FROM user_models WHERE id = $1', [id])).rowCount ?? 0) > 0,
  };
}

export function pgRepositories(pool: pg.Pool): Repositories {
  return {
    devices: pgDevices(pool), apiKeys: pgApiKeys(pool), integrations: pgIntegrations(pool), audit: pgAudit(pool), kv: pgKv(pool),
    deadLetters: pgDeadLetters(pool), userModels: pgUserModels(pool),
  };
}
