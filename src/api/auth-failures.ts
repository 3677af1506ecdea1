/**
 * Failed REST authentication per remote address: a fixed one-minute window. The per-key
 * rate limit cannot see a token guesser (every wrong token is a key of its own), so this
 * counts requests with a missing or unknown token by address, and past the limit that
 * address gets 429 on every authenticated route until its window ends: checking a token
 * costs a hash and a lookup, answering from here costs less and tells a guesser nothing.
 */
export class AuthFailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(private readonly perMinute: number, private readonly clock: () => number) {}

  /** seconds until `address` may try again, or 0 */
  retryAfterS(address: string): number {
    if (this.perMinute <= 0) return 0;
    const w = this.windows.get(address);
    if (!w) return 0;
    const left = w.start + 60_000 - this.clock();
    if (left <= 0) { this.windows.delete(address); return 0; }
    return w.failures >= this.perMinute ? Math.ceil(left / 1000) : 0;
  }

  failed(address: string): void {
    if (this.perMinute <= 0) return;
    const now = this.clock();
    const w = this.windows.get(address);
    if (!w || now - w.start >= 60_000) this.windows.set(address, { start: now, failures: 1 });
    else w.failures++;
    if (this.windows.size > 50_000) {
      for (const [a, x] of this.windows) if (now - x.start >= 60_000) this.windows.delete(a);
    }
  }
}

/** `?token=` (the SSE EventSource form of the bearer token) out of a URL bound for a log line */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(/([?&](?:token|access_token)=)[^&#]*/gi, '$1[redacted]');
}
