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

interface Pending { entry: Entry; resolve: () => void; reject: (err: Error) => void }

export interface CommitterOptions {
  maxDelayMs: number;
  maxMessages: number;
  onCommitted?: (entries: Entry[], ms: number) => void;
  onFailed?: (err: Error, entries: Entry[]) => void;
}

export class GroupCommitter {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly store: TelemetryStore, private readonly opts: CommitterOptions) {}

  get depth(): number { return this.pending.length; }

  submit(entry: Entry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ entry, resolve, reject });
      if (this.pending.length >= this.opts.maxMessages) this.kick(0);
      else this.kick(this.opts.maxDelayMs);
    });
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
      try {
        await this.store.commit(write);
        const ms = performance.now() - started;
        for (const p of batch) p.resolve();
        this.opts.onCommitted?.(batch.map((p) => p.entry), ms);
      } catch (err) {
        for (const p of batch) p.reject(err as Error);
        this.opts.onFailed?.(err as Error, batch.map((p) => p.entry));
      }
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
