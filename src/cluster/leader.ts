/**
 * Cluster membership and the leader lease, in PostgreSQL (cluster.postgres.url).
 *
 * Every node upserts its row in cluster_nodes every heartbeatMs. The leader holds one row
 * in cluster_lease, renewed on the same beat; another node takes the lease only once it has
 * expired. Times are the database's clock (clock_timestamp()), so nodes with skewed clocks
 * agree on expiry. A leader that cannot renew (PostgreSQL unreachable, the event loop
 * stalled) stops acting as leader when its lease may have run out, before anyone else can
 * take it: at most one leader at a time, as long as no node's clock runs more than
 * leaseMs - heartbeatMs slow. After a SIGKILL another node leads within leaseMs + heartbeatMs
 * (6 s + 2 s by default; the CONTRACT allows 10 s).
 *
 * A lease row rather than a session advisory lock: an advisory lock is released only when
 * PostgreSQL notices the connection is gone, which after a network partition takes TCP
 * keep-alive time (minutes by default), not a bounded lease.
 */
import pg from 'pg';
import type { Logger } from 'pino';

/** The seam singleton work uses (offline sweep, retention, outbox delivery). */
export interface Leadership {
  isLeader(): boolean;
  /** called with the new state on every change; returns an unsubscribe */
  onChange(fn: (leader: boolean) => void): () => void;
}

/** One node alone is always the leader. */
export const SOLE_LEADER: Leadership = { isLeader: () => true, onChange: () => () => undefined };

export interface ClusterNodeInfo {
  id: string;
  startedAt: number;
  lastHeartbeatAt: number;
  leader: boolean;
  mqttClients: number;
}

export interface LeaderLeaseOptions {
  url: string;
  nodeId: string;
  heartbeatMs: number;
  leaseMs: number;
  /** connected MQTT clients of this node, written with each heartbeat */
  mqttClients: () => number;
  log: Logger;
}

const NOW_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
/** nodes without a heartbeat for this long are no longer listed */
const FORGET_MS = 5 * 60_000;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS cluster_nodes (
    id text PRIMARY KEY,
    started_at bigint NOT NULL,
    last_heartbeat_at bigint NOT NULL,
    mqtt_clients integer NOT NULL DEFAULT 0
  );
  CREATE TABLE IF NOT EXISTS cluster_lease (
    name text PRIMARY KEY,
    holder text NOT NULL,
    expires_at bigint NOT NULL
  );`;

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

export class LeaderLease implements Leadership {
  private readonly pool: pg.Pool;
  private readonly listeners = new Set<(leader: boolean) => void>();
  private leader = false;
  /** local monotonic deadline of the lease this node holds */
  private heldUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private startedAt = 0;
  private stopped = false;
  private lastError: string | undefined;

  constructor(private readonly opts: LeaderLeaseOptions) {
    if (opts.leaseMs <= opts.heartbeatMs) throw new Error('cluster.postgres.leaseMs must be longer than heartbeatMs');
    // two connections: a heartbeat never waits behind a slow cluster query
    this.pool = new pg.Pool({ connectionString: opts.url, max: 2, types, connectionTimeoutMillis: Math.min(5000, opts.leaseMs), application_name: `estate-gateway ${opts.nodeId}` });
    this.pool.on('error', (err) => opts.log.warn({ err: err.message }, 'idle PostgreSQL connection (cluster) lost'));
    // a checked-out client's connection error must not go unhandled (src/storage/postgres/store.ts)
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  get nodeId(): string { return this.opts.nodeId; }

  isLeader(): boolean {
    if (this.leader && performance.now() >= this.heldUntil) this.set(false);
    return this.leader;
  }

  onChange(fn: (leader: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Creates the tables, registers this node and takes the lease when it is free. */
  async start(): Promise<void> {
    await this.pool.query(SCHEMA).catch(async (err: Error & { code?: string }) => {
      // two nodes creating the tables at the same moment: one wins, the other sees it exist
      if (err.code !== '23505' && err.code !== '42P07') throw err;
    });
    this.startedAt = (await this.pool.query<{ now: number }>(`SELECT ${NOW_MS} AS now`)).rows[0]!.now;
    await this.beat();
    this.timer = setInterval(() => {
      if (!this.beating) this.beating = this.beat().finally(() => { this.beating = undefined; });
    }, this.opts.heartbeatMs);
  }

  private set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.opts.log.info({ node: this.opts.nodeId }, leader ? 'this node is the cluster leader' : 'this node is no longer the cluster leader');
    for (const fn of this.listeners) {
      try { fn(leader); } catch (err) { this.opts.log.error({ err }, 'leadership listener failed'); }
    }
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    const sent = performance.now();
    try {
      await this.pool.query(`INSERT INTO cluster_nodes (id, started_at, last_heartbeat_at, mqtt_clients) VALUES ($1, $2, ${NOW_MS}, $3)
        ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, last_heartbeat_at = excluded.last_heartbeat_at, mqtt_clients = excluded.mqtt_clients`,
      [this.opts.nodeId, this.startedAt, this.opts.mqttClients()]);
      const got = await this.pool.query(`INSERT INTO cluster_lease (name, holder, expires_at) VALUES ('leader', $1, ${NOW_MS} + $2)
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
        WHERE cluster_lease.holder = excluded.holder OR cluster_lease.expires_at < ${NOW_MS}
        RETURNING holder`, [this.opts.nodeId, this.opts.leaseMs]);
      if (this.stopped) return;
      this.lastError = undefined;
      if (got.rowCount === 1) {
        // counted from before the request: the database's expiry is later than this
        this.heldUntil = sent + this.opts.leaseMs - this.opts.heartbeatMs / 2;
        this.set(true);
      } else {
        this.set(false);
      }
    } catch (err) {
      if (this.lastError === undefined) this.opts.log.warn({ err: (err as Error).message }, 'cluster heartbeat failed; leadership lapses with the lease');
      this.lastError = (err as Error).message;
      this.isLeader(); // drops leadership once the lease may have expired
    }
  }

  /** CONTRACT v2 GET /api/v1/cluster */
  async nodes(): Promise<{ nodes: ClusterNodeInfo[]; leader: string | null }> {
    const lease = (await this.pool.query<{ holder: string }>(`SELECT holder FROM cluster_lease WHERE name = 'leader' AND expires_at >= ${NOW_MS}`)).rows[0];
    const rows = (await this.pool.query<{ id: string; started_at: number; last_heartbeat_at: number; mqtt_clients: number }>(
      `SELECT id, started_at, last_heartbeat_at, mqtt_clients FROM cluster_nodes WHERE last_heartbeat_at >= ${NOW_MS} - $1 ORDER BY id`, [FORGET_MS])).rows;
    const leader = lease?.holder ?? null;
    return {
      nodes: rows.map((r) => ({ id: r.id, startedAt: r.started_at, lastHeartbeatAt: r.last_heartbeat_at, leader: r.id === leader, mqttClients: r.mqtt_clients })),
      leader,
    };
  }

  /** degraded, not down: ingest does not depend on the heartbeat */
  readiness(): { ok: boolean; degraded?: boolean; reason?: string } {
    return this.lastError ? { ok: true, degraded: true, reason: `cluster heartbeat to PostgreSQL failing: ${this.lastError}` } : { ok: true };
  }

  /** Gives the lease up (another node leads at its next beat) and leaves the node list. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.beating;
    this.set(false);
    try {
      await this.pool.query("DELETE FROM cluster_lease WHERE name = 'leader' AND holder = $1", [this.opts.nodeId]);
      await this.pool.query('DELETE FROM cluster_nodes WHERE id = $1', [this.opts.nodeId]);
    } catch { /* PostgreSQL gone: the lease expires by itself */ }
    await this.pool.end();
  }
}
