/**
 * Where the notifier keeps its state (CONTRACT v2 "Notification channels and escalation"):
 * one escalation row per alert and one outbox row per channel message. Two implementations:
 * - SQLite (sqlite-repository.ts), synchronous, so a step's rows are written inside the
 *   better-sqlite3 transaction of the alert change that caused them (one node);
 * - PostgreSQL (postgres-repository.ts), asynchronous, written on the client of the cluster
 *   alert transaction, ticked and delivered by the leader only (cluster mode).
 * Both take the same rows; what to write is decided by the pure functions in plan.ts.
 */
export interface EscalationRow {
  alert_id: string; policy: string;
  /** the next step to run */
  step: number;
  /** what `after` counts from: openedAt, or the re-opening */
  started_at: number;
  next_at: number | null;
  /** JSON array of the channel ids that were sent a step (they hear of the resolution) */
  heard: string;
}

export interface OutboxRow {
  id: number; channel: string; event: string; alert_id: string; step: number | null; body: string; created_at: number; attempts: number;
  next_attempt_at: number; last_attempt_at: number | null; delivered_at: number | null; last_status: number | null; last_error: string | null;
}

/** a channel message to enqueue */
export interface NewMessage {
  channel: string; event: string; alertId: string; step: number | null; body: string;
  /**
   * which step run or resolution it belongs to (`${started_at}/${step}`, `resolved/${at}`): in
   * PostgreSQL (alert id, key, channel) is unique, so a step or a resolution is enqueued once
   * even if two nodes both came to write it
   */
  key: string;
}

/** one node: synchronous, inside the caller's SQLite transaction */
export interface NotifyRepository {
  escalation(alertId: string): EscalationRow | undefined;
  saveEscalation(row: EscalationRow): void;
  /** escalations with a step due by `now`, soonest first */
  due(now: number): EscalationRow[];
  enqueue(m: NewMessage, now: number): void;
  /** the oldest undelivered message of a channel (the head blocks the rest) */
  head(channel: string): OutboxRow | undefined;
  delivered(id: number, at: number, status: number | null): void;
  failed(id: number, attempts: number, at: number, nextAttemptAt: number, status: number | null, error: string): void;
  ofAlert(alertId: string): OutboxRow[];
  pending(): number;
}
