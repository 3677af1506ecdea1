/**
 * Cluster mode's shared registry (cluster.postgres.url): the repositories on PostgreSQL, the
 * change feed that keeps this node's caches in step with the other nodes' writes, and the
 * last-seen exchange. The registries themselves (DeviceRegistry, ApiKeys, Integrations)
 * are the same classes as on one node.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { pgRepositories, migrateState } from '../storage/repositories/postgres.js';
import type { Repositories } from '../storage/repositories/types.js';
import type { DeviceRegistry } from '../registry/devices.js';
import type { ApiKeys } from '../registry/api-keys.js';
import type { Integrations } from '../registry/integrations.js';
import type { UserModels } from '../codecs/registry.js';
import { ChangeFeed, type RegistryChange } from './changes.js';

export interface SharedRegistryOptions {
  url: string;
  nodeId: string;
  log: Logger;
  poolSize?: number;
  /** period of the last-seen exchange */
  seenSyncMs?: number;
}

/** what the change feed keeps in step: user models (codecs) too, so a device's kind and decoder are those of the other nodes */
type Followed = { devices: DeviceRegistry; apiKeys: ApiKeys; integrations: Integrations; userModels?: UserModels };

export class SharedRegistry {
  readonly pool: pg.Pool;
  readonly repositories: Repositories;
  private feed: ChangeFeed | undefined;
  private seenTimer: NodeJS.Timeout | undefined;
  private seenRunning: Promise<void> | undefined;
  private seenError: string | undefined;
  private registries: Followed | undefined;

  constructor(private readonly opts: SharedRegistryOptions) {
    this.pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 4, connectionTimeoutMillis: 3000, keepAlive: true });
    // an idle client's error (PostgreSQL restarted) must not crash the process; the next query reconnects
    this.pool.on('error', (err) => opts.log.warn({ err: err.message }, 'shared registry: idle PostgreSQL connection lost'));
    // a checked-out client's connection error must not go unhandled (src/storage/postgres/store.ts)
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.repositories = pgRepositories(this.pool);
  }

  /** before the registries load */
  async migrate(): Promise<void> {
    await migrateState(this.pool);
  }

  /** after they loaded: follow the other nodes' changes */
  async follow(registries: Followed): Promise<void> {
    this.registries = registries;
    this.feed = new ChangeFeed({
      url: this.opts.url,
      nodeId: this.opts.nodeId,
      log: this.opts.log,
      onChange: (c) => this.apply(c),
      onResync: async () => {
        await registries.userModels?.resync(); // first: a device's kind comes from its model
        await registries.devices.resync();
        await registries.apiKeys.resync();
        await registries.integrations.resync();
      },
    });
    await this.feed.start();
    await this.syncSeen(); // from here on markSeen keeps what it has to send
    const period = this.opts.seenSyncMs ?? 1000;
    this.seenTimer = setInterval(() => { this.seenRunning ??= this.syncSeen().finally(() => { this.seenRunning = undefined; }); }, period);
    this.seenTimer.unref();
  }

  private async apply(c: RegistryChange): Promise<void> {
    const r = this.registries!;
    if (c.kind === 'device') await r.devices.applyChange(c.id);
    else if (c.kind === 'api_key') await r.apiKeys.applyChange(c.id);
    else if (c.kind === 'user_model') await r.userModels?.applyChange(c.id);
    else await r.integrations.applyChange(c.id);
  }

  private async syncSeen(): Promise<void> {
    try {
      await this.registries!.devices.syncSeen();
      this.seenError = undefined;
    } catch (err) {
      if (this.seenError === undefined) this.opts.log.warn({ err: (err as Error).message }, 'shared registry: last-seen exchange failed; retrying');
      this.seenError = (err as Error).message;
    }
  }

  readiness(): { ok: boolean; reason?: string } {
    return this.feed?.readiness() ?? { ok: false, reason: 'registry change feed not started' };
  }

  async stop(): Promise<void> {
    clearInterval(this.seenTimer);
    await this.seenRunning;
    if (this.registries) await this.syncSeen(); // the last second's last-seen
    await this.feed?.stop();
    await this.pool.end();
  }
}
