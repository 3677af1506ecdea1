/**
 * Runs user codecs (TTN-style `decodeUplink`) off the event loop, in one worker thread
 * holding QuickJS compiled to WebAssembly (sandbox.worker.mjs). Why a thread and not only
 * QuickJS's interrupt deadline on the main thread: a codec that spends its full 50 ms on
 * every message, from a device sending 20 a second, would take the whole event loop and
 * with it every other device's ingest, the REST API and the PUBACKs. In the thread it
 * takes only the sandbox's time.
 *
 * Fairness between codecs: one FIFO queue per codec, served round-robin, one call at a
 * time. A slow codec delays another codec's next call by at most one of its own calls, and
 * each codec's calls (so each device's messages) complete in the order they came. A queue
 * holds at most `queuePerCodec` calls; beyond that a message is refused at once (a dead
 * letter with the reason) rather than waiting without bound.
 *
 * The thread is a second line of defence too: should a call not come back within
 * `watchdogMs` (QuickJS stuck outside its interrupt checks, or the WebAssembly module
 * broken), the thread is terminated, that call fails, and a new thread serves the rest.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { DecodeError } from '../core/model.js';
import type { CodecLimits } from './limits.js';

export { CodecLimitsSchema, type CodecLimits } from './limits.js';

export interface CodecInput {
  bytes: number[];
  fPort?: number;
  recvTime: number;
  json?: unknown;
}

interface Job {
  id: number;
  key: string;
  op: 'run' | 'check';
  source: string;
  input?: CodecInput;
  resolve: (output: unknown) => void;
  reject: (err: Error) => void;
}

interface Reply { id: number; ok: boolean; output?: string; reason?: string; ms: number }
interface Slot { worker: Worker; ready: boolean }

export class CodecSandbox {
  /** the thread running calls, and a warm one to take over when it is killed */
  private active: Slot | undefined;
  private spare: Slot | undefined;
  private readonly queues = new Map<string, Job[]>();
  /** round-robin order of codecs with waiting calls */
  private readonly turn: string[] = [];
  private current: Job | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private seq = 0;
  private stopped = false;
  /** calls, failures and worker time, for the metrics and the docs' numbers */
  readonly stats = { calls: 0, failures: 0, restarts: 0, busyMs: 0 };

  constructor(private readonly limits: CodecLimits, private readonly log: Logger) {}

  /** decodeUplink(input) of `source`: the parsed JSON it returned, or a DecodeError with the reason. */
  run(key: string, source: string, input: CodecInput): Promise<unknown> {
    return this.enqueue(key, 'run', source, input);
  }

  /** Resolves when the source loads and defines decodeUplink; rejects with the reason otherwise. */
  check(source: string): Promise<void> {
    return this.enqueue('\u0000check', 'check', source).then(() => undefined);
  }

  private enqueue(key: string, op: Job['op'], source: string, input?: CodecInput): Promise<unknown> {
    if (this.stopped) return Promise.reject(new DecodeError('codec sandbox is stopped'));
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = []));
    if (q.length >= this.limits.queuePerCodec) {
      this.stats.failures++;
      return Promise.reject(new DecodeError(`codec busy: ${q.length} messages already wait for ${key}`));
    }
    return new Promise((resolve, reject) => {
      q.push({ id: ++this.seq, key, op, source, input, resolve, reject });
      if (q.length === 1) this.turn.push(key);
      this.pump();
    });
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(new URL('./sandbox.worker.mjs', import.meta.url)), ready: false };
    const { worker } = slot;
    worker.unref();
    worker.on('message', (m: Reply | { ready: true }) => {
      if ('ready' in m) {
        slot.ready = true;
        if (slot === this.active) this.pump();
        return;
      }
      if (slot === this.active) this.settle(m);
    });
    worker.on('error', (err) => {
      if (slot === this.spare) this.spare = undefined;
      if (slot !== this.active) return;
      this.log.error({ err }, 'codec sandbox thread failed; restarting it');
      this.restart('codec sandbox thread failed');
    });
    worker.on('exit', (code) => {
      if (slot === this.spare) this.spare = undefined;
      if (slot !== this.active || this.stopped) return;
      this.log.error({ code }, 'codec sandbox thread exited; restarting it');
      this.restart('codec sandbox thread exited');
    });
    return slot;
  }

  /**
   * Terminates the active thread (failing its call) and promotes the warm spare: a fresh
   * thread needs about a second under load to compile QuickJS, which the calls waiting
   * behind a killed one should not have to wait.
   */
  private restart(reason: string): void {
    const old = this.active;
    this.active = this.spare;
    this.spare = undefined;
    this.stats.restarts++;
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    const job = this.current;
    this.current = undefined;
    void old?.worker.terminate();
    if (job) {
      this.stats.failures++;
      job.reject(new DecodeError(reason));
    }
    this.pump();
  }

  private pump(): void {
    if (this.current || this.stopped || this.turn.length === 0) return;
    this.active ??= this.spawn();
    this.spare ??= this.spawn();
    if (!this.active.ready) return;
    const key = this.turn.shift()!;
    const q = this.queues.get(key)!;
    const job = q.shift()!;
    if (q.length > 0) this.turn.push(key);
    else this.queues.delete(key);
    this.current = job;
    this.stats.calls++;
    this.watchdog = setTimeout(() => {
      this.log.warn({ codec: job.key }, 'codec call did not return; terminating the sandbox thread');
      this.restart(`codec exceeded its time limit (${this.limits.timeMs} ms; sandbox thread restarted)`);
    }, this.limits.watchdogMs);
    this.watchdog.unref();
    this.active.worker.postMessage({
      id: job.id, op: job.op, source: job.source, input: job.input,
      limits: { timeMs: this.limits.timeMs, memoryBytes: this.limits.memoryMb * 1048576, stackBytes: this.limits.stackKb * 1024, outputBytes: this.limits.outputBytes },
    });
  }

  private settle(reply: Reply): void {
    const job = this.current;
    if (!job || job.id !== reply.id) return;
    this.current = undefined;
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.stats.busyMs += reply.ms;
    if (!reply.ok) {
      this.stats.failures++;
      job.reject(new DecodeError(reply.reason ?? 'codec failed'));
    } else if (job.op === 'check') job.resolve(undefined);
    else {
      try {
        job.resolve(JSON.parse(reply.output ?? 'null'));
      } catch {
        this.stats.failures++;
        job.reject(new DecodeError('codec output is not JSON'));
      }
    }
    // a WebAssembly abort leaves the module unusable: start afresh rather than fail every call
    if (!reply.ok && reply.reason?.startsWith('sandbox failure')) this.restart('codec sandbox restarted');
    else this.pump();
  }

  /** calls waiting, all codecs together */
  get queued(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** Resolves once no call waits or runs (shutdown: decodes in flight reach the committer first). */
  async drain(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.current || this.turn.length > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchdog) clearTimeout(this.watchdog);
    const pending = [...(this.current ? [this.current] : []), ...[...this.queues.values()].flat()];
    this.current = undefined;
    this.queues.clear();
    this.turn.length = 0;
    for (const job of pending) job.reject(new DecodeError('codec sandbox is stopped'));
    const slots = [this.active, this.spare];
    this.active = this.spare = undefined;
    await Promise.all(slots.map((s) => s?.worker.terminate()));
  }
}

/** The sandbox's counters on /metrics, read when scraped. */
export function registerSandboxMetrics(registry: Registry, sandbox: CodecSandbox): void {
  const counter = (name: string, help: string, read: () => number) => new Counter({
    name, help, registers: [registry],
    collect() { this.reset(); this.inc(read()); },
  });
  counter('gateway_codec_calls_total', 'user-codec calls run in the sandbox thread', () => sandbox.stats.calls);
  counter('gateway_codec_failures_total', 'user-codec calls that failed (exception, limit, bad output, queue full)', () => sandbox.stats.failures);
  counter('gateway_codec_restarts_total', 'sandbox threads killed by the watchdog or lost', () => sandbox.stats.restarts);
  counter('gateway_codec_busy_seconds_total', 'time the sandbox thread spent running codecs', () => sandbox.stats.busyMs / 1000);
  new Gauge({ name: 'gateway_codec_queued', help: 'user-codec calls waiting for the sandbox thread', registers: [registry], collect() { this.set(sandbox.queued); } });
}
