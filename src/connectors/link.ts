/**
 * One TCP link to a DTU, a Modbus TCP gateway or a device: connect, reconnect with
 * exponential backoff, and one request at a time, each with its own timeout. A serial bus
 * behind a DTU carries one conversation at a time, so requests queue here rather than in
 * the bus; a Modbus TCP peer gets the same discipline (many small gateways serve one
 * request at a time and drop the rest).
 */
import { Socket } from 'node:net';

export type LinkStatus = 'connecting' | 'connected' | 'disconnected' | 'stopped';

/**
 * Looks at the bytes received since the request went out. `skip` drops bytes that are not
 * the answer (a stale reply, line noise) and keeps waiting; `fail` ends the request.
 */
export type Matcher = (rx: Buffer) =>
  | { kind: 'incomplete' }
  | { kind: 'done'; frame: Buffer; consumed: number }
  | { kind: 'skip'; consumed: number }
  | { kind: 'fail'; error: Error };

export interface LinkOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  /** pause between the end of one exchange and the next request (bus turnaround) */
  requestGapMs: number;
  onStatus?: (status: LinkStatus, error: string | null) => void;
}

export class LinkError extends Error {
  constructor(readonly reason: 'disconnected' | 'timeout' | 'protocol', message: string) {
    super(message);
    this.name = 'LinkError';
  }
}

interface Pending {
  match: Matcher;
  resolve: (frame: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class TcpLink {
  status: LinkStatus = 'disconnected';
  lastError: string | null = null;
  private socket: Socket | undefined;
  private rx: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  /** after a timeout, the bus is left quiet until then: a late reply must not answer the next request */
  private quietUntil = 0;
  /** bytes that arrived while no request was waiting (late replies), for diagnostics */
  strayBytes = 0;

  constructor(private readonly opts: LinkOptions) {
    this.retryMs = opts.reconnectInitialMs;
  }

  get target(): string { return `${this.opts.host}:${this.opts.port}`; }

  /** connects; after stop() too (cluster mode: a node that leads again polls again) */
  start(): void {
    if (this.socket) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.status = 'disconnected';
    this.retryMs = this.opts.reconnectInitialMs;
    this.connect();
  }

  stop(): void {
    this.setStatus('stopped', this.lastError);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.failPending(new LinkError('disconnected', 'connector stopped'));
    this.socket?.destroy();
    this.socket = undefined;
  }

  private setStatus(status: LinkStatus, error: string | null): void {
    this.status = status;
    this.lastError = error;
    this.opts.onStatus?.(status, error);
  }

  private connect(): void {
    if (this.status === 'stopped') return;
    this.setStatus('connecting', this.lastError);
    const socket = new Socket();
    this.socket = socket;
    const timer = setTimeout(() => socket.destroy(new Error(`connect timeout after ${this.opts.connectTimeoutMs} ms`)), this.opts.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      this.retryMs = this.opts.reconnectInitialMs;
      this.rx = Buffer.alloc(0);
      this.setStatus('connected', null);
    });
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => { this.lastError = err.message; });
    socket.once('close', () => {
      clearTimeout(timer);
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.failPending(new LinkError('disconnected', `connection to ${this.target} lost${this.lastError ? `: ${this.lastError}` : ''}`));
      if (this.status === 'stopped') return;
      this.setStatus('disconnected', this.lastError ?? 'connection closed by peer');
      this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(this.opts.reconnectMaxMs, this.retryMs * 2);
    });
    socket.connect({ host: this.opts.host, port: this.opts.port });
  }

  private onData(chunk: Buffer): void {
    if (!this.pending) {
      this.strayBytes += chunk.length;
      return;
    }
    this.rx = this.rx.length === 0 ? chunk : Buffer.concat([this.rx, chunk]);
    while (this.pending && this.rx.length > 0) {
      const m = this.pending.match(this.rx);
      if (m.kind === 'incomplete') return;
      if (m.kind === 'skip') {
        this.strayBytes += m.consumed;
        this.rx = this.rx.subarray(m.consumed);
        continue;
      }
      const p = this.pending;
      this.pending = undefined;
      clearTimeout(p.timer);
      this.rx = Buffer.alloc(0);
      if (m.kind === 'done') p.resolve(m.frame);
      else p.reject(m.error);
    }
  }

  private failPending(err: Error): void {
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  /** Sends one request and resolves with the answer the matcher accepts. Requests run one at a time. */
  request(frame: Buffer, match: Matcher, timeoutMs: number): Promise<Buffer> {
    const run = async (): Promise<Buffer> => {
      const wait = this.quietUntil - Date.now();
      if (wait > 0) await sleep(wait);
      if (this.opts.requestGapMs > 0) await sleep(this.opts.requestGapMs);
      const socket = this.socket;
      if (this.status !== 'connected' || !socket) {
        throw new LinkError('disconnected', `not connected to ${this.target}${this.lastError ? `: ${this.lastError}` : ''}`);
      }
      return new Promise<Buffer>((resolve, reject) => {
        this.rx = Buffer.alloc(0);
        const timer = setTimeout(() => {
          if (this.pending?.timer !== timer) return;
          this.pending = undefined;
          this.rx = Buffer.alloc(0);
          this.quietUntil = Date.now() + Math.min(timeoutMs, 500);
          reject(new LinkError('timeout', `no answer from ${this.target} within ${timeoutMs} ms`));
        }, timeoutMs);
        this.pending = { match, resolve, reject, timer };
        socket.write(frame);
      });
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
