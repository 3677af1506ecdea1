/** TcpLink over real sockets: one request at a time, timeouts, late replies, reconnects. */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpLink, type Matcher } from '../../../src/connectors/link.js';

// answers are lines: "<id>:<text>\n"; the matcher takes the first whole line
const line: Matcher = (rx) => {
  const i = rx.indexOf(0x0a);
  return i < 0 ? { kind: 'incomplete' } : { kind: 'done', frame: rx.subarray(0, i), consumed: i + 1 };
};

let server: Server | undefined;
let link: TcpLink | undefined;
afterEach(async () => {
  link?.stop();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

function serve(onRequest: (req: string, socket: Socket) => void, port = 0): Promise<number> {
  server = createServer((socket) => socket.on('data', (d) => { for (const req of d.toString().split('\n').filter(Boolean)) onRequest(req, socket); }));
  return new Promise((r) => server!.listen(port, '127.0.0.1', () => r((server!.address() as { port: number }).port)));
}

const waitConnected = async (l: TcpLink) => { for (let i = 0; i < 100 && l.status !== 'connected'; i++) await new Promise((r) => setTimeout(r, 20)); };
const options = (port: number) => ({ host: '127.0.0.1', port, connectTimeoutMs: 1000, reconnectInitialMs: 50, reconnectMaxMs: 200, requestGapMs: 0 });

describe('TcpLink', () => {
  it('sends one request at a time and gives each its own answer', async () => {
    let outstanding = 0;
    let maxOutstanding = 0;
    const port = await serve((req, socket) => {
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      setTimeout(() => { outstanding--; socket.write(`${req}:ok\n`); }, 10);
    });
    link = new TcpLink(options(port));
    link.start();
    await waitConnected(link);
    const answers = await Promise.all([1, 2, 3, 4, 5].map((i) => link!.request(Buffer.from(`${i}\n`), line, 1000)));
    expect(answers.map(String)).toEqual(['1:ok', '2:ok', '3:ok', '4:ok', '5:ok']);
    expect(maxOutstanding).toBe(1);
  });

  it('a late answer to a timed-out request does not answer the next one (no transaction ids on a serial bus)', async () => {
    const port = await serve((req, socket) => {
      if (req === 'slow') setTimeout(() => socket.write('slow:late\n'), 250);
      else socket.write(`${req}:ok\n`);
    });
    link = new TcpLink(options(port));
    link.start();
    await waitConnected(link);
    await expect(link.request(Buffer.from('slow\n'), line, 150)).rejects.toThrow(/no answer from 127\.0\.0\.1:\d+ within 150 ms/);
    const next = await link.request(Buffer.from('next\n'), line, 1000);
    expect(String(next)).toBe('next:ok');
    expect(link.strayBytes).toBe('slow:late\n'.length);
  });

  it('fails at once while disconnected, and reconnects with backoff when the peer is back', async () => {
    const port = await serve((req, socket) => socket.write(`${req}:ok\n`));
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    link = new TcpLink(options(port));
    link.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(link.status).not.toBe('connected');
    const t0 = Date.now();
    await expect(link.request(Buffer.from('x\n'), line, 1000)).rejects.toThrow(/not connected to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    expect(Date.now() - t0).toBeLessThan(200);
    await serve((req, socket) => socket.write(`${req}:back\n`), port);
    await waitConnected(link);
    expect(String(await link.request(Buffer.from('y\n'), line, 1000))).toBe('y:back');
  });

  it('a peer that drops the connection fails the request in flight', async () => {
    const port = await serve((_req, socket) => socket.destroy());
    link = new TcpLink(options(port));
    link.start();
    await waitConnected(link);
    await expect(link.request(Buffer.from('x\n'), line, 1000)).rejects.toThrow(/connection to 127\.0\.0\.1:\d+ lost/);
  });
  it('stopped, then started again (a cluster node leading again), it reconnects and answers', async () => {
    let connections = 0;
    const port = await serve((req, socket) => socket.write(`${req}:ok\n`));
    server!.on('connection', () => connections++);
    link = new TcpLink(options(port));
    link.start();
    await waitConnected(link);
    link.stop();
    expect(link.status).toBe('stopped');
    await expect(link.request(Buffer.from('1\n'), line, 500)).rejects.toThrow();
    link.start();
    await waitConnected(link);
    expect(link.status).toBe('connected');
    expect((await link.request(Buffer.from('2\n'), line, 1000)).toString()).toBe('2:ok');
    expect(connections).toBe(2);
  });
});
