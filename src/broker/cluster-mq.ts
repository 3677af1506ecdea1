/**
 * The embedded broker across nodes (cluster.redis.url): aedes with mqemitter-redis as its
 * message bus and aedes-persistence-redis for retained messages, persistent sessions and
 * offline QoS 1 queues (what aedes' docs name for clustering; docs/cluster.md has the
 * measurements that chose packetTTL).
 *
 * mqemitter-redis PUBLISHes every broker.publish to Redis. Device and integration uplinks
 * are ingested on the node that received them (in authorizePublish) and nobody may
 * subscribe to them (topics.ts maySubscribe), so fanning them out would only cost Redis
 * bandwidth and every node's CPU: the LocalFirstEmitter sends them, and the gateway's own
 * `$gateway/…` topics, to an in-process mqemitter; everything else (alerts/, telemetry/,
 * devices/{id}/status, aedes' $SYS take-over and subscription broadcasts) goes through Redis.
 *
 * telemetry/{id} is one message per committed uplink, as many as the uplinks: it crosses
 * Redis only while some other node has a telemetry subscriber (TelemetryPresence), and is
 * not even built while no node has one. Publishing it to Redis with nobody listening cost a
 * cluster node a quarter of its main thread (docs/performance.md, "Cluster").
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { parseTopic } from '../ingest/topics.js';

// CommonJS factories without usable typings (aedes-persistence-redis ships none)
const require = createRequire(import.meta.url);
const mqemitterRedis = require('mqemitter-redis') as (opts: Record<string, unknown>) => unknown;
const aedesPersistenceRedis = require('aedes-persistence-redis') as (opts: Record<string, unknown>) => unknown;
// aedes' own in-process emitter (its dependency, not ours: the same version aedes uses by default)
const mqemitter = createRequire(require.resolve('aedes'))('mqemitter') as (opts: Record<string, unknown>) => unknown;

type Message = { topic: string; [k: string]: unknown };
type Listener = (message: Message, done: () => void) => void;

interface Emitter {
  on(topic: string, listener: Listener, done?: () => void): unknown;
  removeListener(topic: string, listener: Listener, done?: () => void): unknown;
  emit(message: Message, done?: (err?: Error) => void): unknown;
  close(done: () => void): unknown;
}

/** uplinks and the gateway's internal topics never leave the node */
export function isLocalOnly(topic: string): boolean {
  return topic.startsWith('$gateway/') || parseTopic(topic) !== undefined;
}

const PRESENCE_TOPIC = '$gateway-cluster/telemetry-subscribers';

/**
 * Which other nodes have MQTT clients subscribed to telemetry/ (aedes' shared subscription
 * trie holds only QoS > 0 subscriptions, so it cannot tell). Each node announces its count
 * on the bus when it changes and every `heartbeatMs`, and answers a newcomer's query at
 * once; a node not heard of for `ttlMs` (killed) counts as none: its subscribers reconnect
 * to another node and are counted there. A subscription takes effect on the other nodes
 * after one Redis round trip (about a millisecond), as any subscription through a bus does.
 */
export class TelemetryPresence {
  private readonly others = new Map<string, { count: number; at: number }>();
  private local = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly onMessage: Listener = (message, done) => {
    try {
      const m = JSON.parse(String(message.payload)) as { node?: unknown; count?: unknown; query?: unknown };
      if (typeof m.node === 'string' && m.node !== this.nodeId) {
        if (m.query === true) this.announce();
        else if (typeof m.count === 'number') this.others.set(m.node, { count: m.count, at: this.clock() });
      }
    } catch { /* not one of ours */ }
    done();
  };

  constructor(private readonly bus: Emitter, private readonly nodeId: string,
    private readonly opts = { heartbeatMs: 5000, ttlMs: 15_000 }, private readonly clock: () => number = Date.now) {}

  start(): Promise<void> {
    return new Promise((resolve) => this.bus.on(PRESENCE_TOPIC, this.onMessage, () => {
      this.send({ node: this.nodeId, query: true });
      this.announce();
      this.timer = setInterval(() => this.announce(), this.opts.heartbeatMs).unref();
      resolve();
    }));
  }

  stop(): void { clearInterval(this.timer); }

  /** this node's count of telemetry subscriptions (broker.ts) */
  setLocal(count: number): void {
    if (count === this.local) return;
    this.local = count;
    this.announce();
  }

  /** some other node, heard of within ttlMs, has a telemetry subscriber */
  get remote(): boolean {
    const since = this.clock() - this.opts.ttlMs;
    for (const o of this.others.values()) if (o.count > 0 && o.at >= since) return true;
    return false;
  }

  private announce(): void { this.send({ node: this.nodeId, count: this.local }); }

  private send(body: object): void {
    this.bus.emit({ topic: PRESENCE_TOPIC, payload: JSON.stringify(body) }, () => undefined);
  }
}

/**
 * An mqemitter that routes each message to one of two emitters by topic and listens on
 * both: a message is delivered exactly once, by the emitter it was sent to.
 */
export class LocalFirstEmitter implements Emitter {
  /** messages kept on this node / sent through Redis (tests and /metrics-style checks) */
  readonly counts = { local: 0, remote: 0 };

  constructor(private readonly local: Emitter, private readonly remote: Emitter, private readonly onClose?: () => Promise<void>,
    /** when set, telemetry/ goes through Redis only while another node has a subscriber */
    private readonly presence?: TelemetryPresence) {}

  on(topic: string, listener: Listener, done?: () => void): this {
    let pending = 2;
    const one = () => { if (--pending === 0) done?.(); };
    this.local.on(topic, listener, one);
    this.remote.on(topic, listener, one);
    return this;
  }

  removeListener(topic: string, listener: Listener, done?: () => void): this {
    let pending = 2;
    const one = () => { if (--pending === 0) done?.(); };
    this.local.removeListener(topic, listener, one);
    this.remote.removeListener(topic, listener, one);
    return this;
  }

  emit(message: Message, done?: (err?: Error) => void): this {
    if (isLocalOnly(message.topic) || (this.presence !== undefined && message.topic.startsWith('telemetry/') && !this.presence.remote)) {
      this.counts.local++;
      this.local.emit(message, done);
    } else {
      this.counts.remote++;
      this.remote.emit(message, done);
    }
    return this;
  }

  /** the persistence first: its destroy() unsubscribes through this emitter */
  close(done: () => void): this {
    this.presence?.stop();
    void (this.onClose?.() ?? Promise.resolve()).finally(() => this.local.close(() => this.remote.close(done)));
    return this;
  }
}

/**
 * aedes 1.2 stores a persistent session's SUBSCRIBE once per filter, each time with all of
 * the packet's filters; BroadcastPersistence keeps one waiter per (client, first filter),
 * so with an asynchronous bus (Redis) the second call replaces the first one's waiter and
 * that SUBSCRIBE never gets its SUBACK (docs/cluster.md, reproduced without the gateway).
 * The calls of one packet share its subscriptions array: store it once.
 */
function onceForSubscribe(p: { addSubscriptions: (client: unknown, subs: object, cb?: unknown) => unknown }): void {
  const inflight = new WeakMap<object, unknown>();
  const original = p.addSubscriptions.bind(p);
  p.addSubscriptions = (client, subs, cb) => {
    if (cb !== undefined) return original(client, subs, cb);
    let pending = inflight.get(subs);
    if (pending === undefined) inflight.set(subs, (pending = original(client, subs)));
    return pending;
  };
}

export interface ClusterBrokerParts {
  id: string;
  mq: LocalFirstEmitter;
  persistence: unknown;
  presence: TelemetryPresence;
}

export function defaultNodeId(mqttPort: number): string {
  return `${hostname()}:${mqttPort}`;
}

/**
 * mq and persistence for `new Aedes({ id, mq, persistence })`. aedes.close() closes the mq;
 * closing the mq here also ends the persistence's Redis connection.
 */
export function clusterBrokerParts(opts: { nodeId: string; redisUrl: string; packetTtlS: number; log: Logger }): ClusterBrokerParts {
  const { log } = opts;
  const remote = mqemitterRedis({ connectionString: opts.redisUrl, matchEmptyLevels: true }) as Emitter & { state: { on(ev: 'error', fn: (e: Error) => void): void } };
  // without a listener an ioredis error on the bus would be thrown as an uncaught 'error' event
  remote.state.on('error', (err) => log.warn({ err: err.message }, 'Redis (MQTT bus) error; ioredis reconnects'));
  const conn = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  conn.on('error', (err) => log.warn({ err: err.message }, 'Redis (MQTT persistence) error; ioredis reconnects'));
  const persistence = aedesPersistenceRedis({
    conn,
    // offline QoS 1 messages of persistent sessions expire instead of piling up for
    // consumers that never come back (docs/cluster.md: soak measurements)
    packetTTL: () => opts.packetTtlS,
  }) as { destroy(cb: () => void): void; addSubscriptions: (client: unknown, subs: object, cb?: unknown) => unknown };
  onceForSubscribe(persistence);
  const local = mqemitter({ matchEmptyLevels: true }) as unknown as Emitter;
  const presence = new TelemetryPresence(remote, opts.nodeId);
  const mq = new LocalFirstEmitter(local, remote, () => new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 2000); // Redis gone: do not hang the shutdown
    persistence.destroy(() => { clearTimeout(t); resolve(); });
  }), presence);
  return { id: opts.nodeId, mq, persistence, presence };
}
