import type { ChannelMessage } from '../message.js';

/** A failed delivery: retried by the outbox with backoff. `permanent` is for replies no retry can fix. */
export class DeliveryError extends Error {
  constructor(message: string, readonly status: number | null = null) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface Channel {
  readonly id: string;
  readonly type: string;
  /** resolves when the platform accepted the message; throws DeliveryError otherwise */
  send(message: ChannelMessage, opts: { timeoutMs: number; deliveryId: string }): Promise<{ status: number | null }>;
  close?(): Promise<void>;
}

/** POST JSON with a timeout; the reply body as text (robots answer 200 with an error code inside) */
export async function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; text: string }> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: Error };
    throw new DeliveryError(e.name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : (e.cause?.message ?? e.message));
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) throw new DeliveryError(`HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`, res.status);
  return { status: res.status, text };
}

/** a robot's JSON reply: `errcode` (DingTalk, WeCom) or `code` / `StatusCode` (Feishu) other than 0 is a failure */
export function checkRobotReply(text: string, status: number, platform: string): void {
  let reply: Record<string, unknown>;
  try {
    reply = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new DeliveryError(`${platform}: reply is not JSON: ${text.slice(0, 120)}`, status);
  }
  const code = reply.errcode ?? reply.code ?? reply.StatusCode;
  if (code !== undefined && code !== 0) {
    throw new DeliveryError(`${platform} errcode ${String(code)}: ${String(reply.errmsg ?? reply.msg ?? reply.StatusMessage ?? '')}`, status);
  }
}
