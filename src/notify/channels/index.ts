/** Notification channels (CONTRACT v2 "Notification channels and escalation"): config schema and factory. */
import { z } from 'zod';
import { dingtalkChannel } from './dingtalk.js';
import { emailChannel, type SmtpConfig } from './email.js';
import { feishuChannel } from './feishu.js';
import type { Channel } from './types.js';
import { webhookChannel } from './webhook.js';
import { wecomChannel } from './wecom.js';

export type { Channel } from './types.js';
export { DeliveryError } from './types.js';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, _ . - (at most 64)');
const httpUrl = z.string().url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');

export const ChannelSchema = z.discriminatedUnion('type', [
  z.strictObject({ id, type: z.literal('dingtalk'), url: httpUrl, secret: z.string().optional() }),
  z.strictObject({ id, type: z.literal('wecom'), url: httpUrl }),
  z.strictObject({ id, type: z.literal('feishu'), url: httpUrl, secret: z.string().optional() }),
  z.strictObject({ id, type: z.literal('webhook'), url: httpUrl, secret: z.string().min(1) }),
  z.strictObject({ id, type: z.literal('email'), to: z.array(z.string().email()).min(1) }),
]);
export type ChannelConfig = z.infer<typeof ChannelSchema>;

export const SmtpSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(25),
  secure: z.boolean().default(false),
  from: z.string().min(3),
  username: z.string().optional(),
  password: z.string().optional(),
});

export function createChannel(c: ChannelConfig, deps: { smtp?: SmtpConfig; clock: () => number }): Channel {
  switch (c.type) {
    case 'dingtalk': return dingtalkChannel(c, deps.clock);
    case 'wecom': return wecomChannel(c);
    case 'feishu': return feishuChannel(c, deps.clock);
    case 'webhook': return webhookChannel(c);
    case 'email':
      if (!deps.smtp) throw new Error(`notify.channels ${c.id}: type email needs notify.smtp`);
      return emailChannel(c, deps.smtp);
  }
}
