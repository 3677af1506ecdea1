/**
 * Webhook delivery from a persistent outbox: every alert event becomes one row per matching
 * webhook (WebhookOutboxRepository, SQLite on one node), in the same order as the events. A worker delivers each webhook's rows
 * strictly in order (the head blocks the rest), signs the raw body with HMAC-SHA256, retries
 * with exponential backoff, and picks up where it left off after a restart.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebhookOutboxRepository, WebhookOutboxRow as OutboxRow } from './repositories.js';
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

export class WebhookOutbox {
  private readonly pump: OutboxPump<OutboxRow>;

  constructor(private readonly rows: WebhookOutboxRepository, private readonly hooks: WebhookConfig[], private readonly retry: { initialMs: number; maxMs: number; timeoutMs: number },
    private readonly log: Logger, private readonly clock: () => number, isLeader?: () => boolean,
    private readonly metrics?: Pick<Metrics, 'notifications' | 'notificationDuration' | 'notificationsPending'>) {
    // rows are keyed by URL: a URL configured twice is one destination, delivered as its first entry
    const byUrl = new Map<string, WebhookConfig>();
    for (const w of hooks) if (!byUrl.has(w.url)) byUrl.set(w.url, w);
    this.pump = new OutboxPump<OutboxRow>({
      destinations: () => byUrl.keys(),
      head: (url) => rows.head(url),
      deliver: (url, row) => this.deliver(byUrl.get(url)!, row),
      clock,
      // cluster mode: only the leader delivers (cluster/leader.ts)
      active: isLeader,
    });
  }

  enqueue(event: string, alert: Alert, body: string): void {
    const now = this.clock();
    let any = false;
    for (const w of this.hooks) {
      if (!webhookMatches(w, alert)) continue;
      this.rows.insert(w.url, event, alert.id, body, now);
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
    return this.rows.list(q).map((r) => ({
      id: String(r.id), webhook: r.webhook, event: r.event, alertId: r.alert_id, createdAt: new Date(r.created_at).toISOString(),
      status: r.delivered_at !== null ? 'delivered' : 'pending', attempts: r.attempts, nextAttemptAt: r.delivered_at === null ? new Date(r.next_attempt_at).toISOString() : null,
      deliveredAt: r.delivered_at === null ? null : new Date(r.delivered_at).toISOString(), lastStatus: r.last_status, lastError: r.last_error,
    }));
  }

  pending(): number {
    return this.rows.pending();
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
        this.rows.delivered(row.id, this.clock(), status);
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
    this.rows.failed(row.id, attempts, this.clock() + delay, status, error);
    if (attempts === 1 || attempts % 10 === 0) this.log.warn({ webhook: w.url, attempts, error, retryInMs: delay }, 'webhook delivery failed; will retry');
  }
}
