/**
 * WeCom (企业微信) group robot: POST the robot's webhook URL (its `key` is the credential)
 * with `{"msgtype":"markdown","markdown":{"content"}}`, at most 4096 bytes of content. The
 * reply is `{"errcode":0,"errmsg":"ok"}`; 93000 (invalid key), 45009 (rate limit) and any
 * other non-zero errcode are failures.
 */
import type { ChannelMessage } from '../message.js';
import { checkRobotReply, postJson, type Channel } from './types.js';

const MAX_BYTES = 4096;

function clip(s: string): string {
  if (Buffer.byteLength(s) <= MAX_BYTES) return s;
  let out = s;
  while (Buffer.byteLength(out) > MAX_BYTES - 3) out = out.slice(0, -16);
  return `${out}…`;
}

export function wecomChannel(c: { id: string; url: string }): Channel {
  return {
    id: c.id, type: 'wecom',
    async send(m: ChannelMessage, { timeoutMs }) {
      const r = await postJson(c.url, JSON.stringify({ msgtype: 'markdown', markdown: { content: clip(m.markdown) } }), {}, timeoutMs);
      checkRobotReply(r.text, r.status, 'wecom');
      return { status: r.status };
    },
  };
}
