/**
 * Group commit: every message that arrives within a few milliseconds goes into one store
 * transaction, and each message's callback (its PUBACK) fires only after that transaction
 * is durable. One commit is in flight at a time; messages arriving meanwhile form the next.
 */
import type { DeadLetter, DeviceEventRecord, Reading } from '../core/types.js';
import type { TelemetryStore, WriteBatch } from '../storage/telemetry-store.js';

export interface Entry {
  readings: Reading[];
  events: DeviceEventRecord[];
  deadLetter?: DeadLetter;
  deviceId?: string;
  receivedAt: number;
}

/** called once: without an error when the entry is durable */
export type Done = (err?: Error) => void;

interface Pending { entry: Entry; done: Done }

export interface CommitterOptions {
  maxDelayMs: number;
  maxMessages: number;
  onCommitted?: (entries: Entry[], ms: number) => void;
  onFailed?: (err: Error, entries: Entry[]) => void;
  onListenerError?: (err: Error) => void;
}

export class GroupCommitter {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly store: TelemetryStore, private readonly opts: CommitterOptions) {}

  get depth(): number { return this.pending.length; }

  submit(entry: Entry): Promise<void> {
    return new Promise((resolve, reject) => this.submitCb(entry, (err) => (err ? reject(err) : resolve())));
  }

  /** submit() without a promise per message: the broker's hot path */
  submitCb(entry: Entry, done: Done): void {
    this.pending.push({ entry, done });
    if (this.pending.length >= this.opts.maxMessages) this.kick(0);
    else this.kick(this.opts.maxDelayMs);
  }

  private kick(delay: number): void {
    if (this.inFlight) return; // the running commit re-arms when it finishes
    if (delay === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.inFlight = this.run();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.run();
    }, delay);
  }

  private async run(): Promise<void> {
    const batch = this.pending.splice(0, this.opts.maxMessages);
    if (batch.length > 0) {
      const write: WriteBatch = { readings: [], events: [], deadLetters: [], seen: new Map() };
      for (const { entry } of batch) {
        for (const r of entry.readings) write.readings.push(r);
        for (const e of entry.events) write.events.push(e);
        if (entry.deadLetter) write.deadLetters.push(entry.deadLetter);
        if (entry.deviceId !== undefined) {
          const prev = write.seen.get(entry.deviceId);
          if (prev === undefined || prev < entry.receivedAt) write.seen.set(entry.deviceId, entry.receivedAt);
        }
      }
      const started = performance.now();
      let failure: Error | undefined;
      try {
        await this.store.commit(write);
      } catch (err) {
        failure = err as Error;
      }
      // listeners first (alerts, SSE, counters), then the acknowledgements; a listener's
      // error is reported and changes nothing about what was committed
      try {
        if (failure) this.opts.onFailed?.(failure, batch.map((p) => p.entry));
        else this.opts.onCommitted?.(batch.map((p) => p.entry), performance.now() - started);
      } catch (err) {
        this.opts.onListenerError?.(err as Error);
      }
      for (const p of batch) p.done(failure);
    }
    this.inFlight = undefined;
    if (this.pending.length >= this.opts.maxMessages) this.kick(0);
    else if (this.pending.length > 0) this.kick(this.opts.maxDelayMs);
  }

  /** Commits everything pending now (shutdown). */
  async flush(): Promise<void> {
    while (this.inFlight || this.pending.length > 0) {
      if (this.inFlight) await this.inFlight;
      else this.kick(0);
    }
  }
}
