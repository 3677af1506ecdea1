/**
 * The audit log: who did what, when, to which object — provisioning, credential rotation,
 * API key and integration changes, alert actions. Append-only; admins query it over REST.
 * Kept in a repository (SQLite, or PostgreSQL in a cluster: one log for all nodes).
 */
import type { Logger } from 'pino';
import type { AuditQuery, AuditRepository } from './storage/repositories/types.js';

export interface AuditEntry {
  ts: number;
  actor: string;
  action: string;
  target: string;
  details?: Record<string, unknown>;
}

export class AuditLog {
  /** records in order; query() waits for the ones before it, so a caller reads its own writes */
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly repo: AuditRepository, private readonly clock: () => number = Date.now, private readonly log?: Logger) {}

  /**
   * Fire and forget for the caller (a REST handler after its change is done): on SQLite the
   * row is written before this returns; an asynchronous store's failure is logged, since the
   * change it records has already happened.
   */
  record(actor: string, action: string, target: string, details?: Record<string, unknown>): void {
    const entry = { ts: this.clock(), actor, action, target, ...(details ? { details } : {}) };
    const write = this.repo.insert(entry).catch((err: unknown) => {
      this.log?.error({ err: (err as Error).message, action, target }, 'audit entry not stored');
    });
    this.pending = Promise.all([this.pending, write]).then(() => undefined);
  }

  async query(q: AuditQuery): Promise<Array<AuditEntry & { id: number }>> {
    await this.pending;
    return this.repo.query(q);
  }
}
