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
// before aedes loads mqtt-packet (see the module)
import './quiet-debug.js';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { createServer as createHttpServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { LoginThrottle, TokenBucket, clientCertCn, guardPacketSize } from './limits.js';
import { Aedes, type AedesOptions, type Client, type AuthenticateError, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { DeviceRegistry } from '../registry/devices.js';
import type { ApiKeys } from '../registry/api-keys.js';
import { INTEGRATION_USER_PREFIX, type Integrations } from '../registry/integrations.js';
import { mayPublish, maySubscribe, parseTopic, type Principal } from '../ingest/topics.js';
import type { IngestPipeline } from '../ingest/pipeline.js';
import { samePrincipal, type Revocations } from '../registry/revocations.js';

export interface BrokerOptions {
  host: string;
  port: number;
  maxPacketBytes: number;
  denyAction: 'ignore' | 'disconnect';
  maxConnections: number;
  rateLimit: { devicePerSecond: number; deviceBurst: number; integrationPerSecond: number; integrationBurst: number };
  loginThrottle: { baseDelayMs: number; maxDelayMs: number; forgetAfterS: number };
  tls?: { port: number; cert: string; key: string; ca?: string; clientCertificates: 'none' | 'optional' | 'required' };
  ws?: { port: number; path: string };
  clock?: () => number;
}

export interface BrokerPorts { mqtt: number; mqtts?: number; ws?: number }

export interface BrokerDeps {
  registry: DeviceRegistry;
  integrations: Integrations;
  apiKeys: ApiKeys;
  pipeline: IngestPipeline;
  metrics: Metrics;
  log: Logger;
  /** credentials revoked: that principal's connections are closed */
  revocations?: Revocations;
  /** cluster mode: node id, message bus and persistence shared through Redis (cluster-mq.ts) */
  aedes?: Pick<AedesOptions, 'id' | 'mq' | 'persistence'>;
  /** cluster mode: telemetry subscribers on the other nodes (cluster-mq.ts TelemetryPresence) */
  telemetryPresence?: { setLocal(count: number): void; readonly remote: boolean; start(): Promise<void> };
}

type GatewayClient = Client & { gw?: Principal; gwRefusalLogged?: boolean; gwBucket?: TokenBucket | null; gwTelemetry?: Set<string> };

/** a filter that can match telemetry/{id} ('#', '+/…', 'telemetry', 'telemetry/…') */
const coversTelemetry = (filter: string): boolean => {
  const first = filter.split('/', 1)[0];
  return first === 'telemetry' || first === '#' || first === '+';
};

// [MQTT-3.2.2.3] CONNACK return codes
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;
const SERVER_UNAVAILABLE = 3;

/**
 * aedes 1.x speaks MQTT 3.1 and 3.1.1 only. A v5 CONNECT gets a v5 CONNACK with reason 0x84
 * "Unsupported Protocol Version" [MQTT-3.2.2.2] (what a v5 client understands), and the
 * connection is closed [MQTT-3.1.2-2]; docs/security.md weighs the alternatives.
 */
const V5_CONNACK_UNSUPPORTED_PROTOCOL = Buffer.from([0x20, 0x03, 0x00, 0x84, 0x00]);

/** who a client id belongs to, for "a client id belongs to its principal" (CONTRACT v2) */
function principalKey(p: Principal): string {
  return p.type === 'consumer' ? `consumer:${p.name}` : `${p.type}:${p.id}`;
}

function refusal(message: string, returnCode: number): AuthenticateError {
  const err = new Error(message) as AuthenticateError;
  err.returnCode = returnCode;
  return err;
}

/** Where refused QoS 0/1 publishes go when denyAction = ignore: no client may subscribe to `$` topics here. */
const REFUSED_TOPIC = '$gateway/refused';

/**
 * On a client's PUBLISH that aedes acknowledges but does not route: an ingested uplink (no
 * client may subscribe to an uplink topic — maySubscribe grants alerts/, telemetry/ and
 * devices/+/status only — so routing it would find nobody) or a refused one dropped under
 * denyAction ignore. Routing cost every message a Packet copy, a subscription lookup behind a
 * promise, an emitter match and a 'publish' event (~8 % of the broker's busy time under load).
 */
const NOT_ROUTED = Symbol('gateway.notRouted');
/** how long a client id stays claimed between a CONNECT's authentication and aedes registering it */
const CLAIM_MS = 10_000;
type Marked = PublishPacket & { [NOT_ROUTED]?: true };

/**
 * mqtt-packet's parser keeps the CONNECT packet for the connection's life (its `settings`:
 * later packets are parsed by its protocol version), and with it the password: a device's
 * secret in memory, and a slice that holds the socket's first read (~0.4 kB per connected
 * device). Once the credentials are checked, the packet no longer needs it.
 */
function forgetPassword(client: unknown): void {
  const settings = (client as { _parser?: { settings?: { password?: unknown } } })._parser?.settings;
  if (settings && settings.password !== undefined) settings.password = undefined;
}

export class EmbeddedBroker {
  readonly aedes: Aedes;
  private servers: Array<{ close(cb: () => void): unknown }> = [];
  private listening = false;
  private readonly throttle: LoginThrottle;
  private readonly clock: () => number;

  constructor(private readonly opts: BrokerOptions, private readonly deps: BrokerDeps) {
    this.clock = opts.clock ?? Date.now;
    this.throttle = new LoginThrottle({ ...opts.loginThrottle, forgetAfterMs: opts.loginThrottle.forgetAfterS * 1000 }, this.clock);
    this.aedes = new Aedes({
      ...deps.aedes,
      maxClientsIdLength: 256,
      heartbeatInterval: 60_000,
      preConnect: (client, packet, cb) => {
        if ((packet as { protocolVersion?: number }).protocolVersion !== 5) return cb(null, true);
        this.deps.metrics.authRefusals.inc({ action: 'connect', reason: 'unsupported_protocol_version' });
        this.deps.log.info({ clientId: (packet as { clientId?: string }).clientId?.slice(0, 256) }, 'MQTT 5 CONNECT refused: this broker speaks MQTT 3.1.1 (docs/security.md)');
        const conn = client.conn as unknown as { write(b: Buffer, cb: () => void): void; destroy(): void };
        conn.write(V5_CONNACK_UNSUPPORTED_PROTOCOL, () => conn.destroy());
        cb(null, false);
      },
      authenticate: (client, username, password, cb) => {
        this.authenticate(client as GatewayClient, username, password).then(
          (principal) => {
            (client as GatewayClient).gw = principal;
            forgetPassword(client);
            cb(null, true);
          },
          (err: AuthenticateError & { counted?: boolean }) => {
            const reason = err.returnCode === NOT_AUTHORIZED ? 'not_authorized' : err.returnCode === SERVER_UNAVAILABLE ? 'max_connections' : 'bad_credentials';
            if (!err.counted) this.deps.metrics.authRefusals.inc({ action: 'connect', reason });
            this.deps.log.info({ clientId: client.id, username, reason: err.message }, 'MQTT connect refused');
            cb(err, false);
          },
        );
      },
      authorizePublish: (client, packet, cb) => this.authorizePublish(client as GatewayClient | null, packet, cb),
      authorizeSubscribe: (client, sub, cb) => this.authorizeSubscribe(client as GatewayClient, sub, cb),
    });
    // aedes calls publish(packet, client, done) from its PUBLISH handler and publish(packet,
    // done) from the API (its typings know only the latter)
    const route = (this.aedes.publish as unknown as (...a: unknown[]) => void).bind(this.aedes);
    (this.aedes as unknown as { publish: (...a: unknown[]) => void }).publish = (packet, client, done) => {
      if ((packet as Marked)[NOT_ROUTED] !== true) return route(packet, client, done);
      (typeof client === 'function' ? client : done as ((err?: Error) => void) | undefined)?.();
    };
    this.aedes.on('client', (client) => {
      this.deps.metrics.connectedClients.inc();
      // registered: aedes.clients holds it from now on (clientIdOwner)
      if (this.claims.get(client.id)?.client === client) this.claims.delete(client.id);
    });
    // aedes empties client.subscriptions before 'clientDisconnect' and emits 'unsubscribe' only
    // for clean sessions: the telemetry filters each client was granted are counted here
    this.aedes.on('unsubscribe', (filters, client) => {
      const mine = (client as GatewayClient).gwTelemetry;
      if (mine) for (const f of filters) if (mine.delete(f)) this.telemetrySubscriptions--;
      this.deps.telemetryPresence?.setLocal(this.telemetrySubscriptions);
    });
    this.aedes.on('clientDisconnect', (client) => {
      this.deps.metrics.connectedClients.dec();
      const mine = (client as GatewayClient).gwTelemetry;
      if (mine) { this.telemetrySubscriptions -= mine.size; mine.clear(); }
      this.deps.telemetryPresence?.setLocal(this.telemetrySubscriptions);
    });
    this.aedes.on('clientError', (client, err) => this.deps.log.debug({ clientId: client.id, err: err.message }, 'MQTT client error'));
    this.deps.revocations?.subscribe(({ principal, reason }) => {
      const clients = (this.aedes as unknown as { clients: Record<string, GatewayClient> }).clients;
      for (const client of Object.values(clients)) {
        if (!client.gw || !samePrincipal(client.gw, principal)) continue;
        this.deps.log.info({ clientId: client.id, principal, reason }, 'MQTT session closed: its credentials were revoked');
        this.deps.metrics.authRefusals.inc({ action: 'session', reason });
        client.close();
      }
    });
  }

  /**
   * CONTRACT v2 "Sessions follow credentials": a client id that is a device's id belongs to
   * that device, and one held by a connected client belongs to that client's principal; a
   * CONNECT with it from anyone else is refused, so the holder is not taken over.
   */
  private clientIdOwner(clientId: string, who: Principal): string | undefined {
    if (this.deps.registry.get(clientId) && !(who.type === 'device' && who.id === clientId)) return `client id ${clientId} belongs to device ${clientId}`;
    const holder = (this.aedes as unknown as { clients: Record<string, GatewayClient | undefined> }).clients[clientId]?.gw;
    const key = principalKey(who);
    if (holder && principalKey(holder) !== key) return `client id ${clientId} is held by another principal`;
    // between a CONNECT passing here and aedes registering the client, the id is claimed
    const claim = this.claims.get(clientId);
    if (claim && claim.key !== key && this.claimHolds(claim)) return `client id ${clientId} is being taken by another principal`;
    return undefined;
  }

  /**
   * Claims end when aedes registers their client ('client' event), when its connection is
   * gone, or after CLAIM_MS; without a listener or a timer per connection (those were ~0.5 kB
   * of every connected device's memory): an ended claim refuses nobody, is replaced by the
   * next claim of its id, and is dropped in a sweep at most once a second when a claim is made.
   */
  private readonly claims = new Map<string, { key: string; client: GatewayClient; until: number }>();
  private nextClaimSweep = 0;

  private claimHolds(c: { client: GatewayClient; until: number }): boolean {
    return c.until > this.clock() && !(c.client.conn as unknown as { destroyed?: boolean }).destroyed;
  }

  private claim(client: GatewayClient, who: Principal): void {
    const now = this.clock();
    if (now >= this.nextClaimSweep) {
      this.nextClaimSweep = now + 1000;
      for (const [id, c] of this.claims) if (!this.claimHolds(c)) this.claims.delete(id);
    }
    this.claims.set(client.id, { key: principalKey(who), client, until: now + CLAIM_MS });
  }

  get isListening(): boolean { return this.listening; }

  private async authenticate(client: GatewayClient, username: string | undefined, password: Buffer | undefined): Promise<Principal> {
    // checked here rather than in preConnect, so the client gets CONNACK 3 (server unavailable) and not a dropped socket
    if (this.aedes.connectedClients >= this.opts.maxConnections) throw refusal(`connection limit ${this.opts.maxConnections} reached`, SERVER_UNAVAILABLE);
    const conn = client.conn as unknown;
    const address = (conn as { remoteAddress?: string }).remoteAddress;
    // keyed on (username, address): a stranger's wrong passwords for a device's username
    // slow the stranger, not the device's own reconnect from its own address
    const user = `user:${username ?? ''}@${address ?? '?'}`;
    const addr = `addr:${address ?? '?'}`;
    // guessing one device's secret from one address: every attempt waits
    const delay = this.throttle.delayFor([user]);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    try {
      const principal = await this.check(client, username, password);
      const taken = this.clientIdOwner(client.id, principal);
      if (!taken) this.claim(client, principal);
      if (taken) {
        this.deps.metrics.authRefusals.inc({ action: 'connect', reason: 'client_id_taken' });
        const err = refusal(taken, NOT_AUTHORIZED);
        (err as AuthenticateError & { counted?: boolean }).counted = true;
        throw err;
      }
      this.throttle.succeeded([user]);
      return principal;
    } catch (err) {
      if ((err as { counted?: boolean }).counted) throw err;
      // guessing from one address: its refusals come ever slower, while other devices
      // behind the same address (a site NAT, a network server) still log in at once
      this.throttle.failed([user, addr]);
      const slow = this.throttle.delayFor([addr]);
      if (slow > 0) await new Promise((r) => setTimeout(r, slow));
      throw err;
    }
  }

  private async check(client: GatewayClient, username: string | undefined, password: Buffer | undefined): Promise<Principal> {
    const certMode = this.opts.tls?.clientCertificates ?? 'none';
    const cn = clientCertCn(client.conn);
    if (cn !== undefined && certMode !== 'none' && (!username || username === cn)) {
      // a certificate signed by the configured device CA names the device (CN = device id)
      if (!this.deps.registry.get(cn)) throw refusal(`certificate for unknown device ${cn}`, NOT_AUTHORIZED);
      return { type: 'device', id: cn };
    }
    if (certMode === 'required' && (client.conn as { encrypted?: boolean }).encrypted) {
      throw refusal('a client certificate is required on this listener', NOT_AUTHORIZED);
    }
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
    else if (!this.withinRate(client, who)) reason = 'rate_limited';
    if (reason !== undefined) {
      this.refuse(client, 'publish', reason, { topic: packet.topic.slice(0, 200), bytes: packet.payload.length });
      if (this.opts.denyAction === 'disconnect' || reason !== 'topic_not_allowed') return cb(new Error(`publish refused: ${reason}`));
      // [MQTT-3.3.5-2]: acknowledge positively and drop. The message must reach nobody,
      // so it is re-addressed to a topic no client may subscribe to.
      packet.topic = REFUSED_TOPIC;
      packet.retain = false;
      packet.payload = Buffer.alloc(0);
      (packet as Marked)[NOT_ROUTED] = true;
      return cb(null);
    }
    packet.retain = false; // uplinks are ingested, never kept as retained messages
    (packet as Marked)[NOT_ROUTED] = true;
    this.deps.pipeline.handleCb({ topic: packet.topic, payload: packet.payload as Buffer, clientId: client.id, route: route! }, (err) => {
      if (!err) return cb(null);
      this.deps.log.error({ err: err.message, clientId: client.id }, 'commit failed; message not acknowledged');
      cb(err);
    });
  }

  private withinRate(client: GatewayClient, who: Principal): boolean {
    if (client.gwBucket === undefined) {
      const r = this.opts.rateLimit;
      const [perSecond, burst] = who.type === 'integration' ? [r.integrationPerSecond, r.integrationBurst] : [r.devicePerSecond, r.deviceBurst];
      client.gwBucket = perSecond > 0 ? new TokenBucket(perSecond, burst, this.clock) : null;
    }
    return client.gwBucket === null || client.gwBucket.take();
  }

  private authorizeSubscribe(client: GatewayClient, sub: Subscription, cb: (err: Error | null, sub: Subscription | null) => void): void {
    const who = client.gw;
    if (!who || !maySubscribe(who, sub.topic)) {
      this.refuse(client, 'subscribe', 'filter_not_allowed', { filter: sub.topic.slice(0, 200) });
      return cb(null, null); // SUBACK 0x80 for this filter
    }
    if (coversTelemetry(sub.topic) && !(client.gwTelemetry ??= new Set()).has(sub.topic)) {
      client.gwTelemetry.add(sub.topic);
      this.telemetrySubscriptions++;
      this.deps.telemetryPresence?.setLocal(this.telemetrySubscriptions);
    }
    cb(null, sub);
  }

  /**
   * Filters granted that can match telemetry topics, minus those unsubscribed or of clients that left: when
   * zero here and on every other node, nobody can receive telemetry/{id} and the gateway
   * skips building it.
   */
  private telemetrySubscriptions = 0;

  get hasTelemetrySubscribers(): boolean { return this.telemetrySubscriptions > 0 || this.deps.telemetryPresence?.remote === true; }

  publish(topic: string, payload: string | Buffer, retain = false): void {
    this.aedes.publish({ cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: 0, retain, dup: false }, () => {});
  }

  /** one function for every socket's guard (a closure per socket is memory per device) */
  private readonly onTooLarge = (bytes: number, socket: Socket): void => {
    this.deps.metrics.authRefusals.inc({ action: 'publish', reason: 'packet_too_large' });
    this.deps.log.warn({ address: socket.remoteAddress, bytes }, 'MQTT packet larger than mqtt.maxPacketBytes: connection closed');
  };

  private guard<S extends Socket>(socket: S): S {
    // PUBACKs go out in bursts after each group commit, a few per socket, coalesced into one
    // write by mqtt-packet's cork; with Nagle on, a burst waited for the client's delayed ACK
    // of the previous one (up to 40 ms) whenever the client had nothing to send meanwhile
    socket.setNoDelay?.(true);
    // the Remaining Length also holds the topic and packet ids: leave room for a maximal topic
    return guardPacketSize(socket, this.opts.maxPacketBytes + 65_600, this.onTooLarge);
  }

  private listen(server: Server | ReturnType<typeof createHttpServer>, port: number): Promise<number> {
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.opts.host, () => {
        server.off('error', reject);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  async start(): Promise<BrokerPorts> {
    await this.aedes.listen(); // aedes 1.x: persistence and mq must be ready before the first client
    await this.deps.telemetryPresence?.start(); // the other nodes' counts, before the first commit
    const ports: BrokerPorts = { mqtt: await this.listen(createServer((socket) => this.aedes.handle(this.guard(socket))), this.opts.port) };
    const tls = this.opts.tls;
    if (tls) {
      const server = createTlsServer({
        cert: readFileSync(tls.cert), key: readFileSync(tls.key), ca: tls.ca ? readFileSync(tls.ca) : undefined,
        requestCert: tls.clientCertificates !== 'none', rejectUnauthorized: false, // unauthorised certificates are refused at CONNECT, with a reason
      }, (socket) => this.aedes.handle(this.guard(socket)));
      ports.mqtts = await this.listen(server as unknown as Server, tls.port);
    }
    if (this.opts.ws) {
      const http = createHttpServer((_req, res) => { res.writeHead(426).end('MQTT over WebSocket: connect with a WebSocket client\n'); });
      const wss = new WebSocketServer({ server: http, path: this.opts.ws.path, maxPayload: this.opts.maxPacketBytes + 65_600 });
      wss.on('connection', (ws, req) => this.aedes.handle(createWebSocketStream(ws) as never, req as never));
      ports.ws = await this.listen(http, this.opts.ws.port);
      this.servers.push({ close: (cb) => wss.close(() => cb()) });
    }
    this.listening = true;
    return ports;
  }

  private closed: Promise<void> | undefined;

  /** Stops accepting new connections; connected clients stay until close(). */
  stopAccepting(): void {
    this.listening = false;
    if (this.closed) return;
    // net.Server.close() calls back only when every connection has ended: close() ends them
    this.closed = Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => {});
  }

  async close(): Promise<void> {
    this.stopAccepting();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await this.closed;
  }
}
