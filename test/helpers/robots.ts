/**
 * Local stand-ins for the DingTalk, WeCom and Feishu group robots: real HTTP servers that
 * check what the platforms check (DingTalk's timestamp/sign query, Feishu's signed body,
 * WeCom's key and content size) and answer as the platforms do, including their error
 * replies (HTTP 200 with a non-zero errcode / code). `failNext(n)` makes the next n
 * requests fail with the platform's rate-limit reply.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface RobotRequest { platform: 'dingtalk' | 'wecom' | 'feishu'; url: string; body: any; ok: boolean; at: number }

export interface Robots {
  base: string;
  requests: RobotRequest[];
  /** the accepted messages of one platform */
  accepted: (platform: RobotRequest['platform']) => RobotRequest[];
  failNext: (n: number) => void;
  close: () => Promise<void>;
}

const FAIL = {
  dingtalk: { errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' },
  wecom: { errcode: 45009, errmsg: 'api freq out of limit' },
  feishu: { code: 9499, msg: 'too many request', data: {} },
};

export async function startRobots(secrets: { dingtalk: string; feishu: string; wecomKey: string }): Promise<Robots> {
  const requests: RobotRequest[] = [];
  let failing = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      let body: any = null;
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* checked below */ }
      const reply = (platform: RobotRequest['platform'], ok: boolean, payload: unknown) => {
        requests.push({ platform, url: req.url ?? '', body, ok, at: Date.now() });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (url.pathname === '/robot/send') {
        const ts = Number(url.searchParams.get('timestamp'));
        const sign = url.searchParams.get('sign');
        const want = createHmac('sha256', secrets.dingtalk).update(`${ts}\n${secrets.dingtalk}`).digest('base64');
        if (url.searchParams.get('access_token') !== 'tok' || sign !== want || Math.abs(Date.now() - ts) > 3_600_000) return reply('dingtalk', false, { errcode: 310000, errmsg: 'sign not match' });
        if (body?.msgtype !== 'markdown' || typeof body.markdown?.title !== 'string' || typeof body.markdown?.text !== 'string') return reply('dingtalk', false, { errcode: 40035, errmsg: 'missing parameter' });
        if (failing > 0) { failing--; return reply('dingtalk', false, FAIL.dingtalk); }
        return reply('dingtalk', true, { errcode: 0, errmsg: 'ok' });
      }
      if (url.pathname === '/cgi-bin/webhook/send') {
        if (url.searchParams.get('key') !== secrets.wecomKey) return reply('wecom', false, { errcode: 93000, errmsg: 'invalid webhook url' });
        if (body?.msgtype !== 'markdown' || typeof body.markdown?.content !== 'string' || Buffer.byteLength(body.markdown.content) > 4096) return reply('wecom', false, { errcode: 40058, errmsg: 'invalid content' });
        if (failing > 0) { failing--; return reply('wecom', false, FAIL.wecom); }
        return reply('wecom', true, { errcode: 0, errmsg: 'ok' });
      }
      if (url.pathname.startsWith('/open-apis/bot/v2/hook/')) {
        const ts = Number(body?.timestamp);
        const want = createHmac('sha256', `${body?.timestamp}\n${secrets.feishu}`).update('').digest('base64');
        if (body?.sign !== want || Math.abs(Date.now() / 1000 - ts) > 3600) return reply('feishu', false, { code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time', data: {} });
        if (body?.msg_type !== 'text' || typeof body.content?.text !== 'string') return reply('feishu', false, { code: 9499, msg: 'Bad Request', data: {} });
        if (failing > 0) { failing--; return reply('feishu', false, FAIL.feishu); }
        return reply('feishu', true, { code: 0, msg: 'success', data: {} });
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    accepted: (p) => requests.filter((r) => r.platform === p && r.ok),
    failNext: (n) => { failing = n; },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
