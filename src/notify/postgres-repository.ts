/**
 * The notifier's rows in PostgreSQL (cluster mode: cluster.postgres.url), shared by every node
 * (issue 15 items 1 and 6):
 * - `notify_escalation`, one row per alert, with a snapshot of the alert as last committed
 *   (`alert`: status, silenced, the view messages are written from). It is written on the
 *   client of the cluster alert transaction (`record`, called from PostgresAlertStore.
 *   evaluateLocked before its COMMIT), so an alert change and its escalation rows commit
 *   together, on whichever node made the change; an acknowledgement updates the snapshot in
 *   the same transaction, under the row lock the leader's `tick` also takes, so a step that
 *   says `unless: acknowledged` sees every acknowledgement committed before it ran.
 * - `notify_outbox`, one row per channel message, (alert id, key, channel) unique: a step run
 *   (`${started_at}/${step}`) or a resolution is enqueued once, however many nodes tried.
 * Step timers are the leader's (`tick`: due rows FOR UPDATE SKIP LOCKED, advanced and their
 * messages inserted in one transaction, so a leader change neither drops nor repeats a step);
 * delivery is the leader's, per channel in id order, each row claimed for the length of one
 * attempt (`claim`) so a leader that lost its lease mid-send and its successor do not both
 * send it.
 */
import type pg from 'pg';
import { runMigrations } from '../storage/postgres/schema.js';
import type { AlertView } from './message.js';
import { escalates, type EscalatedAlert } from './plan.js';
import type { EscalationRow, NewMessage, OutboxRow } from './repositories.js';
import { pgTransaction } from '../storage/postgres/tx.js';

const MIGRATIONS: Array<[string, string]> = [
  ['001-notify', `
  CREATE TABLE notify_escalation (
    alert_id text PRIMARY KEY, policy text NOT NULL, step integer NOT NULL, started_at bigint NOT NULL, next_at bigint,
    heard text NOT NULL DEFAULT '[]', alert text NOT NULL
  );
  CREATE INDEX notify_escalation_due ON notify_escalation (next_at) WHERE next_at IS NOT NULL;
  CREATE TABLE notify_outbox (
    id bigserial PRIMARY KEY, channel text NOT NULL, event text NOT NULL, alert_id text NOT NULL, step integer, key text NOT NULL,
    body text NOT NULL, created_at bigint NOT NULL, attempts integer NOT NULL DEFAULT 0, next_attempt_at bigint NOT NULL,
    last_attempt_at bigint, delivered_at bigint, last_status integer, last_error text, claimed_until bigint,
    UNIQUE (alert_id, key, channel)
  );
  CREATE INDEX notify_outbox_pending ON notify_outbox (channel, id) WHERE delivered_at IS NULL;
  CREATE INDEX notify_outbox_alert ON notify_outbox (alert_id, id);
  `],
];

const MIGRATE_LOCK = 0x6573_7465; // beside the telemetry (…61, …62), registry (…63) and alert (…64) locks

export async function migrateNotify(pool: pg.Pool): Promise<void> {
  await runMigrations(pool, 'notify_migrations', MIGRATE_LOCK, MIGRATIONS);
}

/** the alert as the escalation last saw it committed */
export interface Snapshot { alert: EscalatedAlert; view: AlertView }

/** an escalation row with its snapshot */
export interface SharedEscalation extends EscalationRow { snapshot: Snapshot }

/** what to write for one escalation: the row afterwards and the messages to enqueue */
export interface SharedPlan { escalation: EscalationRow; messages: NewMessage[] }

type Client = pg.Pool | pg.PoolClient;

// bigint columns arrive as strings from pg
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

interface EscRow { alert_id: string; policy: string; step: number; started_at: string; next_at: string | null; heard: string; alert: string }

const escOf = (r: EscRow): SharedEscalation => ({
  alert_id: r.alert_id, policy: r.policy, step: r.step, started_at: Number(r.started_at), next_at: num(r.next_at), heard: r.heard,
  snapshot: JSON.parse(r.alert) as Snapshot,
});

const outOf = (r: Record<string, unknown>): OutboxRow => ({
  id: Number(r.id), channel: String(r.channel), event: String(r.event), alert_id: String(r.alert_id), step: r.step === null ? null : Number(r.step), body: String(r.body),
  created_at: Number(r.created_at), attempts: Number(r.attempts), next_attempt_at: Number(r.next_attempt_at), last_attempt_at: num(r.last_attempt_at),
  delivered_at: num(r.delivered_at), last_status: num(r.last_status), last_error: r.last_error === null ? null : String(r.last_error),
});

const OUTBOX_COLUMNS = 'id, channel, event, alert_id, step, body, created_at, attempts, next_attempt_at, last_attempt_at, delivered_at, last_status, last_error';

export class PostgresNotifyStore {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Alert events on the client of the transaction that commits them, in order: `plan` gets
   * each with the escalation row as committed (locked until that transaction ends) and
   * answers what to write, or undefined to only refresh the snapshot of an escalated alert.
   */
  async record(c: pg.PoolClient, events: Array<{ event: string; snapshot: Snapshot }>, plan: (event: string, s: Snapshot, row: EscalationRow | undefined) => SharedPlan | undefined, now: number): Promise<void> {
    // updates, acknowledgements, assignments, notes only refresh the snapshot: one statement
    // for each run of them (the last snapshot of an alert wins), in order with the events that plan
    let refresh = new Map<string, string>();
    const flush = async () => {
      if (refresh.size === 0) return;
      await c.query('UPDATE notify_escalation e SET alert = u.s FROM unnest($1::text[], $2::text[]) AS u(id, s) WHERE e.alert_id = u.id', [[...refresh.keys()], [...refresh.values()]]);
      refresh = new Map();
    };
    for (const { event, snapshot } of events) {
      if (!escalates(event)) { refresh.set(snapshot.alert.id, JSON.stringify(snapshot)); continue; }
      await flush();
      const cur = (await c.query<EscRow>('SELECT * FROM notify_escalation WHERE alert_id = $1 FOR UPDATE', [snapshot.alert.id])).rows[0];
      const row = cur && escOf(cur);
      const p = plan(event, snapshot, row);
      if (p) await this.write(c, p, snapshot, now);
      else if (row) await c.query('UPDATE notify_escalation SET alert = $2 WHERE alert_id = $1', [row.alert_id, JSON.stringify(snapshot)]);
    }
    await flush();
  }

  private async write(c: Client, p: SharedPlan, snapshot: Snapshot, now: number): Promise<void> {
    const e = p.escalation;
    await c.query(`INSERT INTO notify_escalation (alert_id, policy, step, started_at, next_at, heard, alert) VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (alert_id) DO UPDATE SET policy = excluded.policy, step = excluded.step, started_at = excluded.started_at, next_at = excluded.next_at,
      heard = excluded.heard, alert = excluded.alert`, [e.alert_id, e.policy, e.step, e.started_at, e.next_at, e.heard, JSON.stringify(snapshot)]);
    if (p.messages.length === 0) return;
    const m = p.messages;
    await c.query(`INSERT INTO notify_outbox (channel, event, alert_id, step, key, body, created_at, next_attempt_at)
      SELECT ch, ev, a, st, k, b, $7, $7 FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[]) WITH ORDINALITY AS t(ch, ev, a, st, k, b, n)
      ORDER BY n ON CONFLICT (alert_id, key, channel) DO NOTHING`,
    [m.map((x) => x.channel), m.map((x) => x.event), m.map((x) => x.alertId), m.map((x) => x.step), m.map((x) => x.key), m.map((x) => x.body), now]);
  }

  /**
   * The leader's step timers: escalations due by `now`, locked (SKIP LOCKED: one being
   * changed by an alert transaction is taken next time), advanced as `plan` says and their
   * messages inserted in one transaction. Returns how many messages were enqueued.
   */
  async tick(now: number, plan: (row: SharedEscalation) => SharedPlan, limit = 200): Promise<number> {
    return pgTransaction(this.pool, async (c) => {
      const due = (await c.query<EscRow>('SELECT * FROM notify_escalation WHERE next_at IS NOT NULL AND next_at <= $1 ORDER BY next_at LIMIT $2 FOR UPDATE SKIP LOCKED', [now, limit])).rows.map(escOf);
      let n = 0;
      for (const row of due) {
        const p = plan(row);
        await this.write(c, p, row.snapshot, now);
        n += p.messages.length;
      }
      return n;
    });
  }

  /** the oldest undelivered message of a channel (the head blocks the rest) */
  async head(channel: string): Promise<OutboxRow | undefined> {
    const r = (await this.pool.query(`SELECT ${OUTBOX_COLUMNS} FROM notify_outbox WHERE channel = $1 AND delivered_at IS NULL ORDER BY id LIMIT 1`, [channel])).rows[0] as Record<string, unknown> | undefined;
    return r && outOf(r);
  }

  /**
   * Takes a message for one delivery attempt, until `until`: false when it is delivered
   * already, not due, or another node's attempt holds it.
   */
  async claim(id: number, now: number, until: number): Promise<boolean> {
    // next_attempt_at again: the head read before another node's failed attempt pushed it back
    const r = await this.pool.query('UPDATE notify_outbox SET claimed_until = $3 WHERE id = $1 AND delivered_at IS NULL AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until <= $2)', [id, now, until]);
    return (r.rowCount ?? 0) > 0;
  }

  async delivered(id: number, at: number, status: number | null): Promise<void> {
    await this.pool.query('UPDATE notify_outbox SET delivered_at = $2, last_attempt_at = $2, attempts = attempts + 1, last_status = $3, last_error = NULL, claimed_until = NULL WHERE id = $1', [id, at, status]);
  }

  async failed(id: number, attempts: number, at: number, nextAttemptAt: number, status: number | null, error: string): Promise<void> {
    await this.pool.query('UPDATE notify_outbox SET attempts = $2, last_attempt_at = $3, next_attempt_at = $4, last_status = $5, last_error = $6, claimed_until = NULL WHERE id = $1', [id, attempts, at, nextAttemptAt, status, error]);
  }

  /** escalation rows and messages of these alerts (the alert object's `escalation` and `notifications`) */
  async ofAlerts(ids: string[]): Promise<{ escalations: EscalationRow[]; messages: OutboxRow[] }> {
    if (ids.length === 0) return { escalations: [], messages: [] };
    const [e, m] = await Promise.all([
      this.pool.query<EscRow>('SELECT * FROM notify_escalation WHERE alert_id = ANY($1::text[])', [ids]),
      this.pool.query(`SELECT ${OUTBOX_COLUMNS} FROM notify_outbox WHERE alert_id = ANY($1::text[]) ORDER BY id`, [ids]),
    ]);
    return { escalations: e.rows.map(escOf), messages: m.rows.map((r) => outOf(r as Record<string, unknown>)) };
  }

  async pending(): Promise<number> {
    return Number((await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM notify_outbox WHERE delivered_at IS NULL')).rows[0]!.n);
  }
}
