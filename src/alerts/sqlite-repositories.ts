/** The alert repositories on the embedded SQLite database (tables of migration alerts-001). */
import { type Db, writeTransaction } from '../storage/database.js';
import type { ReadingValue } from '../core/model.js';
import type { Severity } from './rules.js';
import type { Alert, AlertStatus } from './lifecycle.js';
import type { AlertQuery, AlertRepositories, Silence, WebhookOutboxRepository, WebhookOutboxRow } from './repositories.js';

interface Row {
  id: string; rule: string; device_id: string; status: AlertStatus; severity: Severity; kind: string | null; site: string;
  metric: string | null; value: string | null; threshold: number | null; message: string; opened_at: number; last_seen_at: number;
  occurrences: number; acknowledged_at: number | null; acknowledged_by: string | null; assignee: string | null;
  resolved_at: number | null; resolved_by: string | null; resolution: 'auto' | 'manual' | null; notes: string; silenced: number;
}

const fromRow = (r: Row): Alert => ({
  id: r.id, rule: r.rule, severity: r.severity, status: r.status, deviceId: r.device_id, kind: r.kind, site: r.site,
  metric: r.metric, value: r.value === null ? null : (JSON.parse(r.value) as ReadingValue), threshold: r.threshold, message: r.message,
  openedAt: r.opened_at, lastSeenAt: r.last_seen_at, occurrences: r.occurrences,
  acknowledgedAt: r.acknowledged_at, acknowledgedBy: r.acknowledged_by, assignee: r.assignee,
  resolvedAt: r.resolved_at, resolvedBy: r.resolved_by, resolution: r.resolution, notes: JSON.parse(r.notes), silenced: r.silenced === 1,
});

/** `site = p OR site LIKE 'p/%'`, with LIKE's wildcards in p escaped */
function siteClause(site: string | undefined, where: string[], args: Array<string | number>): void {
  if (site === undefined || site.replace(/\/+$/, '') === '') return;
  const p = site.replace(/\/+$/, '');
  where.push("(site = ? OR site LIKE ? ESCAPE '\\')");
  args.push(p, `${p.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`);
}

export function sqliteAlertRepositories(db: Db): AlertRepositories {
  const stmt = {
    upsert: db.prepare(`INSERT INTO alerts (id, rule, device_id, status, severity, kind, site, metric, value, threshold, message, opened_at, last_seen_at, occurrences,
      acknowledged_at, acknowledged_by, assignee, resolved_at, resolved_by, resolution, notes, silenced)
      VALUES (@id, @rule, @deviceId, @status, @severity, @kind, @site, @metric, @value, @threshold, @message, @openedAt, @lastSeenAt, @occurrences,
      @acknowledgedAt, @acknowledgedBy, @assignee, @resolvedAt, @resolvedBy, @resolution, @notes, @silenced)
      ON CONFLICT(id) DO UPDATE SET status = excluded.status, metric = excluded.metric, value = excluded.value, threshold = excluded.threshold,
      message = excluded.message, last_seen_at = excluded.last_seen_at, occurrences = excluded.occurrences, acknowledged_at = excluded.acknowledged_at,
      acknowledged_by = excluded.acknowledged_by, assignee = excluded.assignee, resolved_at = excluded.resolved_at, resolved_by = excluded.resolved_by,
      resolution = excluded.resolution, notes = excluded.notes, silenced = excluded.silenced, site = excluded.site`),
    get: db.prepare('SELECT * FROM alerts WHERE id = ?'),
    unresolved: db.prepare("SELECT * FROM alerts WHERE status != 'resolved'"),
    recent: db.prepare("SELECT * FROM alerts WHERE rule = ? AND device_id = ? AND status = 'resolved' AND resolved_at >= ? ORDER BY resolved_at DESC LIMIT 1"),
    states: db.prepare('SELECT rule, device_id, state FROM alert_state'),
    saveState: db.prepare('INSERT INTO alert_state (rule, device_id, state) VALUES (?, ?, ?) ON CONFLICT(rule, device_id) DO UPDATE SET state = excluded.state'),
    deleteState: db.prepare('DELETE FROM alert_state WHERE rule = ? AND device_id = ?'),
    silences: db.prepare('SELECT * FROM silences'),
    insertSilence: db.prepare('INSERT INTO silences (id, match, until, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    deleteSilence: db.prepare('DELETE FROM silences WHERE id = ?'),
  };
  // built once: better-sqlite3 makes a new wrapper function per transaction() call (19 µs
  // each, once per group commit in the open-loop profile)
  const inTransaction = writeTransaction(db, (fn: () => void) => fn());
  const writeStates = writeTransaction(db, (changes: ReadonlyArray<{ rule: string; deviceId: string; json?: string }>) => {
    for (const c of changes) {
      if (c.json !== undefined) stmt.saveState.run(c.rule, c.deviceId, c.json);
      else stmt.deleteState.run(c.rule, c.deviceId);
    }
  });
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  return {
    transaction: (fn) => inTransaction(fn),
    transactionOnWrite(fn) {
      // inside a caller's transaction: its atomicity already covers fn
      if (db.inTransaction) return fn(() => {});
      let open = false;
      const write = () => {
        if (open) return;
        begin.run();
        open = true;
      };
      try {
        fn(write);
      } catch (err) {
        if (open && db.inTransaction) rollback.run();
        throw err;
      }
      if (open) commit.run();
    },
    alerts: {
      save: (a) => { stmt.upsert.run({ ...a, value: a.value === null ? null : JSON.stringify(a.value), notes: JSON.stringify(a.notes), silenced: a.silenced ? 1 : 0, escalation: undefined, notifications: undefined }); },
      get: (id) => { const r = stmt.get.get(id) as Row | undefined; return r ? fromRow(r) : undefined; },
      unresolved: () => (stmt.unresolved.all() as Row[]).map(fromRow),
      recentlyResolved: (rule, deviceId, since) => { const r = stmt.recent.get(rule, deviceId, since) as Row | undefined; return r ? fromRow(r) : undefined; },
      list(q: AlertQuery) {
        const where = [`status IN (${q.status.map(() => '?').join(', ')})`];
        const args: Array<string | number> = [...q.status];
        const inList = (col: string, values?: string[]) => { if (values?.length) { where.push(`${col} IN (${values.map(() => '?').join(', ')})`); args.push(...values); } };
        inList('severity', q.severity);
        inList('rule', q.rule);
        inList('kind', q.kind);
        if (q.device !== undefined) { where.push('device_id = ?'); args.push(q.device); }
        siteClause(q.site, where, args);
        if (q.from !== undefined) { where.push('opened_at >= ?'); args.push(q.from); }
        if (q.to !== undefined) { where.push('opened_at < ?'); args.push(q.to); }
        const desc = q.order !== 'asc';
        if (q.after) { where.push(`(opened_at, id) ${desc ? '<' : '>'} (?, ?)`); args.push(q.after.openedAt, q.after.id); }
        const dir = desc ? 'DESC' : 'ASC';
        return (db.prepare(`SELECT * FROM alerts WHERE ${where.join(' AND ')} ORDER BY opened_at ${dir}, id ${dir} LIMIT ?`).all(...args, q.limit) as Row[]).map(fromRow);
      },
      forStats(q) {
        const where = ['1 = 1'];
        const args: Array<string | number> = [];
        if (q.rule?.length) { where.push(`rule IN (${q.rule.map(() => '?').join(', ')})`); args.push(...q.rule); }
        siteClause(q.site, where, args);
        if (q.from !== undefined) { where.push('opened_at >= ?'); args.push(q.from); }
        if (q.to !== undefined) { where.push('opened_at < ?'); args.push(q.to); }
        return (db.prepare(`SELECT rule, site, kind, opened_at, acknowledged_at, resolved_at FROM alerts WHERE ${where.join(' AND ')}`).all(...args) as Array<{ rule: string; site: string; kind: string | null; opened_at: number; acknowledged_at: number | null; resolved_at: number | null }>)
          .map((r) => ({ rule: r.rule, site: r.site, kind: r.kind, openedAt: r.opened_at, acknowledgedAt: r.acknowledged_at, resolvedAt: r.resolved_at }));
      },
    },
    states: {
      all: () => (stmt.states.all() as Array<{ rule: string; device_id: string; state: string }>).map((r) => ({ rule: r.rule, deviceId: r.device_id, json: r.state })),
      write: (changes) => writeStates(changes),
    },
    silences: {
      all: () => (stmt.silences.all() as Array<{ id: string; match: string; until: number; reason: string; created_by: string; created_at: number }>)
        .map((s): Silence => ({ id: s.id, match: JSON.parse(s.match), until: s.until, reason: s.reason, createdBy: s.created_by, createdAt: s.created_at })),
      insert: (s) => { stmt.insertSilence.run(s.id, JSON.stringify(s.match), s.until, s.reason, s.createdBy, s.createdAt); },
      delete: (id) => stmt.deleteSilence.run(id).changes > 0,
    },
  };
}

/** The webhook outbox on the embedded SQLite database (table webhook_outbox). */
export function sqliteWebhookOutbox(db: Db): WebhookOutboxRepository {
  const stmt = {
    head: db.prepare('SELECT * FROM webhook_outbox WHERE webhook = ? AND delivered_at IS NULL ORDER BY id LIMIT 1'),
    insert: db.prepare('INSERT INTO webhook_outbox (webhook, event, alert_id, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)'),
    delivered: db.prepare('UPDATE webhook_outbox SET delivered_at = ?, attempts = attempts + 1, last_status = ?, last_error = NULL WHERE id = ?'),
    failed: db.prepare('UPDATE webhook_outbox SET attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ?'),
    pending: db.prepare('SELECT count(*) AS n FROM webhook_outbox WHERE delivered_at IS NULL').pluck(),
  };
  return {
    head: (url) => stmt.head.get(url) as WebhookOutboxRow | undefined,
    insert: (url, event, alertId, body, now) => { stmt.insert.run(url, event, alertId, body, now, now); },
    delivered: (id, at, status) => { stmt.delivered.run(at, status, id); },
    failed: (id, attempts, nextAt, status, error) => { stmt.failed.run(attempts, nextAt, status, error, id); },
    list: (q) => {
      const where = [q.status === 'pending' ? 'delivered_at IS NULL' : q.status === 'delivered' ? 'delivered_at IS NOT NULL' : '1'];
      const desc = q.order !== 'asc';
      const args: number[] = [];
      if (q.afterId !== undefined) { where.push(`id ${desc ? '<' : '>'} ?`); args.push(q.afterId); }
      return db.prepare(`SELECT * FROM webhook_outbox WHERE ${where.join(' AND ')} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ?`).all(...args, q.limit) as WebhookOutboxRow[];
    },
    pending: () => stmt.pending.get() as number,
  };
}
