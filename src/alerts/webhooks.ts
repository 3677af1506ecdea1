/**
 * Webhook delivery from a persistent outbox: every alert event becomes one row per matching
 * webhook in SQLite, in the same order as the events. A worker delivers each webhook's rows
 * strictly in order (the head blocks the rest), signs the raw body with HMAC-SHA256, retries
 * with exponential backoff, and picks up where it left off after a restart.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../storage/database.js';
import type { Alert } from './service.js';
import { matches } from '../notify/policy.js';
import { OutboxPump, backoffMs } from '../notify/pump.js';
import type { Metrics } from '../metrics.js';

export interface WebhookConfig {
  url: string;
  secret: string;
  match: { severity?: string | string[]; kind?: string | string[]; site?: string; rule?: string | string[] };
}

/** a webhook's match is a policy's match (notify/policy.ts): severity, kind, rule, site prefix */
export function webhookMatches(w: WebhookConfig, a: Pick<Alert, 'severity' | 'kind' | 'site' | 'rule'>): boolean {
  return matches(w.match, a);
}

export function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

interface OutboxRow { id: number; webhook: string; event: string; alert_id: string; body: string; created_at: number; attempts: number; next_attempt_at: number; delivered_at: number | null; last_status: number | null; last_error: string | null }

export class WebhookOutbox {
  private readonly pump: OutboxPump<OutboxRow>;

  constructor(private readonly db: Db, private readonly hooks: WebhookConfig[], private readonly retry: { initialMs: number; maxMs: number; timeoutMs: number },
    private readonly log: Logger, private readonly clock: () => number, isLeader?: () => boolean,
    private readonly metrics?: Pick<Metrics, 'notifications' | 'notificationDuration' | 'notificationsPending'>) {
    // rows are keyed by URL: a URL configured twice is one destination, delivered as its first entry
    const byUrl = new Map<string, WebhookConfig>();
    for (const w of hooks) if (!byUrl.has(w.url)) byUrl.set(w.url, w);
    const head = db.prepare('SELECT * FROM webhook_outbox WHERE webhook = ? AND delivered_at IS NULL ORDER BY id LIMIT 1');
    this.pump = new OutboxPump<OutboxRow>({
      destinations: () => byUrl.keys(),
      head: (url) => head.get(url) as OutboxRow | undefined,
      deliver: (url, row) => this.deliver(byUrl.get(url)!, row),
      clock,
      // cluster mode: only the leader delivers (cluster/leader.ts)
      active: isLeader,
    });
  }

  enqueue(event: string, alert: Alert, body: string): void {
    const now = this.clock();
    const insert = this.db.prepare('INSERT INTO webhook_outbox (webhook, event, alert_id, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)');
    let any = false;
    for (const w of this.hooks) {
      if (!webhookMatches(w, alert)) continue;
      insert.run(w.url, event, alert.id, body, now, now);
      any = true;
    }
    if (any) {
      this.updatePending();
      this.pump.kick();
    }
  }

  /** the outbox is the truth of what is pending, across restarts too (partial index: cheap) */
  private updatePending(): void {
    if (this.hooks.length > 0) this.metrics?.notificationsPending.set({ channel: 'webhook' }, this.pending());
  }

  start(): void {
    this.updatePending();
    this.pump.start();
  }

  async stop(): Promise<void> {
    await this.pump.stop();
  }

  /** Delivery state for operators: pending and recent rows per webhook. */
  deliveries(q: { status?: 'pending' | 'delivered'; limit: number; order?: 'asc' | 'desc'; afterId?: number }) {
    const where = [q.status === 'pending' ? 'delivered_at IS NULL' : q.status === 'delivered' ? 'delivered_at IS NOT NULL' : '1'];
    const desc = q.order !== 'asc';
    const args: number[] = [];
    if (q.afterId !== undefined) { where.push(`id ${desc ? '<' : '>'} ?`); args.push(q.afterId); }
    return (this.db.prepare(`SELECT * FROM webhook_outbox WHERE ${where.join(' AND ')} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ?`).all(...args, q.limit) as OutboxRow[]).map((r) => ({
      id: String(r.id), webhook: r.webhook, event: r.event, alertId: r.alert_id, createdAt: new Date(r.created_at).toISOString(),
      status: r.delivered_at !== null ? 'delivered' : 'pending', attempts: r.attempts, nextAttemptAt: r.delivered_at === null ? new Date(r.next_attempt_at).toISOString() : null,
      deliveredAt: r.delivered_at === null ? null : new Date(r.delivered_at).toISOString(), lastStatus: r.last_status, lastError: r.last_error,
    }));
  }

  pending(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM webhook_outbox WHERE delivered_at IS NULL').get() as { n: number }).n;
  }

  private async deliver(w: WebhookConfig, row: OutboxRow): Promise<void> {
    let status: number | null = null;
    let error: string | null = null;
    const stopTimer = this.metrics?.notificationDuration.startTimer({ channel: 'webhook' });
    try {
      const res = await fetch(w.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-gateway-signature': sign(w.secret, row.body), 'x-gateway-event': row.event, 'x-gateway-delivery': String(row.id) },
        body: row.body,
        signal: AbortSignal.timeout(this.retry.timeoutMs),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        this.db.prepare('UPDATE webhook_outbox SET delivered_at = ?, attempts = attempts + 1, last_status = ?, last_error = NULL WHERE id = ?').run(this.clock(), status, row.id);
        stopTimer?.();
        this.metrics?.notifications.inc({ channel: 'webhook', result: 'delivered' });
        this.updatePending();
        return;
      }
      error = `HTTP ${status}`;
    } catch (err) {
      error = (err as Error).name === 'TimeoutError' ? `timeout after ${this.retry.timeoutMs} ms` : ((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
    }
    stopTimer?.();
    this.metrics?.notifications.inc({ channel: 'webhook', result: 'failed' });
    const attempts = row.attempts + 1;
    const delay = backoffMs(this.retry, attempts);
    this.db.prepare('UPDATE webhook_outbox SET attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ?').run(attempts, this.clock() + delay, status, error, row.id);
    if (attempts === 1 || attempts % 10 === 0) this.log.warn({ webhook: w.url, attempts, error, retryInMs: delay }, 'webhook delivery failed; will retry');
  }
}
