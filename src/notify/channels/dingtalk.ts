/**
 * DingTalk group robot (custom robot, "加签" signing): POST `url&timestamp=<ms>&sign=<s>`
 * where s = urlencode(base64(HMAC-SHA256(key = secret, timestamp + "\n" + secret))); body
 * `{"msgtype":"markdown","markdown":{"title","text"}}`. DingTalk answers HTTP 200 with
 * `{"errcode":0,"errmsg":"ok"}`; any other errcode (310000 bad signature or keyword,
 * 130101 too many messages per minute) is a failed delivery.
 */
import { createHmac } from 'node:crypto';
import type { ChannelMessage } from '../message.js';
import { checkRobotReply, postJson, type Channel } from './types.js';

export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

export function dingtalkChannel(c: { id: string; url: string; secret?: string }, clock: () => number): Channel {
  return {
    id: c.id, type: 'dingtalk',
    async send(m: ChannelMessage, { timeoutMs }) {
      let url = c.url;
      if (c.secret) {
        const ts = clock();
        url += `${url.includes('?') ? '&' : '?'}timestamp=${ts}&sign=${encodeURIComponent(dingtalkSign(c.secret, ts))}`;
      }
      const body = JSON.stringify({ msgtype: 'markdown', markdown: { title: m.title.slice(0, 64), text: m.markdown } });
      const r = await postJson(url, body, {}, timeoutMs);
      checkRobotReply(r.text, r.status, 'dingtalk');
      return { status: r.status };
    },
  };
}
