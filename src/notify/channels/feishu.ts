/**
 * Feishu / Lark custom bot with signature verification: body `{"timestamp": "<s>", "sign":
 * base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = "")), "msg_type": "text",
 * "content": {"text"}}`. Feishu answers `{"code":0,"msg":"success"}` (older bots:
 * `{"StatusCode":0}`); 19021 (bad signature), 19024 (keyword), 9499 and every other code
 * are failures. The timestamp must be within an hour of Feishu's clock.
 */
import { createHmac } from 'node:crypto';
import type { ChannelMessage } from '../message.js';
import { checkRobotReply, postJson, type Channel } from './types.js';

export function feishuSign(secret: string, timestampS: number): string {
  return createHmac('sha256', `${timestampS}\n${secret}`).update('').digest('base64');
}

export function feishuChannel(c: { id: string; url: string; secret?: string }, clock: () => number): Channel {
  return {
    id: c.id, type: 'feishu',
    async send(m: ChannelMessage, { timeoutMs }) {
      const ts = Math.floor(clock() / 1000);
      const body = JSON.stringify({
        ...(c.secret ? { timestamp: String(ts), sign: feishuSign(c.secret, ts) } : {}),
        msg_type: 'text', content: { text: m.text },
      });
      const r = await postJson(c.url, body, {}, timeoutMs);
      checkRobotReply(r.text, r.status, 'feishu');
      return { status: r.status };
    },
  };
}
