/**
 * Escalation and channel delivery (CONTRACT v2 "Notification channels and escalation").
 *
 * Everything that has to survive a restart is a row, written in the same SQLite transaction
 * as the alert change that caused it:
 * - `alert_escalation`: per alert, its policy, the next step and when it is due (`next_at`,
 *   from the alert's openedAt + the step's `after`) and the channels that heard of it;
 * - `notify_outbox`: one row per message and channel. A worker delivers each channel's rows
 *   strictly in id order (the head blocks the rest), retries with exponential backoff, and a
 *   robot's non-zero errcode counts as a failure (the channel throws DeliveryError).
 * A step is turned into outbox rows and the escalation row advanced in one transaction, so a
 * restart between steps neither loses a step nor sends one twice.
 */
import type { Logger } from 'pino';
import type { Db } from '../storage/database.js';
import type { Channel } from './channels/index.js';
import { formatMessage, type AlertView, type Language } from './message.js';
import { matches, type Policy } from './policy.js';
import { OutboxPump, backoffMs } from './pump.js';

/** the parts of an alert escalation needs */
export interface EscalatedAlert {
  id: string; rule: string; severity: string; kind: string | null; site: string; deviceId: string;
  status: 'open' | 'acknowledged' | 'resolved'; openedAt: number; silenced: boolean;
}

export interface Escalation { policy: string; step: number | null; nextAt: string | null }
export interface Notification { channel: string; step: number | null; event: string; at: string; status: 'sent' | 'failed' | 'pending'; attempts: number; error?: string }

export interface NotifierDeps {
  db: Db;
  channels: Channel[];
  policies: Policy[];
  retry: { initialMs: number; maxMs: number; timeoutMs: number };
  language: Language;
  consoleUrl?: string;
  /** IANA zone the times in messages are shown in */
  timezone: string;
  deviceName: (deviceId: string) => string | null;
  log: Logger;
  clock: () => number;
}

interface EscalationRow { alert_id: string; policy: string; step: number; started_at: number; next_at: number | null; heard: string }
interface OutboxRow {
  id: number; channel: string; event: string; alert_id: string; step: number | null; body: string; created_at: number; attempts: number;
  next_attempt_at: number; last_attempt_at: number | null; delivered_at: number | null; last_status: number | null; last_error: string | null;
}
interface Body { event: string; alert: AlertView; step: number | null; deviceName: string | null }

const iso = (t: number) => new Date(t).toISOString();

export class Notifier {
  private readonly channels = new Map<string, Channel>();
  private readonly policies = new Map<string, Policy>();
  private readonly pump: OutboxPump<OutboxRow>;
  private readonly stmt;

  constructor(private readonly deps: NotifierDeps) {
    for (const c of deps.channels) this.channels.set(c.id, c);
    for (const p of deps.policies) this.policies.set(p.id, p);
    const db = deps.db;
    this.stmt = {
      getEsc: db.prepare('SELECT * FROM alert_escalation WHERE alert_id = ?'),
      putEsc: db.prepare(`INSERT INTO alert_escalation (alert_id, policy, step, started_at, next_at, heard) VALUES (@alert_id, @policy, @step, @started_at, @next_at, @heard)
        ON CONFLICT(alert_id) DO UPDATE SET policy = excluded.policy, step = excluded.step, started_at = excluded.started_at, next_at = excluded.next_at, heard = excluded.heard`),
      due: db.prepare('SELECT * FROM alert_escalation WHERE next_at IS NOT NULL AND next_at <= ? ORDER BY next_at LIMIT 500'),
      enqueue: db.prepare('INSERT INTO notify_outbox (channel, event, alert_id, step, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      head: db.prepare('SELECT * FROM notify_outbox WHERE channel = ? AND delivered_at IS NULL ORDER BY id LIMIT 1'),
      delivered: db.prepare('UPDATE notify_outbox SET delivered_at = ?, last_attempt_at = ?, attempts = attempts + 1, last_status = ?, last_error = NULL WHERE id = ?'),
      failed: db.prepare('UPDATE notify_outbox SET attempts = ?, last_attempt_at = ?, next_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ?'),
      ofAlert: db.prepare('SELECT * FROM notify_outbox WHERE alert_id = ? ORDER BY id'),
    };
    this.pump = new OutboxPump<OutboxRow>({
      destinations: () => this.channels.keys(),
      head: (id) => this.stmt.head.get(id) as OutboxRow | undefined,
      deliver: (id, row) => this.deliver(this.channels.get(id)!, row),
      clock: deps.clock,
    });
  }

  /** nothing configured: the alert object carries no escalation and the service skips the look-ups */
  get enabled(): boolean { return this.policies.size > 0; }

  get policyList(): Policy[] { return [...this.policies.values()]; }

  start(): void {
    this.pump.start();
  }

  async stop(): Promise<void> {
    await this.pump.stop();
    await Promise.allSettled([...this.channels.values()].map((c) => c.close?.()));
  }

  policyFor(a: Pick<EscalatedAlert, 'severity' | 'kind' | 'site' | 'rule'>): Policy | undefined {
    for (const p of this.policies.values()) if (matches(p.match, a)) return p;
    return undefined;
  }

  /**
   * A lifecycle change of an alert, inside the transaction that saves it. An opened (or
   * re-opened) alert starts its policy at step 0 and runs the steps due at once (`after: 0s`);
   * a resolved one stops and reports the resolution to every channel that heard of it.
   */
  onEvent(event: string, a: EscalatedAlert, view: AlertView): void {
    if (!this.enabled) return;
    const now = this.deps.clock();
    const row = this.stmt.getEsc.get(a.id) as EscalationRow | undefined;
    if (event === 'alert.opened') {
      if (a.silenced) return; // silences suppress notification, never recording
      const policy = this.policyFor(a);
      if (!policy) return;
      // a re-opened alert (it fired again within a minute) escalates again from its re-opening
      const started = row ? now : a.openedAt;
      const next: EscalationRow = { alert_id: a.id, policy: policy.id, step: 0, started_at: started, next_at: started + policy.steps[0]!.after, heard: row?.heard ?? '[]' };
      this.stmt.putEsc.run(next);
      this.advance(next, a, view, now);
      return;
    }
    if (event === 'alert.resolved' && row) {
      const heard = JSON.parse(row.heard) as string[];
      const body: Body = { event, alert: view, step: null, deviceName: this.deps.deviceName(a.deviceId) };
      for (const ch of heard) this.enqueue(ch, a.id, null, body, now);
      this.stmt.putEsc.run({ ...row, next_at: null });
    }
  }

  /** Time passing: escalation steps that have come due (called by the alert sweep, inside its transaction). */
  tick(getAlert: (id: string) => { alert: EscalatedAlert; view: AlertView } | undefined): void {
    if (!this.enabled) return;
    const now = this.deps.clock();
    for (const row of this.stmt.due.all(now) as EscalationRow[]) {
      const cur = getAlert(row.alert_id);
      if (!cur) { this.stmt.putEsc.run({ ...row, next_at: null }); continue; }
      this.advance(row, cur.alert, cur.view, now);
    }
  }

  /** runs (or skips) every step of `row` that is due by `now`, then saves where it stands */
  private advance(row: EscalationRow, a: EscalatedAlert, view: AlertView, now: number): void {
    const policy = this.policies.get(row.policy);
    const heard = new Set(JSON.parse(row.heard) as string[]);
    let step = row.step;
    let nextAt = row.next_at;
    // a policy removed from the configuration since: its alerts escalate no further
    if (!policy) nextAt = null;
    while (policy && nextAt !== null && nextAt <= now) {
      const s = policy.steps[step]!;
      // a silenced alert's step passes unsent: the escalation goes on after the silence ends
      const skip = a.silenced || a.status === 'resolved' || (s.unless === 'acknowledged' && a.status !== 'open');
      if (!skip) {
        const body: Body = { event: step === 0 ? 'alert.opened' : 'alert.escalated', alert: view, step, deviceName: this.deps.deviceName(a.deviceId) };
        for (const ch of s.notify) {
          this.enqueue(ch, a.id, step, body, now);
          heard.add(ch);
        }
      }
      step++;
      nextAt = step < policy.steps.length ? row.started_at + policy.steps[step]!.after : null;
    }
    this.stmt.putEsc.run({ ...row, step, next_at: nextAt, heard: JSON.stringify([...heard]) });
  }

  private enqueue(channel: string, alertId: string, step: number | null, body: Body, now: number): void {
    if (!this.channels.has(channel)) return;
    this.stmt.enqueue.run(channel, body.event, alertId, step, JSON.stringify(body), now, now);
    this.pump.kick();
  }

  /** `escalation` of the alert object: the policy, the last step reached (null before the first) and when the next one is due */
  escalationOf(alertId: string): Escalation | null {
    const row = this.stmt.getEsc.get(alertId) as EscalationRow | undefined;
    if (!row) return null;
    return { policy: row.policy, step: row.step === 0 ? null : row.step - 1, nextAt: row.next_at === null ? null : iso(row.next_at) };
  }

  /** `notifications` of the alert object: every channel message, with its delivery state */
  notificationsOf(alertId: string): Notification[] {
    return (this.stmt.ofAlert.all(alertId) as OutboxRow[]).map((r) => {
      const status = r.delivered_at !== null ? 'sent' : r.attempts > 0 ? 'failed' : 'pending';
      return {
        channel: r.channel, step: r.step, event: r.event, at: iso(r.delivered_at ?? r.last_attempt_at ?? r.created_at), status, attempts: r.attempts,
        ...(status === 'failed' && r.last_error ? { error: r.last_error } : {}),
      };
    });
  }

  pending(): number {
    return (this.deps.db.prepare('SELECT count(*) AS n FROM notify_outbox WHERE delivered_at IS NULL').get() as { n: number }).n;
  }

  private async deliver(ch: Channel, row: OutboxRow): Promise<void> {
    const body = JSON.parse(row.body) as Body;
    const message = formatMessage(body.event, body.alert, {
      language: this.deps.language, consoleUrl: this.deps.consoleUrl, deviceName: body.deviceName, timezone: this.deps.timezone, step: body.step ?? undefined,
    });
    let status: number | null = null;
    let error: string;
    try {
      const r = await ch.send(message, { timeoutMs: this.deps.retry.timeoutMs, deliveryId: String(row.id) });
      const now = this.deps.clock();
      try {
        this.stmt.delivered.run(now, now, r.status, row.id);
      } catch (err) {
        // at least once: the row stays pending and goes again (same delivery id)
        this.deps.log.error({ err: (err as Error).message }, 'saving a delivered notification failed');
      }
      return;
    } catch (err) {
      status = (err as { status?: number | null }).status ?? null;
      error = (err as Error).message;
    }
    const attempts = row.attempts + 1;
    const delay = backoffMs(this.deps.retry, attempts);
    const now = this.deps.clock();
    try {
      this.stmt.failed.run(attempts, now, now + delay, status, error.slice(0, 500), row.id);
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'saving a failed notification failed; will retry');
    }
    if (attempts === 1 || attempts % 10 === 0) this.deps.log.warn({ channel: ch.id, attempts, error, retryInMs: delay }, 'notification failed; will retry');
  }
}
