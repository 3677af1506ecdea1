/**
 * Registry changes from the other nodes (issue 15 item 4, CONTRACT v2 "Provisioning, secret
 * rotation, device deletion and API-key revocation take effect on every node within 1 s").
 * One dedicated connection per node LISTENs on the registry channel; the triggers of
 * src/storage/repositories/postgres.ts send {"kind", "id"} on every committed change, and
 * the receiver reloads that row (onChange). A notification sent while the connection was
 * down is lost, so after every (re)connect the whole registry is reloaded (onResync) before
 * the feed counts as up.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { z } from 'zod';
import { REGISTRY_CHANNEL } from '../storage/repositories/postgres.js';

export const ChangeSchema = z.object({ kind: z.enum(['device', 'api_key', 'integration', 'user_model']), id: z.string() });
export type RegistryChange = z.infer<typeof ChangeSchema>;

export interface ChangeFeedOptions {
  url: string;
  /** shown as the listening connection's application_name (pg_stat_activity): gateway-feed:<node> */
  nodeId: string;
  log: Logger;
  onChange: (c: RegistryChange) => Promise<void>;
  /** reload everything: the changes missed while not listening */
  onResync: () => Promise<void>;
  reconnectMs?: number;
}

export class ChangeFeed {
  private client: pg.Client | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private error: string | undefined = 'not connected yet';
  /** changes apply one after another, in the order PostgreSQL delivered them */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ChangeFeedOptions) {}

  /** resolves once listening (first attempt); keeps retrying in the background after a failure */
  async start(): Promise<void> {
    await this.connect();
  }

  readiness(): { ok: boolean; reason?: string } {
    return this.error === undefined ? { ok: true } : { ok: false, reason: `registry change feed (PostgreSQL): ${this.error}` };
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.opts.url, connectionTimeoutMillis: 3000, keepAlive: true, application_name: `gateway-feed:${this.opts.nodeId}`.slice(0, 63) });
    this.client = client;
    let failed = false;
    const fail = (err: Error) => {
      if (failed || this.stopped) return;
      failed = true;
      this.error = err.message || 'connection lost';
      this.opts.log.warn({ err: this.error }, 'registry change feed lost; reconnecting');
      client.end().catch(() => undefined);
      this.timer = setTimeout(() => { void this.connect(); }, this.opts.reconnectMs ?? 500);
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('connection closed')));
    client.on('notification', (n) => {
      if (n.channel !== REGISTRY_CHANNEL || n.payload === undefined) return;
      let change: RegistryChange;
      try { change = ChangeSchema.parse(JSON.parse(n.payload)); } catch (err) {
        this.opts.log.warn({ payload: n.payload.slice(0, 200), err: (err as Error).message }, 'unreadable registry notification ignored');
        return;
      }
      this.enqueue(() => this.opts.onChange(change));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${REGISTRY_CHANNEL}`);
      // listening first, then the reload: a change committed in between is seen at least once
      const resynced = await this.enqueue(() => this.opts.onResync());
      if (resynced && !failed) this.error = undefined;
    } catch (err) {
      fail(err as Error);
    }
  }

  /** resolves true when fn succeeded */
  private enqueue(fn: () => Promise<void>): Promise<boolean> {
    const run = this.chain.then(fn).then(() => true, (err: unknown) => {
      // a reload that failed (PostgreSQL gone in between): reconnect, and resync then
      this.opts.log.error({ err: (err as Error).message }, 'applying a registry change failed');
      this.client?.end().catch(() => undefined);
      return false;
    });
    this.chain = run.then(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.client?.end().catch(() => undefined);
    await this.chain;
  }
}
