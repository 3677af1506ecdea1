/**
 * Where alerts, rule states and silences are kept: small typed interfaces, so the service
 * holds no SQL and a cluster can keep them elsewhere (PostgreSQL). The SQLite implementations
 * are in sqlite-repositories.ts.
 */
import type { Alert, AlertStatus } from './lifecycle.js';
import type { StatsAlert } from './stats.js';

export interface Silence { id: string; match: { rule?: string; device?: string; site?: string }; until: number; reason: string; createdBy: string; createdAt: number }

export interface AlertQuery {
  status: AlertStatus[]; severity?: string[]; rule?: string[]; device?: string; site?: string; kind?: string[]; from?: number; to?: number; limit: number;
  /** newest first unless asc */
  order?: 'asc' | 'desc';
  /** keyset position: continue after this alert (REST cursors) */
  after?: { openedAt: number; id: string };
}

export interface AlertRepository {
  /** insert or update (by id) */
  save(a: Alert): void;
  get(id: string): Alert | undefined;
  unresolved(): Alert[];
  /** the newest alert of this rule and device resolved at or after `since` */
  recentlyResolved(rule: string, deviceId: string, since: number): Alert | undefined;
  /** by (openedAt, id), newest first unless q.order is asc */
  list(q: AlertQuery): Alert[];
  /** opened in [from, to) under a site prefix */
  forStats(q: { site?: string; rule?: string[]; from?: number; to?: number }): StatsAlert[];
}

export interface RuleStateRepository {
  all(): Array<{ rule: string; deviceId: string; json: string }>;
  /** in one transaction: json undefined deletes */
  write(changes: Array<{ rule: string; deviceId: string; json: string | undefined }>): void;
}

export interface SilenceRepository {
  all(): Silence[];
  insert(s: Silence): void;
  /** false when there was none */
  delete(id: string): boolean;
}

/** a webhook outbox row as kept (snake case: the table's columns) */
export interface WebhookOutboxRow { id: number; webhook: string; event: string; alert_id: string; body: string; created_at: number; attempts: number; next_attempt_at: number; delivered_at: number | null; last_status: number | null; last_error: string | null }

/** The single-node webhook outbox (cluster mode uses the shared alert_outbox instead). */
export interface WebhookOutboxRepository {
  /** the oldest undelivered row of a webhook: it blocks the rest */
  head(url: string): WebhookOutboxRow | undefined;
  insert(url: string, event: string, alertId: string, body: string, now: number): void;
  delivered(id: number, at: number, status: number): void;
  failed(id: number, attempts: number, nextAt: number, status: number | null, error: string | null): void;
  /** by id, newest first unless asc; keyset after afterId */
  list(q: { status?: 'pending' | 'delivered'; limit: number; order?: 'asc' | 'desc'; afterId?: number }): WebhookOutboxRow[];
  pending(): number;
}

export interface AlertRepositories {
  alerts: AlertRepository;
  states: RuleStateRepository;
  silences: SilenceRepository;
  /** runs fn atomically (alerts and whatever else the caller writes alongside them) */
  transaction(fn: () => void): void;
  /**
   * runs fn atomically like transaction(), but opens the transaction only when fn first calls
   * `write()`, before its first write: a group commit's evaluation seldom writes an alert, and
   * an empty transaction still takes the write lock and costs a BEGIN and a COMMIT
   */
  transactionOnWrite?(fn: (write: () => void) => void): void;
}
