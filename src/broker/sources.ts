/**
 * Upstream brokers (config `sources`): The Things Stack's MQTT server, ChirpStack's, a site
 * Mosquitto or EMQX. The gateway subscribes with MQTT.js in a persistent session at QoS 1
 * and acknowledges a message upstream only after its readings are committed: MQTT.js sends
 * the PUBACK when `handleMessage`'s callback is called (build/lib/handlers/publish.js), so
 * the callback waits for the group commit. A gateway killed in between never acknowledged
 * the message, and the broker redelivers it.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { IngestPipeline } from '../ingest/pipeline.js';
import { parseTopic, type Route } from '../ingest/topics.js';

export interface SourceConfig {
  name: string;
  url: string;
  username: string;
  password: string;
  clientId?: string;
  topics: string[];
  format: 'ttn-v3' | 'chirpstack-v4' | 'native';
  protocolVersion: 4 | 5;
}

/** The route of an upstream message: its format decides, whatever the upstream topic looks like. */
export function routeFor(format: SourceConfig['format'], topic: string): Route | undefined {
  if (format === 'native') {
    const r = parseTopic(topic);
    return r?.kind === 'device' ? r : undefined;
  }
  const parsed = parseTopic(topic);
  if (parsed?.kind === 'envelope' && parsed.format === format) return parsed;
  return { kind: 'envelope', format };
}

export class UpstreamSource {
  private client: MqttClient | undefined;
  connected = false;
  lastError: string | undefined;

  constructor(private readonly cfg: SourceConfig, private readonly pipeline: IngestPipeline, private readonly log: Logger) {}

  start(): void {
    const opts: IClientOptions = {
      clientId: this.cfg.clientId ?? `estate-gateway-${this.cfg.name}`,
      username: this.cfg.username || undefined,
      password: this.cfg.password || undefined,
      clean: false, // persistent session: QoS 1 messages wait upstream while the gateway is away
      protocolVersion: this.cfg.protocolVersion,
      ...(this.cfg.protocolVersion === 5 ? { properties: { sessionExpiryInterval: 7 * 86400 } } : {}),
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      customHandleAcks: undefined,
    };
    const client = mqtt.connect(this.cfg.url, opts);
    // acknowledge upstream only after the commit
    client.handleMessage = (packet, done) => {
      const route = routeFor(this.cfg.format, packet.topic);
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      if (!route) {
        this.log.warn({ source: this.cfg.name, topic: packet.topic }, 'upstream topic does not name a device: acknowledged and ignored');
        return done();
      }
      this.pipeline.handle({ topic: packet.topic, payload, clientId: `source:${this.cfg.name}`, route }).then(
        () => done(),
        // no callback, no PUBACK: the upstream broker redelivers on reconnect
        (err: Error) => { this.log.error({ source: this.cfg.name, err: err.message }, 'commit failed: upstream message not acknowledged'); client.end(true, () => client.reconnect()); },
      );
    };
    client.on('connect', (connack) => {
      this.connected = true;
      this.lastError = undefined;
      this.log.info({ source: this.cfg.name, url: this.cfg.url, sessionPresent: connack.sessionPresent }, 'upstream connected');
      if (!connack.sessionPresent) {
        client.subscribe(this.cfg.topics.map((t) => t), { qos: 1 }, (err, granted) => {
          if (err) this.log.error({ source: this.cfg.name, err: err.message }, 'upstream subscribe failed');
          else if (granted?.some((g) => g.qos >= 128)) this.log.error({ source: this.cfg.name, granted }, 'upstream refused a subscription');
        });
      }
    });
    client.on('close', () => { this.connected = false; });
    client.on('error', (err) => {
      this.lastError = err.message;
      this.log.warn({ source: this.cfg.name, err: err.message }, 'upstream error');
    });
    this.client = client;
  }

  async stop(): Promise<void> {
    const c = this.client;
    if (!c) return;
    // end without forcing: in-flight handleMessage callbacks finish and acknowledge first
    await new Promise<void>((r) => c.end(false, {}, () => r()));
  }
}
