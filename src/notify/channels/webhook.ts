/**
 * The gateway's own signed webhook (CONTRACT: `{"event","alert"}` with `X-Gateway-Signature:
 * sha256=<hex HMAC-SHA256 of the raw body>`), as a channel. Any 2xx is accepted.
 */
import { createHmac } from 'node:crypto';
import type { ChannelMessage } from '../message.js';
import { postJson, type Channel } from './types.js';

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function webhookChannel(c: { id: string; url: string; secret: string }): Channel {
  return {
    id: c.id, type: 'webhook',
    async send(m: ChannelMessage, { timeoutMs, deliveryId }) {
      const body = JSON.stringify({ event: m.event, alert: m.alert });
      const r = await postJson(c.url, body, { 'x-gateway-signature': signBody(c.secret, body), 'x-gateway-event': m.event, 'x-gateway-delivery': deliveryId }, timeoutMs);
      return { status: r.status };
    },
  };
}
