/**
 * Alerts, rule states, silences and the notification outbox in PostgreSQL (cluster mode:
 * cluster.postgres.url), so that every node sees one alert per (rule, device) whichever node
 * a reading arrived on (issue 15 item 5, CONTRACT v2 "Cluster").
 *
 * Correctness across nodes rests on three things, all here:
 * - `evaluateLocked` runs one group commit's evaluation in one transaction that first takes
 *   a transaction-scoped advisory lock per (rule, device) it touches, in sorted order (two
 *   nodes locking the same pairs cannot deadlock), then reads those pairs' rule states,
 *   unresolved alerts and recently resolved alerts from the database — never from a node's
 *   cache, which another node may have made stale — and writes the result before COMMIT
 *   releases the locks. A second node evaluating the same device waits, then sees the first
 *   node's state: the readings are applied in the order the commits reach the lock, and within
 *   one batch in reading order (the caller sorts them).
 *   An advisory lock rather than SELECT … FOR UPDATE: the first reading of a (rule, device)
 *   has no state row yet to lock.
 * - the partial unique index `alerts_one_unresolved` on (rule, device_id) WHERE status <>
 *   'resolved': should anything bypass the lock (an operator, a bug), the second open fails
 *   and its transaction rolls back rather than leaving two unresolved alerts.
 * - outbox rows (one per channel per event) are written in the same transaction as the alert,
 *   once, by the node that made the change; only the leader delivers them (claimDue, with
 *   FOR UPDATE SKIP LOCKED so even an overlap of two leaders cannot send a row twice).
 *
 * Each committed lifecycle event is announced with pg_notify on ALERTS_CHANNEL
 * (`{"event", "id", "node"}`), delivered to every listening node after COMMIT: their SSE streams
 * reload the alert by id and push it. Silence changes are announced on the same channel
 * (`{"event": "silences"}`), so nodes reload their silence list.
 */
import type pg from 'pg';
import { runMigrations } from '../storage/postgres/schema.js';
import type { ReadingValue } from '../core/model.js';
import type { Severity } from './rules.js';
import type { Alert, AlertStatus } from './lifecycle.js';
import type { Silence } from './repositories.js';
import { pgTransaction } from '../storage/postgres/tx.js';

export const ALERTS_CHANNEL = 'gateway_alerts';

const MIGRATIONS: Array<[string, string]> = [
  ['001-alerts', `
  CREATE TABLE alerts (
    id text PRIMARY KEY, rule text NOT NULL, device_id text NOT NULL, status text NOT NULL, severity text NOT NULL, kind text,
    site text NOT NULL DEFAULT '', metric text, value text, threshold double precision, message text NOT NULL,
    opened_at bigint NOT NULL, last_seen_at bigint NOT NULL, occurrences integer NOT NULL,
    acknowledged_at bigint, acknowledged_by text, assignee text, resolved_at bigint, resolved_by text, resolution text,
    notes text NOT NULL DEFAULT '[]', silenced boolean NOT NULL DEFAULT false
  );
  CREATE UNIQUE INDEX alerts_one_unresolved ON alerts (rule, device_id) WHERE status <> 'resolved';
  CREATE INDEX alerts_opened ON alerts (opened_at);
  CREATE INDEX alerts_rule_device ON alerts (rule, device_id, resolved_at);
  CREATE TABLE alert_state (rule text NOT NULL, device_id text NOT NULL, state text NOT NULL, PRIMARY KEY (rule, device_id));
  CREATE TABLE silences (id text PRIMARY KEY, match text NOT NULL, until bigint NOT NULL, reason text NOT NULL, created_by text NOT NULL, created_at bigint NOT NULL);
  CREATE TABLE alert_outbox (
    id bigserial PRIMARY KEY, channel text NOT NULL, event text NOT NULL, alert_id text NOT NULL, body text NOT NULL,
    attempts integer NOT NULL DEFAULT 0, next_at bigint NOT NULL, created_at bigint NOT NULL
  );
  CREATE INDEX alert_outbox_due ON alert_outbox (next_at);
  `],
  // the leader's sweep (cluster mode): `waiting` marks states a tick can change (a door held
  // open, a rate window), so one indexed query per sweep finds them whichever node wrote them;
  // `seen_at` is the device's newest message as evaluated under the pair's lock, so a sweep
  // whose registry copy of last-seen lags (synced each second) cannot call it offline
  ['002-sweep', `
  ALTER TABLE alert_state ADD COLUMN waiting boolean NOT NULL DEFAULT false, ADD COLUMN seen_at bigint;
  -- states written before this column: flag (since) and rate (win) states with entries;
  -- a row marked by mistake is found not waiting by the next sweep and rewritten
  UPDATE alert_state SET waiting = true WHERE state LIKE '%"since":{"%' OR state LIKE '%"win":{"%';
  CREATE INDEX alert_state_waiting ON alert_state (rule, device_id) WHERE waiting;
  `],
];

const MIGRATE_LOCK = 0x6573_7464; // beside the telemetry (…61, …62) and registry (…63) locks

export async function migrateAlerts(pool: pg.Pool): Promise<void> {
  await runMigrations(pool, 'alert_migrations', MIGRATE_LOCK, MIGRATIONS);
}

interface Row {
  id: string; rule: string; device_id: string; status: AlertStatus; severity: Severity; kind: string | null; site: string;
  metric: string | null; value: string | null; threshold: number | null; message: string; opened_at: string; last_seen_at: string;
  occurrences: number; acknowledged_at: string | null; acknowledged_by: string | null; assignee: string | null;
  resolved_at: string | null; resolved_by: string | null; resolution: 'auto' | 'manual' | null; notes: string; silenced: boolean;
}

// bigint columns arrive as strings from pg
const ms = (v: string | null): number | null => (v === null ? null : Number(v));

const fromRow = (r: Row): Alert => ({
  id: r.id, rule: r.rule, severity: r.severity, status: r.status, deviceId: r.device_id, kind: r.kind, site: r.site,
  metric: r.metric, value: r.value === null ? null : (JSON.parse(r.value) as ReadingValue), threshold: r.threshold, message: r.message,
  openedAt: Number(r.opened_at), lastSeenAt: Number(r.last_seen_at), occurrences: r.occurrences,
  acknowledgedAt: ms(r.acknowledged_at), acknowledgedBy: r.acknowledged_by, assignee: r.assignee,
  resolvedAt: ms(r.resolved_at), resolvedBy: r.resolved_by, resolution: r.resolution, notes: JSON.parse(r.notes) as Alert['notes'], silenced: r.silenced,
});

const UPSERT = `INSERT INTO alerts (id, rule, device_id, status, severity, kind, site, metric, value, threshold, message, opened_at, last_seen_at, occurrences,
  acknowledged_at, acknowledged_by, assignee, resolved_at, resolved_by, resolution, notes, silenced)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
  ON CONFLICT (id) DO UPDATE SET status = excluded.status, metric = excluded.metric, value = excluded.value, threshold = excluded.threshold,
  message = excluded.message, last_seen_at = excluded.last_seen_at, occurrences = excluded.occurrences, acknowledged_at = excluded.acknowledged_at,
  acknowledged_by = excluded.acknowledged_by, assignee = excluded.assignee, resolved_at = excluded.resolved_at, resolved_by = excluded.resolved_by,
  resolution = excluded.resolution, notes = excluded.notes, silenced = excluded.silenced, site = excluded.site`;

const params = (a: Alert) => [a.id, a.rule, a.deviceId, a.status, a.severity, a.kind, a.site, a.metric, a.value === null ? null : JSON.stringify(a.value),
  a.threshold, a.message, a.openedAt, a.lastSeenAt, a.occurrences, a.acknowledgedAt, a.acknowledgedBy, a.assignee, a.resolvedAt, a.resolvedBy,
  a.resolution, JSON.stringify(a.notes), a.silenced];

export const pairKey = (rule: string, deviceId: string): string => `${rule}\u0000${deviceId}`;

/** what one evaluation sees of the (rule, device) pairs it locked, read inside its transaction */
export interface LockedView {
  /** rule state JSON per pairKey */
  states: Map<string, string>;
  /** per pairKey with a state row: its `waiting` flag and `seen_at` (the newest message evaluated) */
  meta: Map<string, { waiting: boolean; seenAt: number | null }>;
  /** the unresolved alert per pairKey */
  unresolved: Map<string, Alert>;
  /** per pairKey, the newest alert resolved at or after `resolvedSince` (re-open instead of a new alert) */
  recentlyResolved: Map<string, Alert>;
  /** the alerts asked for by id (lifecycle actions), as committed */
  byId: Map<string, Alert>;
}

/** what one evaluation writes, in the same transaction */
export interface LockedChanges {
  /**
   * state JSON per pair; undefined deletes. `waiting`: a tick can change it (the sweep's query
   * finds it); `seenAt` given: the device's newest message (kept when absent)
   */
  states: Array<{ rule: string; deviceId: string; json: string | undefined; waiting?: boolean; seenAt?: number }>;
  /** lifecycle events in order; the last save of an alert wins */
  events: Array<{ event: string; alert: Alert; outbox: Array<{ channel: string; body: string }> }>;
}

/** a rule state a tick can change (a door held open, a rate window), as committed */
export interface WaitingState { rule: string; deviceId: string; state: string; seenAt: number | null }

export interface OutboxRow { id: number; channel: string; event: string; alertId: string; body: string; attempts: number }

export class PostgresAlertStore {
  /**
   * `inCommit`: more writes for the committed events on the same client, before COMMIT (the
   * notifier's escalation rows, notify/postgres-repository.ts): they commit with the alert
   * change or not at all
   */
  constructor(private readonly pool: pg.Pool, private readonly nodeId: string, private readonly clock: () => number = Date.now,
    private readonly inCommit?: (c: pg.PoolClient, events: LockedChanges['events']) => Promise<void>) {}

  /**
   * One group commit's (or sweep's) evaluation across the cluster: locks the pairs, hands fn
   * their current state from the database, writes what fn returns, announces each event
   * after COMMIT (pg_notify is transactional). fn must be pure apart from what it returns: on
   * a conflict the transaction is rolled back and nothing of it is kept.
   */
  async evaluateLocked<T>(pairs: Array<{ rule: string; deviceId: string }>, resolvedSince: number, fn: (view: LockedView) => { changes: LockedChanges; result: T }, alertIds: string[] = []): Promise<T> {
    const keys = [...new Set(pairs.map((p) => pairKey(p.rule, p.deviceId)))].sort();
    const rules = keys.map((k) => k.split('\u0000')[0]!);
    const devices = keys.map((k) => k.split('\u0000')[1]!);
    return pgTransaction(this.pool, async (c) => {
      // one statement for all locks, taken in the arrays' (sorted) order; the two-key form
      // keeps rule and device apart (a hash collision only serializes two pairs needlessly)
      await c.query('SELECT pg_advisory_xact_lock(hashtext(r), hashtext(d)) FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(r, d, n) ORDER BY n', [rules, devices]);
      const st = await c.query<{ rule: string; device_id: string; state: string; waiting: boolean; seen_at: string | null }>('SELECT s.rule, s.device_id, s.state, s.waiting, s.seen_at FROM alert_state s JOIN unnest($1::text[], $2::text[]) AS p(rule, device_id) USING (rule, device_id)', [rules, devices]);
      const un = await c.query<Row>("SELECT a.* FROM alerts a JOIN unnest($1::text[], $2::text[]) AS p(rule, device_id) USING (rule, device_id) WHERE a.status <> 'resolved'", [rules, devices]);
      const rec = await c.query<Row>(`SELECT DISTINCT ON (a.rule, a.device_id) a.* FROM alerts a JOIN unnest($1::text[], $2::text[]) AS p(rule, device_id) USING (rule, device_id)
        WHERE a.status = 'resolved' AND a.resolved_at >= $3 ORDER BY a.rule, a.device_id, a.resolved_at DESC`, [rules, devices, resolvedSince]);
      const ids = alertIds.length ? (await c.query<Row>('SELECT * FROM alerts WHERE id = ANY($1::text[])', [alertIds])).rows : [];
      const view: LockedView = {
        byId: new Map(ids.map((r) => [r.id, fromRow(r)])),
        states: new Map(st.rows.map((r) => [pairKey(r.rule, r.device_id), r.state])),
        meta: new Map(st.rows.map((r) => [pairKey(r.rule, r.device_id), { waiting: r.waiting, seenAt: ms(r.seen_at) }])),
        unresolved: new Map(un.rows.map((r) => [pairKey(r.rule, r.device_id), fromRow(r)])),
        recentlyResolved: new Map(rec.rows.map((r) => [pairKey(r.rule, r.device_id), fromRow(r)])),
      };
      const { changes, result } = fn(view);
      const put = changes.states.filter((s) => s.json !== undefined);
      const del = changes.states.filter((s) => s.json === undefined);
      if (put.length) {
        await c.query(`INSERT INTO alert_state (rule, device_id, state, waiting, seen_at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::bigint[])
          ON CONFLICT (rule, device_id) DO UPDATE SET state = excluded.state, waiting = excluded.waiting, seen_at = COALESCE(excluded.seen_at, alert_state.seen_at)`,
        [put.map((s) => s.rule), put.map((s) => s.deviceId), put.map((s) => s.json), put.map((s) => s.waiting ?? false), put.map((s) => s.seenAt ?? null)]);
      }
      if (del.length) await c.query('DELETE FROM alert_state s USING unnest($1::text[], $2::text[]) AS p(rule, device_id) WHERE s.rule = p.rule AND s.device_id = p.device_id', [del.map((s) => s.rule), del.map((s) => s.deviceId)]);
      const now = this.clock();
      for (const e of changes.events) {
        await c.query(UPSERT, params(e.alert));
        for (const o of e.outbox) await c.query('INSERT INTO alert_outbox (channel, event, alert_id, body, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $5)', [o.channel, e.event, e.alert.id, o.body, now]);
        await c.query('SELECT pg_notify($1, $2)', [ALERTS_CHANNEL, JSON.stringify({ event: e.event, id: e.alert.id, node: this.nodeId })]);
      }
      if (this.inCommit && changes.events.length) await this.inCommit(c, changes.events);
      return result;
    });
  }

  /** the sweep's one query per pass: every state waiting on the clock (partial index alert_state_waiting) */
  async waitingStates(): Promise<WaitingState[]> {
    return (await this.pool.query<{ rule: string; device_id: string; state: string; seen_at: string | null }>('SELECT rule, device_id, state, seen_at FROM alert_state WHERE waiting')).rows
      .map((r) => ({ rule: r.rule, deviceId: r.device_id, state: r.state, seenAt: ms(r.seen_at) }));
  }

  async get(id: string): Promise<Alert | undefined> {
    const r = (await this.pool.query<Row>('SELECT * FROM alerts WHERE id = $1', [id])).rows[0];
    return r ? fromRow(r) : undefined;
  }

  async unresolved(): Promise<Alert[]> {
    return (await this.pool.query<Row>("SELECT * FROM alerts WHERE status <> 'resolved'")).rows.map(fromRow);
  }

  async forRuleDevice(rule: string, deviceId: string): Promise<Alert[]> {
    return (await this.pool.query<Row>('SELECT * FROM alerts WHERE rule = $1 AND device_id = $2 ORDER BY opened_at', [rule, deviceId])).rows.map(fromRow);
  }

  // --- silences: shared, announced so every node reloads its list ---
  async silences(): Promise<Silence[]> {
    const rows = (await this.pool.query<{ id: string; match: string; until: string; reason: string; created_by: string; created_at: string }>('SELECT * FROM silences')).rows;
    return rows.map((s) => ({ id: s.id, match: JSON.parse(s.match) as Silence['match'], until: Number(s.until), reason: s.reason, createdBy: s.created_by, createdAt: Number(s.created_at) }));
  }

  async insertSilence(s: Silence): Promise<void> {
    await pgTransaction(this.pool, async (c) => {
      await c.query('INSERT INTO silences (id, match, until, reason, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [s.id, JSON.stringify(s.match), s.until, s.reason, s.createdBy, s.createdAt]);
      await c.query('SELECT pg_notify($1, $2)', [ALERTS_CHANNEL, JSON.stringify({ event: 'silences' })]);
    });
  }

  async deleteSilence(id: string): Promise<boolean> {
    const r = await this.pool.query("WITH d AS (DELETE FROM silences WHERE id = $1 RETURNING id) SELECT count(*)::int AS n, pg_notify($2, '{\"event\":\"silences\"}') FROM d", [id, ALERTS_CHANNEL]);
    return (r.rows[0] as { n: number }).n > 0;
  }

  // --- the shared outbox, delivered by the leader only ---
  /**
   * Due rows, locked until the caller's transaction ends: `deliver` runs inside it and
   * returns per row whether it was delivered (deleted) or failed (retried later).
   *
   * One deliverer at a time (a transaction advisory lock; a second leader during a lease
   * overlap finds it taken and delivers nothing): with row locks alone (SKIP LOCKED) two
   * nodes scanning at once each took part of one channel's rows and sent them concurrently,
   * so a webhook got alert.updated before alert.opened. Per channel the head of line holds
   * the rest: a row is due only when no older row of its channel waits for a retry.
   */
  async deliverDue(limit: number, deliver: (rows: OutboxRow[]) => Promise<Map<number, boolean>>, retryMs: (attempts: number) => number): Promise<number> {
    return pgTransaction(this.pool, async (c) => {
      const mine = (await c.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock(hashtext('alert_outbox'), hashtext('deliver')) AS ok")).rows[0]!.ok;
      if (!mine) return 0;
      const rows = (await c.query<{ id: string; channel: string; event: string; alert_id: string; body: string; attempts: number }>(
        `SELECT id, channel, event, alert_id, body, attempts FROM alert_outbox o WHERE next_at <= $1
           AND NOT EXISTS (SELECT 1 FROM alert_outbox h WHERE h.channel = o.channel AND h.id < o.id AND h.next_at > $1)
         ORDER BY id LIMIT $2 FOR UPDATE`, [this.clock(), limit])).rows
        .map((r): OutboxRow => ({ id: Number(r.id), channel: r.channel, event: r.event, alertId: r.alert_id, body: r.body, attempts: r.attempts }));
      if (rows.length === 0) return 0;
      const done = await deliver(rows);
      const ok = rows.filter((r) => done.get(r.id) === true).map((r) => r.id);
      if (ok.length) await c.query('DELETE FROM alert_outbox WHERE id = ANY($1::bigint[])', [ok]);
      // a row not tried (its channel's head failed in this pass) keeps its attempts and stays behind the head
      for (const r of rows) if (done.get(r.id) === false) await c.query('UPDATE alert_outbox SET attempts = attempts + 1, next_at = $2 WHERE id = $1', [r.id, this.clock() + retryMs(r.attempts + 1)]);
      return ok.length;
    });
  }
}

/**
 * Retention of the shared alert tables (the leader's retention pass, retention.alertDays): resolved
 * alerts resolved before the cutoff, and with them the notifications delivered before it and the
 * finished escalations of alerts that are gone — what one node's pass does to its SQLite tables.
 * An unresolved alert is never pruned, however old. Returns the alerts deleted.
 */
export async function pruneSharedAlerts(pool: pg.Pool, cutoff: number): Promise<number> {
  const n = (await pool.query("DELETE FROM alerts WHERE status = 'resolved' AND resolved_at < $1", [cutoff])).rowCount ?? 0;
  // notify_* exist once the notifier's migrations ran (every cluster gateway runs them at start)
  const notify = (await pool.query<{ t: string | null }>("SELECT to_regclass('notify_outbox')::text AS t")).rows[0]?.t;
  if (notify) {
    await pool.query('DELETE FROM notify_outbox WHERE delivered_at IS NOT NULL AND delivered_at < $1', [cutoff]);
    await pool.query('DELETE FROM notify_escalation e WHERE e.next_at IS NULL AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.id = e.alert_id)');
  }
  return n;
}
