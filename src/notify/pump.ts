/**
 * The delivery loop of a persistent outbox, shared by the webhook outbox and the channel
 * outbox: for each destination, take the oldest undelivered row (the head blocks the rest,
 * so a receiver sees events in order), deliver it when due, and on failure push the head's
 * next attempt back exponentially. The rows and their attempts are the caller's (SQLite, or PostgreSQL in cluster mode):
 * this holds only which destinations are busy right now.
 */
export interface Retry { initialMs: number; maxMs: number; timeoutMs: number }

/** the wait before attempt n + 1 after n failed attempts: initialMs · 2^(n-1), at most maxMs */
export const backoffMs = (retry: Retry, attempts: number): number => Math.min(retry.maxMs, retry.initialMs * 2 ** Math.max(0, attempts - 1));

export interface PumpSpec<R extends { next_attempt_at: number }> {
  destinations: () => Iterable<string>;
  /** synchronous on SQLite; a promise for a shared outbox (cluster mode) */
  head: (destination: string) => R | undefined | Promise<R | undefined>;
  /**
   * resolves once the row's outcome is saved (delivered, or failed with its next attempt);
   * false: not attempted (another node holds it), look again at the next period
   */
  deliver: (destination: string, row: R) => Promise<void | boolean>;
  clock: () => number;
  /** how often the heads are looked at when nothing kicks the pump */
  periodMs?: number;
  /** while this answers false nothing is delivered (a cluster node that is not the leader) */
  active?: () => boolean;
}

export class OutboxPump<R extends { next_attempt_at: number }> {
  private timer: NodeJS.Timeout | undefined;
  private readonly busy = new Set<string>();
  private readonly inflight = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly spec: PumpSpec<R>) {}

  start(): void {
    this.timer = setInterval(() => this.run(), this.spec.periodMs ?? 200);
    this.timer.unref();
    this.run();
  }

  /** new rows were written: look at once instead of at the next period */
  kick(): void {
    setImmediate(() => this.run());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.inflight]);
  }

  private run(): void {
    if (this.stopped || (this.spec.active && !this.spec.active())) return;
    for (const d of this.spec.destinations()) {
      if (this.busy.has(d)) continue;
      const head = this.spec.head(d);
      if (head instanceof Promise) {
        // a shared outbox (PostgreSQL): the destination is busy from the look-up on
        this.busy.add(d);
        const p = head.then((row) => {
          if (!row || row.next_attempt_at > this.spec.clock() || this.stopped) return false;
          return this.spec.deliver(d, row).then((r) => r !== false, () => true);
        }, () => false).then((again) => {
          this.busy.delete(d);
          this.inflight.delete(p);
          if (again) setImmediate(() => this.run());
        });
        this.inflight.add(p);
        continue;
      }
      if (!head || head.next_attempt_at > this.spec.clock()) continue;
      this.busy.add(d);
      const p = this.spec.deliver(d, head).catch(() => undefined).finally(() => {
        this.busy.delete(d);
        this.inflight.delete(p);
        // keep going while this destination has a backlog and answers
        setImmediate(() => this.run());
      });
      this.inflight.add(p);
    }
  }
}
