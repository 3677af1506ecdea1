/**
 * Ingest: topic -> device -> model decoder -> normalised readings -> group commit.
 * handle() resolves once the message is durable (readings committed, or a dead letter
 * committed); the broker's authorizePublish hook waits for it before the PUBACK.
 * One message's failure stays that message's: anything that cannot be decoded is a dead
 * letter with the reason, and the pipeline goes on.
 */
import type { Logger } from 'pino';
import { DecodeError, type DecodedReading } from '../core/model.js';
import type { DeadLetter, DeviceEventRecord, Reading } from '../core/types.js';
import type { CatalogueModel, ModelCatalogue } from '../core/catalogue.js';
import type { Device, DeviceRegistry } from '../registry/devices.js';
import type { Normalised } from './normalise.js';
import { deadLetterReason, decodeForStorage } from './decode.js';
import { DEFAULT_MAX_FUTURE_S } from './time-policy.js';
import { ENVELOPE_FORMATS, type Uplink } from './envelopes.js';
import type { Route } from './topics.js';
import type { Done, Entry, GroupCommitter } from './committer.js';
import type { Metrics } from '../metrics.js';

export interface IngestMessage {
  topic: string;
  payload: Buffer;
  clientId: string;
  route: Route;
}

export interface PipelineDeps {
  registry: DeviceRegistry;
  catalogue: ModelCatalogue;
  committer: GroupCommitter;
  metrics: Metrics;
  log: Logger;
  clock: () => number;
  pseudonymise: (raw: string) => string;
  /** last known `occupied` per parking device, for arrival/departure events */
  lastOccupied: (deviceId: string) => boolean | undefined;
  /** ingest.maxFutureS in ms (time-policy.ts) */
  maxFutureMs?: number;
}

export class IngestPipeline {
  private readonly occupied = new Map<string, boolean>();
  /**
   * Per-model message counts, added to the Prometheus counters once per group commit
   * (flushCounters) rather than per message: a labelled inc() hashes its labels each time.
   */
  private readonly perModel = new Map<string, { received: number; decoded: number }>();

  private counts(model: string): { received: number; decoded: number } {
    let c = this.perModel.get(model);
    if (!c) this.perModel.set(model, (c = { received: 0, decoded: 0 }));
    return c;
  }

  /** called after every group commit (and failed commit), before the PUBACKs go out */
  flushCounters(): void {
    for (const [model, c] of this.perModel) {
      if (c.received > 0) this.deps.metrics.messagesReceived.inc({ model }, c.received);
      if (c.decoded > 0) this.deps.metrics.messagesDecoded.inc({ model }, c.decoded);
      c.received = 0;
      c.decoded = 0;
    }
  }

  constructor(private readonly deps: PipelineDeps) {}

  handle(msg: IngestMessage): Promise<void> {
    const entry = this.prepare(msg);
    return entry instanceof Promise ? entry.then((e) => this.deps.committer.submit(e)) : this.deps.committer.submit(entry);
  }

  /** handle() with a callback instead of a promise (one fewer allocation per message) */
  handleCb(msg: IngestMessage, done: Done): void {
    const entry = this.prepare(msg);
    if (entry instanceof Promise) entry.then((e) => this.deps.committer.submitCb(e, done), done);
    else this.deps.committer.submitCb(entry, done);
  }

  /**
   * A field connector's poll of one device (src/connectors): its raw answer takes the path
   * of an uplink (the device's model decodes it with the device's attributes, normalise,
   * group commit, alerts); done fires once the entry is durable, with the entry (a dead
   * letter when the answer could not be decoded). The reading time is now: the answer's.
   */
  ingestPolled(connector: string, deviceId: string, payload: Buffer, done: (err: Error | undefined, entry: Entry) => void): void {
    const submit = (entry: Entry) => this.deps.committer.submitCb(entry, (err) => done(err, entry));
    const prepared = this.prepare({ topic: `connectors/${connector}/${deviceId}`, payload, clientId: `connector:${connector}`, route: { kind: 'device', deviceId } });
    if (prepared instanceof Promise) void prepared.then(submit);
    else submit(prepared);
  }

  /**
   * Everything up to the commit, synchronous for built-in models so one socket's messages
   * keep their order. A user codec answers later from the sandbox worker, which runs one
   * codec's calls in order (src/codecs/sandbox.ts), so a device's messages keep theirs.
   */
  prepare(msg: IngestMessage): Entry | Promise<Entry> {
    const receivedAt = this.deps.clock();
    let device: Device | undefined;
    try {
      let payload: Buffer;
      let port: number | undefined;
      let readingTime = receivedAt;
      let extra: DecodedReading[] | undefined;
      if (msg.route.kind === 'device') {
        device = this.deps.registry.get(msg.route.deviceId);
        if (!device) throw new DecodeError(`unknown device ${msg.route.deviceId}`);
        payload = msg.payload;
        port = msg.route.port;
      } else {
        const radio: Uplink = ENVELOPE_FORMATS[msg.route.format](msg.payload);
        device = (radio.devEui ? this.deps.registry.byDevEui(radio.devEui) : undefined)
          ?? (radio.deviceId ? this.deps.registry.get(radio.deviceId) : undefined)
          ?? (msg.route.devEui ? this.deps.registry.byDevEui(msg.route.devEui) : undefined)
          ?? (msg.route.deviceId ? this.deps.registry.get(msg.route.deviceId) : undefined);
        if (!device) throw new DecodeError(`no registered device for devEui ${radio.devEui ?? '-'} / device id ${radio.deviceId ?? '-'}`);
        // the network server's receive time is the reading time unless the payload has its own
        readingTime = radio.receivedAt ?? receivedAt;
        payload = radio.payload;
        port = radio.port;
        if (radio.rssi !== undefined || radio.snr !== undefined) {
          extra = [];
          if (radio.rssi !== undefined) extra.push({ metric: 'rssi_dbm', value: radio.rssi, ts: readingTime });
          if (radio.snr !== undefined) extra.push({ metric: 'snr_db', value: radio.snr, ts: readingTime });
        }
      }
      const model = this.modelOf(device);
      const out = decodeForStorage(model, { payload, port, receivedAt: readingTime, attributes: device.attributes }, {
        deviceId: device.id, attributes: device.attributes, pseudonymise: this.deps.pseudonymise, extra,
        // against the gateway's own clock: a network server's receive time may be skewed too
        receivedAt, timePolicy: { maxFutureMs: this.deps.maxFutureMs ?? DEFAULT_MAX_FUTURE_S * 1000 },
      });
      const dev = device;
      if (out instanceof Promise) return out.then((o) => this.stored(msg, dev, o, receivedAt), (err) => this.deadLetter(msg, dev, receivedAt, err));
      return this.stored(msg, device, out, receivedAt);
    } catch (err) {
      return this.deadLetter(msg, device, receivedAt, err);
    }
  }

  private stored(msg: IngestMessage, device: Device, out: Normalised, receivedAt: number): Entry {
    for (const r of out.readings) r.receivedAt = receivedAt;
    if (device.kind === 'parking') this.deriveParkingEvents(device.id, out.readings, out.events);
    this.counts(device.model).decoded++;
    return { readings: out.readings, events: out.events, deviceId: device.id, receivedAt, source: { topic: msg.topic, clientId: msg.clientId, payload: msg.payload } };
  }

  private deadLetter(msg: IngestMessage, device: Device | undefined, receivedAt: number, err: unknown): Entry {
    const reason = deadLetterReason(err);
    if (!(err instanceof DecodeError)) this.deps.log.warn({ err, topic: msg.topic, device: device?.id }, 'decoder threw a non-DecodeError');
    this.deps.metrics.deadLetters.inc({ model: device?.model ?? 'unknown' });
    const deadLetter: DeadLetter = { ts: receivedAt, topic: msg.topic, clientId: msg.clientId, deviceId: device?.id, reason, payload: msg.payload };
    return { readings: [], events: [], deadLetter, deviceId: device?.id, receivedAt };
  }

  private modelOf(device: Device): CatalogueModel {
    const model = this.deps.catalogue.get(device.model);
    if (!model) throw new DecodeError(`device ${device.id} has unknown model ${device.model}`);
    this.counts(model.id).received++;
    return model;
  }

  /** arrival / departure from changes of `occupied`, in time order (VOCABULARY: derived by the gateway). */
  private deriveParkingEvents(deviceId: string, readings: Reading[], events: DeviceEventRecord[]): void {
    const occ = readings.filter((r) => r.metric === 'occupied').sort((a, b) => a.ts - b.ts);
    if (occ.length === 0) return;
    let prev = this.occupied.has(deviceId) ? this.occupied.get(deviceId) : this.deps.lastOccupied(deviceId);
    for (const r of occ) {
      const now = r.value === true;
      if (prev !== undefined && prev !== now) {
        events.push({ deviceId, type: now ? 'arrival' : 'departure', ts: r.ts, data: {} });
      }
      prev = now;
    }
    this.occupied.set(deviceId, prev!);
  }
}
