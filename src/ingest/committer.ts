/**
 * Group commit: every message that arrives within a few milliseconds goes into one store
 * transaction, and each message's callback (its PUBACK) fires only after that transaction
 * is durable. One commit is in flight at a time; messages arriving meanwhile form the next,
 * which goes to the store as soon as the last one's listeners have run, before that one's
 * acknowledgements are written (the writer commits while this thread writes the PUBACKs).
 *
 * One message's content never decides a neighbour's PUBACK: each entry is checked before it
 * joins a batch (checkEntry), and a batch the store still refuses as data (StoreDataError,
 * e.g. a STRICT column's type) is split in halves until the refused entries are alone; each
 * becomes a dead letter with the store's reason and the rest commit. A store that cannot
 * write at all (disk full, I/O error, busy) fails the whole batch as before: no PUBACK,
 * the clients redeliver (refuse rather than lie).
 */
import type { DeadLetter, DeviceEventRecord, Reading } from '../core/types.js';
import { isStoreDataError, type TelemetryStore, type WriteBatch } from '../storage/telemetry-store.js';
import { MAX_STORABLE_TS } from './time-policy.js';

export interface Entry {
  readings: Reading[];
  events: DeviceEventRecord[];
  deadLetter?: DeadLetter;
  deviceId?: string;
  receivedAt: number;
  /** the message the entry came from: what a dead letter keeps if the entry is refused */
  source?: { topic: string; clientId: string; payload: Buffer };
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
  /** an entry refused by checkEntry or by the store, now a dead letter (before it commits) */
  onRefused?: (entry: Entry, reason: string) => void;
}

const MAX_READINGS = 20_000;
const MAX_STRING_VALUE = 4096;
const MAX_EVENT_DATA = 16 * 1024;
const QUALITIES = new Set(['ok', 'out_of_range']);

const isTime = (t: unknown): boolean => Number.isSafeInteger(t) && (t as number) >= 0 && (t as number) <= MAX_STORABLE_TS;
const isId = (s: unknown, max = 256): boolean => typeof s === 'string' && s.length > 0 && s.length <= max;
const show = (v: unknown): string => {
  try { return typeof v === 'bigint' ? `${v}n` : (JSON.stringify(v) ?? String(v)).slice(0, 60); } catch { return typeof v; }
};

/**
 * Why the store could not keep this entry, or undefined when it can: integer millisecond
 * times within what every store holds, finite numbers, the value types the store has
 * columns for, bounded sizes.
 */
export function checkEntry(entry: Entry): string | undefined {
  if (!Number.isSafeInteger(entry.receivedAt) || entry.receivedAt < 0) return `receivedAt ${show(entry.receivedAt)} is not whole epoch milliseconds`;
  if (entry.deviceId !== undefined && !isId(entry.deviceId)) return 'deviceId is not a device id';
  if (!Array.isArray(entry.readings) || !Array.isArray(entry.events)) return 'readings and events must be lists';
  if (entry.readings.length > MAX_READINGS) return `more than ${MAX_READINGS} readings in one message`;
  for (let i = 0; i < entry.readings.length; i++) {
    const r = entry.readings[i]!;
    if (!isId(r.deviceId) || !isId(r.metric, 128)) return `readings[${i}]: device and metric must be short strings`;
    if (!isTime(r.ts)) return `readings[${i}] ${r.metric}: ts ${show(r.ts)} is not whole epoch milliseconds between 1970 and 2262`;
    if (!Number.isSafeInteger(r.receivedAt)) return `readings[${i}] ${r.metric}: receivedAt ${show(r.receivedAt)} is not whole epoch milliseconds`;
    const v = r.value;
    if (typeof v === 'number') { if (!Number.isFinite(v)) return `readings[${i}] ${r.metric}: ${show(v)} is not a finite number`; }
    else if (typeof v === 'string') { if (v.length > MAX_STRING_VALUE) return `readings[${i}] ${r.metric}: string longer than ${MAX_STRING_VALUE}`; }
    else if (typeof v !== 'boolean') return `readings[${i}] ${r.metric}: a ${typeof v} is not a number, boolean or string`;
    if (!QUALITIES.has(r.quality)) return `readings[${i}] ${r.metric}: unknown quality ${show(r.quality)}`;
  }
  for (let i = 0; i < entry.events.length; i++) {
    const e = entry.events[i]!;
    if (!isId(e.deviceId) || !isId(e.type, 128)) return `events[${i}]: device and type must be short strings`;
    if (!isTime(e.ts)) return `events[${i}] ${e.type}: ts ${show(e.ts)} is not whole epoch milliseconds between 1970 and 2262`;
    let json: string | undefined;
    try { json = typeof e.data === 'object' && e.data !== null && !Array.isArray(e.data) ? JSON.stringify(e.data) : undefined; } catch { json = undefined; }
    if (json === undefined) return `events[${i}] ${e.type}: data is not a JSON object`;
    if (json.length > MAX_EVENT_DATA) return `events[${i}] ${e.type}: data larger than ${MAX_EVENT_DATA} bytes`;
  }
  const d = entry.deadLetter;
  if (d !== undefined) {
    if (!isTime(d.ts) || typeof d.topic !== 'string' || typeof d.clientId !== 'string' || typeof d.reason !== 'string' || !(d.payload instanceof Uint8Array)) return 'dead letter has invalid fields';
  }
  return undefined;
}

/** The entry as a dead letter: what it came from (or what it tried to store), and why it was refused. */
export function refusedEntry(entry: Entry, reason: string): Entry {
  const src = entry.source;
  let payload = src?.payload ?? entry.deadLetter?.payload;
  if (payload === undefined) {
    try {
      payload = Buffer.from(JSON.stringify({ readings: entry.readings, events: entry.events }, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? '');
    } catch {
      payload = Buffer.alloc(0);
    }
  }
  const deviceId = isId(entry.deviceId) ? entry.deviceId : undefined;
  const now = isTime(entry.receivedAt) ? entry.receivedAt : Date.now();
  return {
    readings: [], events: [], deviceId, receivedAt: now, source: src,
    deadLetter: {
      ts: now,
      topic: typeof src?.topic === 'string' ? src.topic : entry.deadLetter?.topic ?? 'gateway/ingest',
      clientId: typeof src?.clientId === 'string' ? src.clientId : entry.deadLetter?.clientId ?? '',
      deviceId,
      reason: `not storable: ${reason}`,
      payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
    },
  };
}

export class GroupCommitter {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** when the armed timer is due (performance.now()) */
  private dueAt = 0;
  private inFlight: Promise<void> | undefined;
  /** when the last commit began (performance.now()): the next begins maxDelayMs after it at the earliest */
  private lastStart = -Infinity;

  constructor(private readonly store: TelemetryStore, private readonly opts: CommitterOptions) {}

  get depth(): number { return this.pending.length; }

  submit(entry: Entry): Promise<void> {
    return new Promise((resolve, reject) => this.submitCb(entry, (err) => (err ? reject(err) : resolve())));
  }

  /** submit() without a promise per message: the broker's hot path */
  submitCb(entry: Entry, done: Done): void {
    // a commit the writer has finished is settled now, not after the socket reads queued
    // ahead of its answer
    this.store.poll?.();
    const problem = checkEntry(entry);
    this.pending.push({ entry: problem === undefined ? entry : this.refuse(entry, problem), done });
    // a timer falls due only once the event loop has worked through the socket reads queued
    // ahead of it (under load 7-78 ms late for a 1-3 ms wait, the writer idle meanwhile): the
    // first message past the time it was due for begins the commit instead
    if (this.pending.length >= this.opts.maxMessages || (this.timer !== undefined && performance.now() >= this.dueAt)) this.kick(0);
    else this.kick(this.opts.maxDelayMs);
  }

  private refuse(entry: Entry, reason: string): Entry {
    const out = refusedEntry(entry, reason);
    try { this.opts.onRefused?.(out, reason); } catch (err) { this.opts.onListenerError?.(err as Error); }
    return out;
  }

  private kick(delay: number): void {
    if (this.inFlight) return; // the running commit re-arms when it finishes
    if (delay === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.inFlight = this.run();
      return;
    }
    if (this.timer !== undefined) return;
    this.dueAt = performance.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.run();
    }, delay);
  }

  private async run(): Promise<void> {
    const batch = this.pending.splice(0, this.opts.maxMessages);
    this.lastStart = performance.now();
    let next = false;
    if (batch.length > 0) await this.commitGroup(batch, true, () => { next = true; this.next(); });
    if (!next) this.next();
  }

  /**
   * The commit of run() is settled (its listeners have run): the next may begin. Called
   * before the settled batch's acknowledgements go out, so that the writer commits the next
   * batch while this thread writes the PUBACKs.
   */
  private next(): void {
    this.inFlight = undefined;
    if (this.pending.length === 0) return;
    // what arrived meanwhile has waited for a commit already: under load (a commit as long as
    // maxDelayMs or longer) it is the next batch now, not after another maxDelayMs, which was
    // in every message's latency. A commit shorter than that (a light load) is followed by the
    // next no sooner than maxDelayMs after it began: commits back to back at a few messages
    // each cost the main thread and the disk per commit (~0.3 ms of bookkeeping and an fsync
    // each) for a latency gain of a millisecond or two.
    const full = this.pending.length >= this.opts.maxMessages;
    this.kick(full ? 0 : Math.max(0, Math.ceil(this.opts.maxDelayMs - (performance.now() - this.lastStart))));
  }

  /**
   * Commits `group`; on a data refusal, bisects (a group of one becomes a dead letter, once:
   * `retry` false when the group already is the refused entry's dead letter).
   */
  private async commitGroup(group: Pending[], retry: boolean, settled?: () => void): Promise<void> {
    const write: WriteBatch = { readings: [], events: [], deadLetters: [], seen: new Map() };
    for (const { entry } of group) {
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
      failure = err instanceof Error ? err : new Error(String(err));
    }
    if (failure && isStoreDataError(failure) && retry) {
      if (group.length > 1) {
        const mid = group.length >> 1;
        await this.commitGroup(group.slice(0, mid), true);
        await this.commitGroup(group.slice(mid), true, settled);
        return;
      }
      const p = group[0]!;
      await this.commitGroup([{ entry: this.refuse(p.entry, failure.message), done: p.done }], false, settled);
      return;
    }
    // listeners first (alerts, SSE, counters), then the acknowledgements; a listener's
    // error is reported and changes nothing about what was committed
    try {
      if (failure) this.opts.onFailed?.(failure, group.map((p) => p.entry));
      else this.opts.onCommitted?.(group.map((p) => p.entry), performance.now() - started);
    } catch (err) {
      this.opts.onListenerError?.(err as Error);
    }
    settled?.();
    for (const p of group) p.done(failure);
  }

  /** Commits everything pending now (shutdown). */
  async flush(): Promise<void> {
    while (this.inFlight || this.pending.length > 0) {
      if (this.inFlight) await this.inFlight;
      else this.kick(0);
    }
  }
}
