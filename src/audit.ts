/**
 * The audit log: who did what, when, to which object — provisioning, credential rotation,
 * API key and integration changes, alert actions. Append-only; admins query it over REST.
 */
import type { Db } from './storage/database.js';

export interface AuditEntry {
  ts: number;
  actor: string;
  action: string;
  target: string;
  details?: Record<string, unknown>;
}

export class AuditLog {
  private readonly insert;

  constructor(private readonly db: Db, private readonly clock: () => number = Date.now) {
    this.insert = db.prepare('INSERT INTO audit (ts, actor, action, target, details) VALUES (?, ?, ?, ?, ?)');
  }

  record(actor: string, action: string, target: string, details?: Record<string, unknown>): void {
    this.insert.run(this.clock(), actor, action, target, details ? JSON.stringify(details) : null);
  }

  /** newest first unless order asc; afterId continues a listing (keyset on id) */
  query(q: { from: number; to: number; actor?: string; action?: string; target?: string; limit: number; order?: 'asc' | 'desc'; afterId?: number }): Array<AuditEntry & { id: number }> {
    const where = ['ts >= ?', 'ts < ?'];
    const args: Array<string | number> = [q.from, q.to];
    if (q.actor !== undefined) { where.push('actor = ?'); args.push(q.actor); }
    if (q.action !== undefined) { where.push('action LIKE ?'); args.push(q.action.endsWith('*') ? `${q.action.slice(0, -1)}%` : q.action); }
    if (q.target !== undefined) { where.push('target = ?'); args.push(q.target); }
    const desc = q.order !== 'asc';
    if (q.afterId !== undefined) { where.push(`id ${desc ? '<' : '>'} ?`); args.push(q.afterId); }
    const rows = this.db.prepare(`SELECT id, ts, actor, action, target, details FROM audit WHERE ${where.join(' AND ')} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ?`)
      .all(...args, q.limit) as Array<{ id: number; ts: number; actor: string; action: string; target: string; details: string | null }>;
    return rows.map((r) => ({ id: r.id, ts: r.ts, actor: r.actor, action: r.action, target: r.target, ...(r.details ? { details: JSON.parse(r.details) as Record<string, unknown> } : {}) }));
  }
}
