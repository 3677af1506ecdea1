/**
 * Escalation and channel delivery (CONTRACT v2 "Notification channels and escalation").
 *
 * Everything that has to survive a restart is a row, written in the same transaction as the
 * alert change that caused it (repositories.ts; what to write: plan.ts):
 * - an escalation row per alert: its policy, the next step and when it is due (`next_at`,
 *   from the alert's openedAt + the step's `after`) and the channels that heard of it;
 * - an outbox row per message and channel. A worker delivers each channel's rows strictly in
 *   id order (the head blocks the rest), retries with exponential backoff, and a robot's
 *   non-zero errcode counts as a failure (the channel throws DeliveryError).
 * A step is turned into outbox rows and the escalation row advanced in one transaction, so a
 * restart between steps neither loses a step nor sends one twice.
 *
 * One node: the rows are in SQLite (sqlite-repository.ts), written inside the alert service's
 * transaction, the sweep ticks. Cluster mode (`shared`): the rows are in PostgreSQL
 * (postgres-repository.ts), written in the cluster alert transaction of whichever node made
 * the change; the step timers and the delivery run on the leader only, from the shared rows.
 */
import type { Logger } from 'pino';
import type pg from 'pg';
import type { Db } from '../storage/database.js';
import type { Channel } from './channels/index.js';
import { formatMessage, type AlertView, type Language } from './message.js';
import { matches, type Policy } from './policy.js';
import { OutboxPump, backoffMs } from './pump.js';
import { planAdvance, planEvent, type Body, type EscalatedAlert, type Plan, type PlanContext } from './plan.js';
import type { EscalationRow, NotifyRepository, OutboxRow } from './repositories.js';
import { sqliteNotifyRepository } from './sqlite-repository.js';
import { StoreUnavailableError } from '../storage/repositories/types.js';
import type { PostgresNotifyStore, Snapshot } from './postgres-repository.js';

export type { EscalatedAlert } from './plan.js';

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
  /** where the rows are kept on one node; default: SQLite in `db` */
  repository?: NotifyRepository;
  /**
   * cluster mode: the rows in PostgreSQL; steps come due and messages go out only while
   * `isLeader`; `silenced` answers whether a silence (the shared list) holds an alert now
   */
  shared?: { store: PostgresNotifyStore; isLeader: () => boolean; silenced?: (a: EscalatedAlert) => boolean; tickMs?: number };
}

const iso = (t: number) => new Date(t).toISOString();

const escalationJson = (row: EscalationRow): Escalation =>
  ({ policy: row.policy, step: row.step === 0 ? null : row.step - 1, nextAt: row.next_at === null ? null : iso(row.next_at) });

const notificationJson = (r: OutboxRow): Notification => {
  const status = r.delivered_at !== null ? 'sent' : r.attempts > 0 ? 'failed' : 'pending';
  return {
    channel: r.channel, step: r.step, event: r.event, at: iso(r.delivered_at ?? r.last_attempt_at ?? r.created_at), status, attempts: r.attempts,
    ...(status === 'failed' && r.last_error ? { error: r.last_error } : {}),
  };
};

/** how the outcome of one attempt is saved: the SQLite rows or the shared ones */
interface Outcome {
  delivered(id: number, at: number, status: number | null): void | Promise<void>;
  failed(id: number, attempts: number, at: number, nextAttemptAt: number, status: number | null, error: string): void | Promise<void>;
}

export class Notifier {
  private readonly channels = new Map<string, Channel>();
  private readonly policies = new Map<string, Policy>();
  private readonly pump: OutboxPump<OutboxRow>;
  private readonly repo: NotifyRepository;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(private readonly deps: NotifierDeps) {
    for (const c of deps.channels) this.channels.set(c.id, c);
    for (const p of deps.policies) this.policies.set(p.id, p);
    this.repo = deps.repository ?? sqliteNotifyRepository(deps.db);
    const shared = deps.shared;
    this.pump = shared
      ? new OutboxPump<OutboxRow>({
        destinations: () => this.channels.keys(),
        head: (id) => shared.store.head(id),
        deliver: (id, row) => this.deliverShared(shared.store, this.channels.get(id)!, row),
        clock: deps.clock,
        active: shared.isLeader,
      })
      : new OutboxPump<OutboxRow>({
        destinations: () => this.channels.keys(),
        head: (id) => this.repo.head(id),
        deliver: (id, row) => this.deliver(this.repo, this.channels.get(id)!, row),
        clock: deps.clock,
      });
  }

  /** nothing configured: the alert object carries no escalation and the service skips the look-ups */
  get enabled(): boolean { return this.policies.size > 0; }

  /** cluster mode: the rows are in PostgreSQL (sharedDetails, recordShared) */
  get isShared(): boolean { return this.deps.shared !== undefined; }

  get policyList(): Policy[] { return [...this.policies.values()]; }

  start(): void {
    this.pump.start();
    const shared = this.deps.shared;
    if (shared && this.enabled) {
      this.timer = setInterval(() => this.tickShared(), shared.tickMs ?? 1000);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await this.pump.stop();
    await Promise.allSettled([...this.channels.values()].map((c) => c.close?.()));
  }

  policyFor(a: Pick<EscalatedAlert, 'severity' | 'kind' | 'site' | 'rule'>): Policy | undefined {
    for (const p of this.policies.values()) if (matches(p.match, a)) return p;
    return undefined;
  }

  private context(deviceId: string, now: number): PlanContext {
    return { policy: (id) => this.policies.get(id), policyFor: (a) => this.policyFor(a), deviceName: this.deps.deviceName(deviceId), now };
  }

  /** a plan's messages for channels that exist (a channel removed from the configuration since is skipped) */
  private known(p: Plan): Plan {
    return p.messages.every((m) => this.channels.has(m.channel)) ? p : { ...p, messages: p.messages.filter((m) => this.channels.has(m.channel)) };
  }

  /**
   * One node: a lifecycle change of an alert, inside the transaction that saves it. An opened
   * (or re-opened) alert starts its policy at step 0 and runs the steps due at once (`after:
   * 0s`); a resolved one stops and reports the resolution to every channel that heard of it.
   */
  onEvent(event: string, a: EscalatedAlert, view: AlertView): void {
    if (!this.enabled || this.isShared) return;
    const now = this.deps.clock();
    const p = planEvent(event, a, view, this.repo.escalation(a.id), this.context(a.deviceId, now));
    if (p) this.save(this.known(p), now);
  }

  /** One node: time passing, escalation steps that have come due (called by the alert sweep, inside its transaction). */
  tick(getAlert: (id: string) => { alert: EscalatedAlert; view: AlertView } | undefined): void {
    if (!this.enabled || this.isShared) return;
    const now = this.deps.clock();
    for (const row of this.repo.due(now)) {
      const cur = getAlert(row.alert_id);
      if (!cur) { this.repo.saveEscalation({ ...row, next_at: null }); continue; }
      this.save(this.known(planAdvance(row, cur.alert, cur.view, this.context(cur.alert.deviceId, now))), now);
    }
  }

  private save(p: Plan, now: number): void {
    this.repo.saveEscalation(p.escalation);
    for (const m of p.messages) this.repo.enqueue(m, now);
    if (p.messages.length) this.pump.kick();
  }

  /**
   * Cluster mode: committed alert events, on the client of the cluster alert transaction
   * (PostgresAlertStore.evaluateLocked, before its COMMIT), so the escalation rows commit with
   * the alert change on whichever node made it.
   */
  async recordShared(c: pg.PoolClient, events: Array<{ event: string; alert: EscalatedAlert; view: AlertView }>): Promise<void> {
    const shared = this.deps.shared;
    if (!shared || !this.enabled || events.length === 0) return;
    const now = this.deps.clock();
    await shared.store.record(c, events.map((e) => ({ event: e.event, snapshot: { alert: pick(e.alert), view: e.view } })),
      (event, s, row) => { const p = planEvent(event, s.alert, s.view, row, this.context(s.alert.deviceId, now)); return p && this.known(p); }, now);
  }

  /** Cluster mode, leader only: steps that have come due, from the shared rows. */
  private tickShared(): void {
    const shared = this.deps.shared!;
    if (this.ticking || !shared.isLeader()) return;
    const now = this.deps.clock();
    this.ticking = shared.store.tick(now, (row) => {
      const s: Snapshot = row.snapshot;
      // a silence made after the alert opened (from the board) holds its later steps too
      const alert = { ...s.alert, silenced: s.alert.silenced || (shared.silenced?.(s.alert) ?? false) };
      return this.known(planAdvance(row, alert, s.view, this.context(s.alert.deviceId, now)));
    }).then((n) => { if (n > 0) this.pump.kick(); }, (err: Error) => this.deps.log.error({ err: err.message }, 'escalation steps from the shared tables failed; will retry'))
      .finally(() => { this.ticking = undefined; });
  }

  /** One node: `escalation` of the alert object: the policy, the last step reached (null before the first) and when the next one is due */
  escalationOf(alertId: string): Escalation | null {
    const row = this.repo.escalation(alertId);
    return row ? escalationJson(row) : null;
  }

  /** One node: `notifications` of the alert object: every channel message, with its delivery state */
  notificationsOf(alertId: string): Notification[] {
    return this.repo.ofAlert(alertId).map(notificationJson);
  }

  /** Cluster mode: `escalation` and `notifications` of these alerts, from the shared rows (every node answers the same) */
  async sharedDetails(ids: string[]): Promise<Map<string, { escalation: Escalation | null; notifications: Notification[] }>> {
    const out = new Map<string, { escalation: Escalation | null; notifications: Notification[] }>(ids.map((id) => [id, { escalation: null, notifications: [] }]));
    if (!this.deps.shared || !this.enabled) return out;
    let rows: Awaited<ReturnType<PostgresNotifyStore['ofAlerts']>>;
    try {
      rows = await this.deps.shared.store.ofAlerts(ids);
    } catch (err) {
      // 503 with a message that names no host (the driver's goes to the log)
      throw new StoreUnavailableError('escalation state (PostgreSQL) unavailable; retry later', (err as Error).message);
    }
    const { escalations, messages } = rows;
    for (const e of escalations) out.get(e.alert_id)!.escalation = escalationJson(e);
    for (const m of messages) out.get(m.alert_id)?.notifications.push(notificationJson(m));
    return out;
  }

  pending(): number {
    return this.repo.pending();
  }

  /** cluster mode: one attempt of the head, claimed for its length so no other node sends it meanwhile */
  private async deliverShared(store: PostgresNotifyStore, ch: Channel, row: OutboxRow): Promise<boolean> {
    const now = this.deps.clock();
    if (!(await store.claim(row.id, now, now + this.deps.retry.timeoutMs + CLAIM_SLACK_MS))) return false;
    await this.deliver(store, ch, row);
    return true;
  }

  private async deliver(outcome: Outcome, ch: Channel, row: OutboxRow): Promise<void> {
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
        await outcome.delivered(row.id, now, r.status);
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
      await outcome.failed(row.id, attempts, now, now + delay, status, error.slice(0, 500));
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'saving a failed notification failed; will retry');
    }
    if (attempts === 1 || attempts % 10 === 0) this.deps.log.warn({ channel: ch.id, attempts, error, retryInMs: delay }, 'notification failed; will retry');
  }
}

/** beyond the send timeout: a claim outlives the attempt it covers, including saving its outcome */
const CLAIM_SLACK_MS = 2000;

/** the snapshot keeps what escalation reads, not the alert's notes */
const pick = (a: EscalatedAlert): EscalatedAlert => ({
  id: a.id, rule: a.rule, severity: a.severity, kind: a.kind, site: a.site, deviceId: a.deviceId, status: a.status, openedAt: a.openedAt, silenced: a.silenced, resolvedAt: a.resolvedAt ?? null,
});

