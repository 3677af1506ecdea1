/** The notifier's rows in the node's SQLite (tables of migration alerts-002-notify, storage/database.ts). */
import type { Db } from '../storage/database.js';
import type { EscalationRow, NewMessage, NotifyRepository, OutboxRow } from './repositories.js';

export function sqliteNotifyRepository(db: Db): NotifyRepository {
  const stmt = {
    getEsc: db.prepare('SELECT * FROM alert_escalation WHERE alert_id = ?'),
    putEsc: db.prepare(`INSERT INTO alert_escalation (alert_id, policy, step, started_at, next_at, heard) VALUES (@alert_id, @policy, @step, @started_at, @next_at, @heard)
      ON CONFLICT(alert_id) DO UPDATE SET policy = excluded.policy, step = excluded.step, started_at = excluded.started_at, next_at = excluded.next_at, heard = excluded.heard`),
    due: db.prepare('SELECT * FROM alert_escalation WHERE next_at IS NOT NULL AND next_at <= ? ORDER BY next_at LIMIT 500'),
    enqueue: db.prepare('INSERT INTO notify_outbox (channel, event, alert_id, step, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    head: db.prepare('SELECT * FROM notify_outbox WHERE channel = ? AND delivered_at IS NULL ORDER BY id LIMIT 1'),
    delivered: db.prepare('UPDATE notify_outbox SET delivered_at = ?, last_attempt_at = ?, attempts = attempts + 1, last_status = ?, last_error = NULL WHERE id = ?'),
    failed: db.prepare('UPDATE notify_outbox SET attempts = ?, last_attempt_at = ?, next_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ?'),
    ofAlert: db.prepare('SELECT * FROM notify_outbox WHERE alert_id = ? ORDER BY id'),
    pending: db.prepare('SELECT count(*) AS n FROM notify_outbox WHERE delivered_at IS NULL'),
  };
  return {
    escalation: (alertId) => stmt.getEsc.get(alertId) as EscalationRow | undefined,
    saveEscalation: (row) => { stmt.putEsc.run(row); },
    due: (now) => stmt.due.all(now) as EscalationRow[],
    // one node enqueues each step once by construction (one transaction per step): no key column
    enqueue: (m: NewMessage, now) => { stmt.enqueue.run(m.channel, m.event, m.alertId, m.step, m.body, now, now); },
    head: (channel) => stmt.head.get(channel) as OutboxRow | undefined,
    delivered: (id, at, status) => { stmt.delivered.run(at, at, status, id); },
    failed: (id, attempts, at, nextAttemptAt, status, error) => { stmt.failed.run(attempts, at, nextAttemptAt, status, error, id); },
    ofAlert: (alertId) => stmt.ofAlert.all(alertId) as OutboxRow[],
    pending: () => (stmt.pending.get() as { n: number }).n,
  };
}
