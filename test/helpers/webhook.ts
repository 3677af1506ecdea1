/** A real HTTP webhook receiver that verifies X-Gateway-Signature and can be down. */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readSse } from '../../bench/sse.js';

export interface Received { event: string; alert: any; verified: boolean; delivery: string | null }

export class WebhookReceiver {
  readonly received: Received[] = [];
  private server: Server | undefined;
  constructor(readonly port: number, private readonly secret: string) {}

  get url(): string { return `http://127.0.0.1:${this.port}/hook`; }

  async up(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const expected = `sha256=${createHmac('sha256', this.secret).update(body).digest('hex')}`;
        const got = String(req.headers['x-gateway-signature'] ?? '');
        const verified = got.length === expected.length && timingSafeEqual(Buffer.from(got), Buffer.from(expected));
        const parsed = JSON.parse(body) as { event: string; alert: unknown };
        this.received.push({ event: parsed.event, alert: parsed.alert, verified, delivery: (req.headers['x-gateway-delivery'] as string) ?? null });
        res.writeHead(verified ? 204 : 401).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); });
  }
}

/** Reads an SSE stream into an array of {event, data}. */
export async function openSse(url: string): Promise<{ events: Array<{ event: string; data: any }>; close: () => void }> {
  const events: Array<{ event: string; data: any }> = [];
  const { close } = await readSse(url, (e) => events.push(e));
  return { events, close };
}
