/**
 * Notification channels against receivers that check what the platforms check: DingTalk's
 * signed query, Feishu's signed body, WeCom's key and size, the gateway's own HMAC webhook,
 * and e-mail through a real SMTP server (aiosmtpd). A platform's error reply (HTTP 200 with a
 * non-zero errcode / code) must count as a failed delivery.
 */
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, DeliveryError, type Channel } from '../../src/notify/channels/index.js';
import { formatMessage, type AlertView } from '../../src/notify/message.js';
import { startRobots, type Robots } from '../helpers/robots.js';
import { startSmtp, type Smtp } from '../helpers/smtp.js';

const alert: AlertView = {
  id: '01JCHANNELTEST000000000000', rule: 'ph_out_of_range', severity: 'critical', status: 'open', deviceId: 'wq-tank-1', kind: 'water_quality',
  site: 'jiangnan/yuhua-garden/pump-room', metric: 'ph', value: 9.3, threshold: 8.5, message: 'pH 9.3 outside 6.5-8.5 at wq-tank-1',
  openedAt: '2026-03-01T16:05:00.000Z', lastSeenAt: '2026-03-01T16:06:00.000Z', occurrences: 2,
  acknowledgedAt: null, acknowledgedBy: null, assignee: null, resolvedAt: null, resolvedBy: null, resolution: null,
};
const secrets = { dingtalk: 'SECdingtalk-secret', feishu: 'feishu-secret', wecomKey: 'wecom-key-1' };
const send = { timeoutMs: 3000, deliveryId: '1' };

let robots: Robots;
let smtp: Smtp;
beforeAll(async () => {
  robots = await startRobots(secrets);
  smtp = await startSmtp();
});
afterAll(async () => {
  await robots?.close();
  await smtp?.stop();
});

describe('message text', () => {
  it('says what, where, the value against the limit, since when in the site zone, and links to the console (zh-CN)', () => {
    const m = formatMessage('alert.opened', alert, { language: 'zh-CN', consoleUrl: 'https://estate.example.com', deviceName: '二次供水 1 号水箱', timezone: 'Asia/Shanghai' });
    expect(m.title).toBe('[紧急] 告警: pH 9.3 outside 6.5-8.5 at wq-tank-1');
    expect(m.markdown).toContain('- 位置: jiangnan/yuhua-garden/pump-room');
    expect(m.markdown).toContain('- 设备: 二次供水 1 号水箱 (wq-tank-1)');
    expect(m.markdown).toContain('- 当前值: 9.3 (ph)');
    expect(m.markdown).toContain('- 阈值: 8.5');
    // 16:05 UTC is 00:05 the next day in Shanghai
    expect(m.markdown).toContain('- 开始时间: 2026-03-02 00:05:00 +08:00');
    expect(m.link).toBe('https://estate.example.com/#/alerts/01JCHANNELTEST000000000000');
    expect(m.text.split('\n').at(-1)).toBe(m.link);
  });
  it('in English, with the escalation step and the resolution', () => {
    const m = formatMessage('alert.resolved', { ...alert, status: 'resolved', resolvedAt: '2026-03-01T17:00:00.000Z', resolution: 'auto' }, { language: 'en', timezone: 'UTC', step: 2 });
    expect(m.title).toBe('[CRITICAL] Resolved: pH 9.3 outside 6.5-8.5 at wq-tank-1');
    expect(m.text).toContain('Escalation step 2: not acknowledged');
    expect(m.text).toContain('Resolved at: 2026-03-01 17:00:00 +00:00 (cleared by itself)');
    expect(m.link).toBeNull();
  });
});

describe('robots', () => {
  const message = formatMessage('alert.opened', alert, { language: 'zh-CN', timezone: 'Asia/Shanghai' });
  const make = (c: Parameters<typeof createChannel>[0]): Channel => createChannel(c, { clock: Date.now });

  it('DingTalk: signed markdown accepted; a wrong secret is errcode 310000, a failure', async () => {
    const ok = make({ id: 'b3', type: 'dingtalk', url: `${robots.base}/robot/send?access_token=tok`, secret: secrets.dingtalk });
    await ok.send(message, send);
    const got = robots.accepted('dingtalk').at(-1)!;
    expect(got.body).toEqual({ msgtype: 'markdown', markdown: { title: message.title, text: message.markdown } });
    const bad = make({ id: 'b3x', type: 'dingtalk', url: `${robots.base}/robot/send?access_token=tok`, secret: 'SECwrong' });
    await expect(bad.send(message, send)).rejects.toThrow(/dingtalk errcode 310000: sign not match/);
  });

  it('WeCom: markdown content accepted; a wrong key is errcode 93000; content is clipped to 4096 bytes', async () => {
    const ok = make({ id: 'mgr', type: 'wecom', url: `${robots.base}/cgi-bin/webhook/send?key=${secrets.wecomKey}` });
    await ok.send(message, send);
    expect(robots.accepted('wecom').at(-1)!.body).toEqual({ msgtype: 'markdown', markdown: { content: message.markdown } });
    await ok.send({ ...message, markdown: '水'.repeat(3000) }, send); // 9000 bytes of UTF-8
    expect(Buffer.byteLength(robots.accepted('wecom').at(-1)!.body.markdown.content)).toBeLessThanOrEqual(4096);
    const bad = make({ id: 'mgr2', type: 'wecom', url: `${robots.base}/cgi-bin/webhook/send?key=nope` });
    await expect(bad.send(message, send)).rejects.toThrow(/wecom errcode 93000/);
  });

  it('Feishu: signed text accepted; a wrong secret is code 19021', async () => {
    const ok = make({ id: 'ops', type: 'feishu', url: `${robots.base}/open-apis/bot/v2/hook/abc`, secret: secrets.feishu });
    await ok.send(message, send);
    const got = robots.accepted('feishu').at(-1)!.body;
    expect(got.msg_type).toBe('text');
    expect(got.content).toEqual({ text: message.text });
    expect(Math.abs(Number(got.timestamp) - Date.now() / 1000)).toBeLessThan(5);
    const bad = make({ id: 'ops2', type: 'feishu', url: `${robots.base}/open-apis/bot/v2/hook/abc`, secret: 'wrong' });
    await expect(bad.send(message, send)).rejects.toThrow(/feishu errcode 19021/);
  });

  it('a rate-limit reply (HTTP 200, errcode 130101) is a DeliveryError, and the next try goes through', async () => {
    const ok = make({ id: 'b3', type: 'dingtalk', url: `${robots.base}/robot/send?access_token=tok`, secret: secrets.dingtalk });
    robots.failNext(2);
    await expect(ok.send(message, send)).rejects.toBeInstanceOf(DeliveryError);
    await expect(ok.send(message, send)).rejects.toThrow(/130101/);
    await ok.send(message, send);
  });
});

it('webhook channel: the CONTRACT body with a verifiable HMAC signature', async () => {
  const seen: Array<{ sig: string; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { seen.push({ sig: String(req.headers['x-gateway-signature']), body: Buffer.concat(chunks).toString() }); res.writeHead(204).end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const ch = createChannel({ id: 'hook', type: 'webhook', url: `http://127.0.0.1:${port}/hook`, secret: 's3cret' }, { clock: Date.now });
  await ch.send(formatMessage('alert.opened', alert, { language: 'en', timezone: 'UTC' }), send);
  server.close();
  expect(JSON.parse(seen[0]!.body)).toEqual({ event: 'alert.opened', alert });
  expect(seen[0]!.sig).toBe(`sha256=${createHmac('sha256', 's3cret').update(seen[0]!.body).digest('hex')}`);
});

it('email through a real SMTP server: UTF-8 subject and text, the alert link', async () => {
  const ch = createChannel({ id: 'office', type: 'email', to: ['ops@example.com', 'manager@example.com'] }, { clock: Date.now, smtp: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'gateway@example.com' } });
  const m = formatMessage('alert.opened', alert, { language: 'zh-CN', consoleUrl: 'http://console.local/', timezone: 'Asia/Shanghai' });
  await ch.send(m, { timeoutMs: 10_000, deliveryId: '42' });
  await ch.close?.();
  for (let i = 0; i < 50 && smtp.messages.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  const mail = smtp.messages.at(-1)!;
  expect(mail.headers.from).toBe('gateway@example.com');
  expect(mail.headers.to).toBe('ops@example.com, manager@example.com');
  expect(mail.headers['x-gateway-alert']).toBe(alert.id);
  // the subject is RFC 2047 encoded UTF-8
  const subject = mail.headers.subject!.replace(/=\?UTF-8\?([BQ])\?([^?]*)\?=\s*/gi, (_m, enc: string, data: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'));
  expect(subject).toBe(m.title);
  // quoted-printable parts: soft line breaks and =XX bytes of UTF-8
  const body = Buffer.from(mail.body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  expect(body).toContain('http://console.local/#/alerts/01JCHANNELTEST000000000000');
  expect(body).toContain('开始时间: 2026-03-02 00:05:00 +08:00');
});

it('an SMTP server that is down is a failed delivery, not a crash', async () => {
  const ch = createChannel({ id: 'office', type: 'email', to: ['ops@example.com'] }, { clock: Date.now, smtp: { host: '127.0.0.1', port: 1, secure: false, from: 'gateway@example.com' } });
  await expect(ch.send(formatMessage('alert.opened', alert, { language: 'en', timezone: 'UTC' }), { timeoutMs: 5000, deliveryId: '1' })).rejects.toBeInstanceOf(DeliveryError);
});
