/**
 * Composition of one gateway: store, registry, ingest, broker, REST API. Constructors only
 * store their dependencies; start() acts, stop() undoes in reverse order.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { ConfigError, type Config } from './config.js';
import { openDatabase, type Db } from './storage/database.js';
import { SqliteTelemetryStore, registerStoreThreadMetrics } from './storage/sqlite-telemetry.js';
import type { TelemetryStore } from './storage/telemetry-store.js';
import { DeviceRegistry, RegistryError, type Device } from './registry/devices.js';
import { ApiKeys } from './registry/api-keys.js';
import { Integrations } from './registry/integrations.js';
import { Revocations } from './registry/revocations.js';
import { generateToken } from './registry/secrets.js';
import { createMetrics, type Metrics } from './metrics.js';
import { GroupCommitter, type Entry } from './ingest/committer.js';
import { IngestPipeline } from './ingest/pipeline.js';
import { createPseudonymiser, loadSiteSecret } from './ingest/privacy.js';
import { EmbeddedBroker } from './broker/broker.js';
import { buildApp } from './api/app.js';
import { MODELS } from '../devices/index.js';
import { ModelCatalogue } from './core/catalogue.js';
import { CodecSandbox, registerSandboxMetrics } from './codecs/sandbox.js';
import { UserModels, registerUserModelMetrics } from './codecs/registry.js';
import { VOCABULARY, metricDef } from './core/vocabulary.js';
import { InfluxTelemetryStore } from './storage/influx/store.js';
import { InfluxV1Backend } from './storage/influx/v1.js';
import { InfluxV2Backend } from './storage/influx/v2.js';
import { deviceTags } from './storage/influx/line-protocol.js';
import { dayOffset } from './storage/influx/backend.js';
import { Retention } from './storage/retention.js';
import { PostgresTelemetryStore, sameServer } from './storage/postgres/store.js';
import { LeaderLease, SOLE_LEADER, type Leadership } from './cluster/leader.js';
import { clusterBrokerParts, defaultNodeId } from './broker/cluster-mq.js';
import { clusterRoutes, type ClusterView } from './api/routes/cluster.js';
import { AuditLog } from './audit.js';
import { sqliteRepositories } from './storage/repositories/sqlite.js';
import { sharedDeadLetterWriter, withSharedDeadLetters, type SharedDeadLetterStore } from './storage/shared-dead-letters.js';
import type { DeadLetter } from './core/types.js';
import { SharedRegistry } from './cluster/shared-registry.js';
import { UpstreamSource } from './broker/sources.js';
import { AlertService, alertJson } from './alerts/service.js';
import { PostgresAlertStore, migrateAlerts, pruneSharedAlerts } from './alerts/postgres-repositories.js';
import { loadRules } from './alerts/rules.js';
import { Notifier } from './notify/notifier.js';
import { PostgresNotifyStore, migrateNotify } from './notify/postgres-repository.js';
import type { AlertView } from './notify/message.js';
import { isOnline, reportIntervalS } from './core/presence.js';
import { createChannel } from './notify/channels/index.js';
import { policiesOf } from './notify/policy.js';
import { alertRoutes } from './api/routes/alerts.js';
import { Connectors } from './connectors/connector.js';
import { alertStatsRoutes } from './api/routes/alert-stats.js';
import { reportRoutes } from './api/routes/reports.js';
import type { ApiContext } from './api/context.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export interface GatewayOptions {
  log: Logger;
  clock?: () => number;
}

export interface RunningPorts {
  http: number;
  mqtt: number;
  mqtts?: number;
  ws?: number;
}

export class Gateway {
  readonly metrics: Metrics = createMetrics();
  readonly clock: () => number;
  db!: Db;
  store!: TelemetryStore;
  registry!: DeviceRegistry;
  /** built-in models and user codecs (src/codecs/) */
  readonly catalogue = new ModelCatalogue(MODELS);
  sandbox!: CodecSandbox;
  userModels!: UserModels;
  apiKeys!: ApiKeys;
  integrations!: Integrations;
  audit!: AuditLog;
  alerts!: AlertService;
  retention!: Retention;
  sources: UpstreamSource[] = [];
  connectors!: Connectors;
  committer!: GroupCommitter;
  pipeline!: IngestPipeline;
  broker!: EmbeddedBroker;
  app!: FastifyInstance;
  ports: RunningPorts = { http: 0, mqtt: 0 };
  /** credentials revoked: the broker and the SSE route close that principal's sessions */
  readonly revocations = new Revocations((err) => this.log.error({ err }, 'revocation listener failed'));
  /** devices with their own label on gateway_device_dead_letters_total */
  private readonly deadLetterDevices = new Set<string>();
  /** cluster mode (cluster.postgres.url): the lease; otherwise undefined and this node always leads */
  lease: LeaderLease | undefined;
  /** cluster mode: devices, API keys, integrations, audit, kv, dead letters and user models in PostgreSQL */
  shared: SharedRegistry | undefined;
  /** cluster mode: the committer's store, writing dead letters to PostgreSQL */
  private sharedDeadLetters: SharedDeadLetterStore | undefined;
  /** cluster mode: writes dead letters to PostgreSQL (the committer's, and those the InfluxDB store makes) */
  private deadLetterWriter: ((letters: readonly DeadLetter[]) => Promise<void>) | undefined;
  leadership: Leadership = SOLE_LEADER;
  nodeId = '';
  /** called after every group commit with the committed entries */
  readonly committedListeners: Array<(entries: Entry[]) => void> = [];
  private stopping = false;

  constructor(readonly config: Config, private readonly opts: GatewayOptions) {
    this.clock = opts.clock ?? Date.now;
  }

  get log(): Logger { return this.opts.log; }

  reportIntervalS(device: Device): number {
    return reportIntervalS(device.attributes, this.modelIntervalS(device));
  }

  /** online = a message within 3 x the expected report interval (ALERTS.md device_offline) */
  isOnline(device: Device): boolean {
    return isOnline(device, this.modelIntervalS(device), this.clock());
  }

  /** the interval a device reports at unless its attributes say otherwise: a polled device once per poll, else its model's */
  private modelIntervalS(device: Device): number | undefined {
    return this.connectors?.pollIntervalS(device) ?? this.catalogue.get(device.model)?.reportIntervalS;
  }

  private startedAt = 0;

  async start(): Promise<RunningPorts> {
    const { config, log } = this;
    this.startedAt = this.clock();
    this.db = openDatabase({ dataDir: config.dataDir, synchronous: config.store.sqlite.synchronous });
    this.sandbox = new CodecSandbox(config.codecs, log.child({ component: 'codecs' }));
    registerSandboxMetrics(this.metrics.registry, this.sandbox);
    // CONTRACT v2 "Cluster": with cluster.postgres.url the registry lives in PostgreSQL and none of it in SQLite
    if (config.cluster.postgres.url) {
      this.shared = new SharedRegistry({ url: config.cluster.postgres.url, nodeId: config.cluster.nodeId ?? defaultNodeId(config.mqtt.port), log: log.child({ component: 'shared-registry' }) });
      await this.shared.migrate();
    }
    const repos = this.shared?.repositories ?? sqliteRepositories(this.db);
    this.deadLetterWriter = this.shared && sharedDeadLetterWriter(repos.deadLetters, { limits: config.ingest.deadLetters, onEvicted: (n) => this.metrics.deadLettersEvicted.inc(n) });
    this.userModels = new UserModels(repos.userModels, this.catalogue, this.sandbox, this.clock, log.child({ component: 'codecs' }), (id) => this.registry?.refreshKinds(id));
    registerUserModelMetrics(this.metrics.registry, this.userModels);
    await this.userModels.load(); // before the registry: a device's kind comes from its model
    this.registry = new DeviceRegistry(repos.devices, this.catalogue, this.clock, this.revocations);
    await this.registry.load();
    this.apiKeys = new ApiKeys(repos.apiKeys, this.clock, this.revocations);
    await this.apiKeys.load();
    this.integrations = new Integrations(repos.integrations, this.clock, this.revocations);
    await this.integrations.load();
    this.audit = new AuditLog(repos.audit, this.clock, log.child({ component: 'audit' }));
    await this.shared?.follow({ devices: this.registry, apiKeys: this.apiKeys, integrations: this.integrations, userModels: this.userModels });

    this.nodeId = config.cluster.nodeId ?? defaultNodeId(config.mqtt.port);
    if (config.cluster.postgres.url) {
      const c = config.cluster.postgres;
      this.lease = new LeaderLease({ url: c.url!, nodeId: this.nodeId, heartbeatMs: c.heartbeatMs, leaseMs: c.leaseMs, mqttClients: () => this.broker?.aedes.connectedClients ?? 0, log: log.child({ component: 'cluster' }) });
      this.leadership = this.lease;
    }
    this.store = this.createStore();
    await this.store.start();
    if (this.store instanceof SqliteTelemetryStore && config.store.sqlite.writerThread) registerStoreThreadMetrics(this.metrics.registry, this.store);
    const pgStore = this.store instanceof PostgresTelemetryStore ? this.store : undefined;
    const sharedPool = this.shared?.pool;
    this.retention = new Retention(this.db, config.retention, { clock: this.clock, log: log.child({ component: 'retention' }), rollups: config.store.type === 'sqlite', maintain: pgStore && ((now) => pgStore.maintain(now)), deadLetters: this.shared && repos.deadLetters,
      sharedAlerts: sharedPool && { pruneBefore: (cutoff) => pruneSharedAlerts(sharedPool, cutoff) } });

    const occupiedAtStart = await this.store.latestMany([...this.registry.all()].filter((d) => d.kind === 'parking').map((d) => d.id), ['occupied']);
    // cluster mode: the dead letters of each group commit into PostgreSQL, before its PUBACKs
    this.sharedDeadLetters = this.deadLetterWriter && withSharedDeadLetters(this.store, this.deadLetterWriter);
    this.committer = new GroupCommitter(this.sharedDeadLetters ?? this.store, {
      maxDelayMs: config.ingest.batchMaxDelayMs,
      maxMessages: config.ingest.batchMaxMessages,
      onCommitted: (entries, ms) => { this.pipeline.flushCounters(); this.onCommitted(entries, ms); },
      onListenerError: (err) => log.error({ err }, 'post-commit processing failed (the batch is committed and acknowledged)'),
      onRefused: (entry, reason) => {
        const device = entry.deviceId !== undefined ? this.registry.get(entry.deviceId) : undefined;
        this.metrics.deadLetters.inc({ model: device?.model ?? 'unknown' });
        log.warn({ device: entry.deviceId, topic: entry.deadLetter?.topic.slice(0, 200), reason }, 'message not storable; kept as a dead letter');
      },
      onFailed: (err, entries) => {
        this.pipeline.flushCounters();
        this.metrics.writeFailures.inc();
        log.error({ err: err.message, messages: entries.length }, 'group commit failed; messages not acknowledged');
      },
    });
    const pseudonymise = createPseudonymiser(loadSiteSecret(config.dataDir), config.privacy.storeRawCredentials);
    this.pipeline = new IngestPipeline({
      registry: this.registry,
      catalogue: this.catalogue,
      committer: this.committer,
      metrics: this.metrics,
      log: log.child({ component: 'ingest' }),
      clock: this.clock,
      pseudonymise,
      lastOccupied: (id) => occupiedAtStart.get(id)?.get('occupied')?.value as boolean | undefined,
      maxFutureMs: config.ingest.maxFutureS * 1000,
    });
    this.connectors = new Connectors(config.connectors, {
      registry: this.registry, getModel: (id) => this.catalogue.get(id), metrics: this.metrics, log: log.child({ component: 'connectors' }), clock: this.clock,
      ingest: (connector, deviceId, payload, done) => this.pipeline.ingestPolled(connector, deviceId, payload, done),
    });
    const bus = config.cluster.redis.url ? clusterBrokerParts({ nodeId: this.nodeId, redisUrl: config.cluster.redis.url, packetTtlS: config.cluster.redis.packetTtlS, log: log.child({ component: 'mqtt-cluster' }) }) : undefined;
    this.broker = new EmbeddedBroker(
      { ...config.mqtt, clock: this.clock },
      { registry: this.registry, integrations: this.integrations, apiKeys: this.apiKeys, pipeline: this.pipeline, metrics: this.metrics, log: log.child({ component: 'mqtt' }), revocations: this.revocations,
        aedes: bus && { id: bus.id, mq: bus.mq, persistence: bus.persistence }, telemetryPresence: bus?.presence },
    );
    const extraRoutes: Array<(ctx: ApiContext) => FastifyPluginAsync> = [];
    // rules: the configured file; when the default path is missing (started elsewhere), the bundled defaults
    const bundled = resolve(import.meta.dirname, '../config/rules.yaml');
    const rulesPath = resolve(config.rulesFile);
    const explicit = config.rulesFile !== 'config/rules.yaml';
    const rules = loadRules(!explicit && !existsSync(rulesPath) ? bundled : rulesPath, explicit, { models: this.catalogue.all() });
    const n = config.notify;
    // cluster mode: alerts, rule states, silences, the webhook outbox and escalation shared in PostgreSQL
    if (this.shared) await migrateAlerts(this.shared.pool);
    if (this.shared) await migrateNotify(this.shared.pool);
    const notifier = new Notifier({
      db: this.db, channels: n.channels.map((c) => createChannel(c, { smtp: n.smtp, clock: this.clock })), policies: policiesOf(n.policies), retry: n.retry,
      language: n.language, consoleUrl: n.consoleUrl, timezone: config.retention.timezone, deviceName: (id) => this.registry.get(id)?.name ?? null,
      log: log.child({ component: 'notify' }), clock: this.clock,
      shared: this.shared && { store: new PostgresNotifyStore(this.shared.pool), isLeader: () => this.leadership.isLeader(), silenced: (a) => this.alerts.silencedFor(a) },
    });
    this.alerts = new AlertService({
      db: this.db, registry: this.registry, rules, getModel: (id) => this.catalogue.get(id), webhooks: config.notify.webhooks, retry: config.notify.retry, notifier,
      publish: (topic, payload, retain) => this.broker.publish(topic, payload, retain), metrics: this.metrics, log: log.child({ component: 'alerts' }), clock: this.clock,
      reportIntervalS: (d) => this.reportIntervalS(d),
      isLeader: this.lease && (() => this.leadership.isLeader()),
      // rule states through the store's writer thread, off the event loop (docs/performance.md)
      saveStates: this.store instanceof SqliteTelemetryStore && config.store.sqlite.writerThread ? (rows) => (this.store as SqliteTelemetryStore).saveAlertStates(rows) : undefined,
      cluster: this.shared && {
        store: new PostgresAlertStore(this.shared.pool, this.nodeId, this.clock, (c, events) => notifier.recordShared(c, events.map((e) => ({ event: e.event, alert: e.alert, view: alertJson(e.alert) as AlertView })))),
        nodeId: this.nodeId, url: config.cluster.postgres.url!,
      },
    });
    await this.alerts.startCluster();
    this.committedListeners.push((entries) => this.alerts.onCommitted(entries));
    extraRoutes.push((ctx) => alertRoutes(ctx, this.alerts));
    const soleNode: ClusterView = { nodes: async () => ({ leader: this.nodeId, nodes: [{ id: this.nodeId, startedAt: this.startedAt, lastHeartbeatAt: this.clock(), leader: true, mqttClients: this.broker.aedes.connectedClients }] }) };
    extraRoutes.push((ctx) => clusterRoutes(ctx, this.lease ?? soleNode));
    extraRoutes.push((ctx) => alertStatsRoutes(ctx, this.alerts), reportRoutes);
    this.app = await buildApp({
      catalogue: this.catalogue, userModels: this.userModels, deadLetters: repos.deadLetters, pseudonymise,
      db: this.db, registry: this.registry, apiKeys: this.apiKeys, integrations: this.integrations, store: this.store, metrics: this.metrics,
      clock: this.clock, readiness: () => this.readiness(), isOnline: (d) => this.isOnline(d), extraRoutes, audit: this.audit, revocations: this.revocations, timePolicy: { maxFutureMs: config.ingest.maxFutureS * 1000 },
      connectors: this.connectors, timezone: config.retention.timezone,
    }, { log, bodyLimit: config.http.bodyLimitBytes, rateLimitPerMinute: config.http.rateLimitPerMinute, authFailuresPerMinute: config.http.authFailuresPerMinute, tls: config.http.tls });

    const brokerPorts = await this.broker.start();
    this.ports.mqtt = brokerPorts.mqtt;
    this.ports.mqtts = brokerPorts.mqtts;
    this.ports.ws = brokerPorts.ws;
    this.alerts.start();
    if (this.lease) {
      // singleton work: retention (and the store's rollups) only on the leader
      this.lease.onChange((leader) => { if (leader) this.retention.start(); else void this.retention.stop(); });
      // field connectors too: a DTU serves one TCP client, and every node polling it would
      // store each reading once per node (docs/connectors.md)
      this.lease.onChange((leader) => { if (leader) this.connectors.start(); else void this.connectors.stop(); });
      await this.lease.start();
    } else {
      this.retention.start();
    }
    this.sources = config.sources.map((s) => new UpstreamSource(s, this.pipeline, log.child({ component: 'source' })));
    for (const s of this.sources) s.start();
    if (!this.lease) this.connectors.start();
    await this.app.listen({ host: config.http.host, port: config.http.port });
    const addr = this.app.server.address();
    this.ports.http = typeof addr === 'object' && addr ? addr.port : config.http.port;
    // only once every port is ours: a start that fails (a busy port) prints no token it then abandons
    await this.bootstrapAdmin();
    log.info({ http: this.ports.http, mqtt: this.ports.mqtt, dataDir: config.dataDir, store: this.store.name, devices: this.registry.size }, 'gateway started');
    return this.ports;
  }

  private createStore(): TelemetryStore {
    const { config } = this;
    if (config.store.type === 'sqlite') {
      return new SqliteTelemetryStore(this.db, config.store.sqlite.writerThread
        ? { file: join(config.dataDir, 'gateway.db'), synchronous: config.store.sqlite.synchronous, checkpointEveryMs: config.store.sqlite.checkpointEveryMs } : undefined,
      {
        deadLetters: config.ingest.deadLetters, onEvicted: (n) => this.metrics.deadLettersEvicted.inc(n),
        onCheckpointerError: (err) => this.log.warn({ err }, 'the WAL checkpoint thread failed; the writer checkpoints on its own'),
        onWriterLost: (err) => this.log.error({ err }, 'the SQLite writer thread was lost; group commits go on on the main thread (slower), what it had in flight was not acknowledged'),
        history: { rawDays: config.retention.rawDays, hourlyDays: config.retention.hourlyDays, dailyDays: config.retention.dailyDays, timezone: config.retention.timezone, clock: this.clock },
      });
    }
    if (config.store.type === 'postgres') {
      const url = config.store.postgres.url ?? config.cluster.postgres.url;
      if (!url) throw new ConfigError('store.postgres.url: required for store.type postgres (or set GATEWAY_POSTGRES_URL)');
      const r = config.retention;
      return new PostgresTelemetryStore(this.db, {
        deadLetters: config.ingest.deadLetters, onDeadLettersEvicted: (n) => this.metrics.deadLettersEvicted.inc(n),
        url, poolSize: config.store.postgres.poolSize, partitionsAhead: config.store.postgres.partitionsAhead,
        retention: { rawDays: r.rawDays, hourlyDays: r.hourlyDays, dailyDays: r.dailyDays, timezone: r.timezone },
        numericMetrics: Object.entries(VOCABULARY).filter(([, d]) => d.type === 'number').map(([m]) => m),
        log: this.log.child({ component: 'store' }), clock: this.clock, metrics: this.metrics,
        // the same server as the cluster state: an outage takes the registry and alerts too, so PUBACKs are withheld (docs/cluster.md "Failure modes")
        spoolMaxReadings: config.cluster.postgres.url && sameServer(url, config.cluster.postgres.url) ? 0 : config.store.postgres.spoolMaxReadings,
      });
    }
    const i = config.store.influx;
    const v1 = config.store.type === 'influx-v1';
    if (!v1) {
      for (const key of ['org', 'bucket', 'token'] as const) {
        if (!i[key]) throw new ConfigError(`store.influx.${key}: required for store.type influx-v2`);
      }
    }
    const backend = v1
      ? new InfluxV1Backend({ url: i.url, database: i.database, username: i.username, password: i.password, timeoutMs: i.timeoutMs })
      : new InfluxV2Backend({ url: i.url, org: i.org, bucket: i.bucket, token: i.token, timeoutMs: i.timeoutMs });
    const r = config.retention;
    return new InfluxTelemetryStore(this.db, backend, {
      name: config.store.type,
      tagsOf: (id) => { const d = this.registry.get(id); return d ? deviceTags(d) : { device: id }; },
      retention: { rawDays: r.rawDays, hourlyDays: r.hourlyDays, dailyDays: r.dailyDays, dayOffset: dayOffset(r.timezone), timezone: r.timezone },
      numericMetrics: Object.entries(VOCABULARY).filter(([, d]) => d.type === 'number').map(([m]) => m),
      metrics: this.metrics,
      log: this.log.child({ component: 'store' }),
      clock: this.clock,
      deadLetters: config.ingest.deadLetters,
      onDeadLettersEvicted: (n) => this.metrics.deadLettersEvicted.inc(n),
      sharedDeadLetters: this.deadLetterWriter,
    });
  }

  readiness(): { ok: boolean; degraded?: boolean; reason?: string } {
    if (this.stopping) return { ok: false, reason: 'shutting down' };
    if (!this.broker?.isListening) return { ok: false, reason: 'MQTT broker not listening' };
    const own = this.store.readiness();
    const dead = this.sharedDeadLetters?.deadLetterReadiness();
    const store = !own.ok || !dead || dead.ok ? own : dead;
    // a node that cannot hear the others' revocations could admit a revoked credential
    const shared = this.shared?.readiness();
    if (shared && !shared.ok) return { ok: false, reason: [shared.reason, store.ok ? undefined : store.reason].filter(Boolean).join('; ') };
    const cluster = this.lease?.readiness();
    if (!store.ok || !cluster || cluster.ok && !cluster.degraded) return store;
    return { ok: true, degraded: true, reason: [store.reason, cluster.reason].filter(Boolean).join('; ') };
  }

  private onCommitted(entries: Entry[], ms: number): void {
    const m = this.metrics;
    m.batchLatency.observe(ms / 1000);
    m.batchSize.observe(entries.length);
    let readings = 0;
    let events = 0;
    for (const e of entries) {
      readings += e.readings.length;
      events += e.events.length;
      if (e.deviceId !== undefined) this.registry.markSeen(e.deviceId, e.receivedAt);
      if (e.deadLetter) this.countDeadLetter(e.deadLetter.deviceId);
      // here or, in a cluster, on another node
      if (e.readings.length > 0 && e.deviceId !== undefined && this.broker.hasTelemetrySubscribers) {
        this.broker.publish(`telemetry/${e.deviceId}`, JSON.stringify({
          deviceId: e.deviceId,
          readings: e.readings.map((r) => ({ metric: r.metric, value: r.value, unit: r.unit ?? metricDef(r.metric)?.unit ?? null, ts: new Date(r.ts).toISOString(), ...(r.quality !== 'ok' ? { quality: r.quality } : {}) })),
        }));
      }
    }
    m.readingsWritten.inc(readings);
    m.eventsWritten.inc(events);
    for (const l of this.committedListeners) {
      try {
        l(entries);
      } catch (err) {
        this.log.error({ err }, 'post-commit listener failed');
      }
    }
  }

  /** per device, with at most ingest.deadLetters.metricDevices labels (the rest: "other") */
  private countDeadLetter(deviceId: string | undefined): void {
    let label = deviceId ?? 'unknown';
    if (deviceId !== undefined && !this.deadLetterDevices.has(deviceId)) {
      if (this.deadLetterDevices.size < this.config.ingest.deadLetters.metricDevices) this.deadLetterDevices.add(deviceId);
      else label = 'other';
    }
    this.metrics.deviceDeadLetters.inc({ device: label });
  }

  /** CONTRACT: GATEWAY_ADMIN_TOKEN, or a generated token printed once and kept in admin.token (0600). */
  private async bootstrapAdmin(): Promise<void> {
    if (this.config.adminToken) {
      await this.apiKeys.ensure('admin', 'admin', this.config.adminToken);
      return;
    }
    if (this.apiKeys.size > 0) return;
    const token = generateToken();
    try {
      await this.apiKeys.create('admin', 'admin', token);
    } catch (err) {
      // cluster nodes starting together on an empty database: another node created it (and printed its token)
      if (!(err instanceof RegistryError && err.status === 409)) throw err;
      await this.apiKeys.load();
      return;
    }
    const file = join(this.config.dataDir, 'admin.token');
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    // printed once, on stdout, outside the JSON log so it is easy to copy
    process.stdout.write(`\nAdmin API token (shown once, also in ${file}):\n  ${token}\n\n`);
  }

  /** Graceful stop: stop accepting, flush pending writes, close the store. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.broker?.stopAccepting();
    await Promise.all(this.sources.map((s) => s.stop()));
    await this.connectors?.stop();
    await this.app?.close();
    await this.sandbox?.drain(); // user-codec decodes in flight become entries before the last commit
    await this.userModels?.settled(); // compiles of models another node changed
    await this.committer?.flush();
    await this.alerts?.stop();
    await this.lease?.stop();
    await this.retention?.stop();
    await this.broker?.close();
    await this.store?.stop();
    await this.shared?.stop();
    await this.sandbox?.stop();
    this.db?.close();
    this.log.info('gateway stopped');
  }
}
