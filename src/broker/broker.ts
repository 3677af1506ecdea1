/**
 * The embedded MQTT broker (aedes) with the gateway's hooks:
 * - authenticate: device secret, integration secret or API key (username "apikey");
 * - authorizePublish: topic ACL, then ingest. aedes writes the QoS 1 PUBACK only after this
 *   hook calls back (lib/handlers/publish.js: authorizePublish runs before enqueuePublish,
 *   which writes the PubAck), so calling back after the group commit makes the PUBACK
 *   durable. A failed commit calls back with an error: no PUBACK, the connection closes and
 *   the client redelivers.
 * - authorizeSubscribe: subscribe ACL; a refused filter gets SUBACK 0x80.
 * Refusals are counted per packet and logged once per client.
 */
import { createServer, type Server } from 'node:net';
import { Aedes, type Client, type AuthenticateError, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { DeviceRegistry } from '../registry/devices.js';
import type { ApiKeys } from '../registry/api-keys.js';
import { INTEGRATION_USER_PREFIX, type Integrations } from '../registry/integrations.js';
import { mayPublish, maySubscribe, parseTopic, type Principal } from '../ingest/topics.js';
import type { IngestPipeline } from '../ingest/pipeline.js';

export interface BrokerOptions {
  host: string;
  port: number;
  maxPacketBytes: number;
  denyAction: 'ignore' | 'disconnect';
}

export interface BrokerDeps {
  registry: DeviceRegistry;
  integrations: Integrations;
  apiKeys: ApiKeys;
  pipeline: IngestPipeline;
  metrics: Metrics;
  log: Logger;
}

type GatewayClient = Client & { gw?: Principal; gwRefusalLogged?: boolean };

// [MQTT-3.2.2.3] CONNACK return codes
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

function refusal(message: string, returnCode: number): AuthenticateError {
  const err = new Error(message) as AuthenticateError;
  err.returnCode = returnCode;
  return err;
}

/** Where refused QoS 0/1 publishes go when denyAction = ignore: no client may subscribe to `$` topics here. */
const REFUSED_TOPIC = '$gateway/refused';

export class EmbeddedBroker {
  readonly aedes: Aedes;
  private server: Server | undefined;
  private listening = false;

  constructor(private readonly opts: BrokerOptions, private readonly deps: BrokerDeps) {
    this.aedes = new Aedes({
      maxClientsIdLength: 256,
      heartbeatInterval: 60_000,
      authenticate: (client, username, password, cb) => {
        this.authenticate(client as GatewayClient, username, password).then(
          (principal) => {
            (client as GatewayClient).gw = principal;
            cb(null, true);
          },
          (err: AuthenticateError) => {
            this.deps.metrics.authRefusals.inc({ action: 'connect', reason: err.returnCode === NOT_AUTHORIZED ? 'not_authorized' : 'bad_credentials' });
            this.deps.log.info({ clientId: client.id, username, reason: err.message }, 'MQTT connect refused');
            cb(err, false);
          },
        );
      },
      authorizePublish: (client, packet, cb) => this.authorizePublish(client as GatewayClient | null, packet, cb),
      authorizeSubscribe: (client, sub, cb) => this.authorizeSubscribe(client as GatewayClient, sub, cb),
    });
    this.aedes.on('client', () => this.deps.metrics.connectedClients.inc());
    this.aedes.on('clientDisconnect', (client) => {
      this.deps.metrics.connectedClients.dec();
      const gone = Object.keys((client as unknown as { subscriptions?: Record<string, unknown> }).subscriptions ?? {})
        .filter((t) => t === 'telemetry' || t.startsWith('telemetry/')).length;
      this.telemetrySubscriptions = Math.max(0, this.telemetrySubscriptions - gone);
    });
    this.aedes.on('clientError', (client, err) => this.deps.log.debug({ clientId: client.id, err: err.message }, 'MQTT client error'));
  }

  get isListening(): boolean { return this.listening; }

  private async authenticate(client: GatewayClient, username: string | undefined, password: Buffer | undefined): Promise<Principal> {
    if (!username || !password) throw refusal('username and password required', BAD_USERNAME_OR_PASSWORD);
    const secret = password.toString('utf8');
    if (username === 'apikey') {
      const key = this.deps.apiKeys.authenticate(secret);
      if (!key) throw refusal('unknown API key', BAD_USERNAME_OR_PASSWORD);
      return { type: 'consumer', name: key.name, role: key.role };
    }
    if (username.startsWith(INTEGRATION_USER_PREFIX)) {
      const id = username.slice(INTEGRATION_USER_PREFIX.length);
      const integration = this.deps.integrations.get(id);
      if (!integration || !(await this.deps.integrations.verify(id, secret))) throw refusal('bad integration credentials', BAD_USERNAME_OR_PASSWORD);
      return { type: 'integration', id, format: integration.type };
    }
    if (!(await this.deps.registry.verify(username, secret))) throw refusal('bad device credentials', BAD_USERNAME_OR_PASSWORD);
    return { type: 'device', id: username };
  }

  private refuse(client: GatewayClient, action: 'publish' | 'subscribe', reason: string, detail: Record<string, unknown>): void {
    this.deps.metrics.authRefusals.inc({ action, reason });
    if (!client.gwRefusalLogged) {
      client.gwRefusalLogged = true;
      this.deps.log.warn({ clientId: client.id, principal: client.gw, action, reason, ...detail }, 'MQTT access refused (further refusals for this client are counted, not logged)');
    }
  }

  private authorizePublish(client: GatewayClient | null, packet: PublishPacket, cb: (err?: Error | null) => void): void {
    // a will of a client that is gone: it was checked when the client connected
    if (!client) return cb(new Error('no client'));
    const who = client.gw;
    const route = parseTopic(packet.topic);
    let reason: string | undefined;
    if (!who || !mayPublish(who, route)) reason = 'topic_not_allowed';
    else if (packet.payload.length > this.opts.maxPacketBytes) reason = 'payload_too_large';
    if (reason !== undefined) {
      this.refuse(client, 'publish', reason, { topic: packet.topic.slice(0, 200), bytes: packet.payload.length });
      if (this.opts.denyAction === 'disconnect' || reason === 'payload_too_large') return cb(new Error(`publish refused: ${reason}`));
      // [MQTT-3.3.5-2]: acknowledge positively and drop. The message must reach nobody,
      // so it is re-addressed to a topic no client may subscribe to.
      packet.topic = REFUSED_TOPIC;
      packet.retain = false;
      packet.payload = Buffer.alloc(0);
      return cb(null);
    }
    packet.retain = false; // uplinks are ingested, never kept as retained messages
    this.deps.pipeline.handle({ topic: packet.topic, payload: packet.payload as Buffer, clientId: client.id, route: route! }).then(
      () => cb(null),
      (err: Error) => {
        this.deps.log.error({ err: err.message, clientId: client.id }, 'commit failed; message not acknowledged');
        cb(err);
      },
    );
  }

  private authorizeSubscribe(client: GatewayClient, sub: Subscription, cb: (err: Error | null, sub: Subscription | null) => void): void {
    const who = client.gw;
    if (!who || !maySubscribe(who, sub.topic)) {
      this.refuse(client, 'subscribe', 'filter_not_allowed', { filter: sub.topic.slice(0, 200) });
      return cb(null, null); // SUBACK 0x80 for this filter
    }
    if (sub.topic === 'telemetry' || sub.topic.startsWith('telemetry/')) this.telemetrySubscriptions++;
    cb(null, sub);
  }

  /**
   * Subscriptions ever granted on telemetry topics, minus those of clients that left: when
   * zero, nobody can receive telemetry/{id} and the gateway skips building it.
   */
  private telemetrySubscriptions = 0;

  get hasTelemetrySubscribers(): boolean { return this.telemetrySubscriptions > 0; }

  publish(topic: string, payload: string | Buffer, retain = false): void {
    this.aedes.publish({ cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: 0, retain, dup: false }, () => {});
  }

  async start(): Promise<number> {
    await this.aedes.listen(); // aedes 1.x: persistence and mq must be ready before the first client
    const server = createServer(this.aedes.handle);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : this.opts.port;
  }

  private closed: Promise<void> | undefined;

  /** Stops accepting new connections; connected clients stay until close(). */
  stopAccepting(): void {
    this.listening = false;
    const server = this.server;
    if (!server || this.closed) return;
    // net.Server.close() calls back only when every connection has ended: close() ends them
    this.closed = new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async close(): Promise<void> {
    this.stopAccepting();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await this.closed;
  }
}
