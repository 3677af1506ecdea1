/**
 * Ingest: topic -> device -> model decoder -> normalised readings -> group commit.
 * handle() resolves once the message is durable (readings committed, or a dead letter
 * committed); the broker's authorizePublish hook waits for it before the PUBACK.
 * One message's failure stays that message's: anything that cannot be decoded is a dead
 * letter with the reason, and the pipeline goes on.
 */
import type { Logger } from 'pino';
import { DecodeError, type Decoded } from '../core/model.js';
import type { DeadLetter, DeviceEventRecord, Reading } from '../core/types.js';
import { getModel } from '../../devices/index.js';
import type { Device, DeviceRegistry } from '../registry/devices.js';
import { normalise } from './normalise.js';
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
  committer: GroupCommitter;
  metrics: Metrics;
  log: Logger;
  clock: () => number;
  pseudonymise: (raw: string) => string;
  /** last known `occupied` per parking device, for arrival/departure events */
  lastOccupied: (deviceId: string) => boolean | undefined;
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
    return this.deps.committer.submit(this.prepare(msg));
  }

  /** handle() with a callback instead of a promise (one fewer allocation per message) */
  handleCb(msg: IngestMessage, done: Done): void {
    this.deps.committer.submitCb(this.prepare(msg), done);
  }

  /**
   * A field connector's poll of one device (src/connectors): its raw answer takes the path
   * of an uplink (the device's model decodes it with the device's attributes, normalise,
   * group commit, alerts); done fires once the entry is durable, with the entry (a dead
   * letter when the answer could not be decoded). The reading time is now: the answer's.
   */
  ingestPolled(connector: string, deviceId: string, payload: Buffer, done: (err: Error | undefined, entry: Entry) => void): void {
    const entry = this.prepare({ topic: `connectors/${connector}/${deviceId}`, payload, clientId: `connector:${connector}`, route: { kind: 'device', deviceId } });
    this.deps.committer.submitCb(entry, (err) => done(err, entry));
  }

  /** Everything up to the commit, synchronous so one socket's messages keep their order. */
  prepare(msg: IngestMessage): Entry {
    const receivedAt = this.deps.clock();
    let device: Device | undefined;
    try {
      let decoded: Decoded;
      let readingTime = receivedAt;
      let radio: Uplink | undefined;
      if (msg.route.kind === 'device') {
        device = this.deps.registry.get(msg.route.deviceId);
        if (!device) throw new DecodeError(`unknown device ${msg.route.deviceId}`);
        decoded = this.decode(device, msg.payload, msg.route.port, receivedAt);
      } else {
        radio = ENVELOPE_FORMATS[msg.route.format](msg.payload);
        device = (radio.devEui ? this.deps.registry.byDevEui(radio.devEui) : undefined)
          ?? (radio.deviceId ? this.deps.registry.get(radio.deviceId) : undefined)
          ?? (msg.route.devEui ? this.deps.registry.byDevEui(msg.route.devEui) : undefined)
          ?? (msg.route.deviceId ? this.deps.registry.get(msg.route.deviceId) : undefined);
        if (!device) throw new DecodeError(`no registered device for devEui ${radio.devEui ?? '-'} / device id ${radio.deviceId ?? '-'}`);
        // the network server's receive time is the reading time unless the payload has its own
        readingTime = radio.receivedAt ?? receivedAt;
        decoded = this.decode(device, radio.payload, radio.port, readingTime);
        if (radio.rssi !== undefined) decoded.readings.push({ metric: 'rssi_dbm', value: radio.rssi, ts: readingTime });
        if (radio.snr !== undefined) decoded.readings.push({ metric: 'snr_db', value: radio.snr, ts: readingTime });
      }
      const out = normalise(decoded, {
        deviceId: device.id,
        receivedAt: readingTime,
        attributes: device.attributes,
        pseudonymise: this.deps.pseudonymise,
      });
      for (const r of out.readings) r.receivedAt = receivedAt;
      if (device.kind === 'parking') this.deriveParkingEvents(device.id, out.readings, out.events);
      this.counts(device.model).decoded++;
      return { readings: out.readings, events: out.events, deviceId: device.id, receivedAt };
    } catch (err) {
      const reason = err instanceof DecodeError ? err.message : `decoder failed: ${(err as Error)?.message ?? String(err)}`;
      if (!(err instanceof DecodeError)) this.deps.log.warn({ err, topic: msg.topic, device: device?.id }, 'decoder threw a non-DecodeError');
      this.deps.metrics.deadLetters.inc({ model: device?.model ?? 'unknown' });
      const deadLetter: DeadLetter = { ts: receivedAt, topic: msg.topic, clientId: msg.clientId, deviceId: device?.id, reason, payload: msg.payload };
      return { readings: [], events: [], deadLetter, deviceId: device?.id, receivedAt };
    }
  }

  private decode(device: Device, payload: Buffer, port: number | undefined, receivedAt: number): Decoded {
    const model = getModel(device.model);
    if (!model) throw new DecodeError(`device ${device.id} has unknown model ${device.model}`);
    this.counts(model.id).received++;
    const decoded = model.decode({ payload, port, receivedAt, attributes: device.attributes });
    if (!decoded || !Array.isArray(decoded.readings) || !Array.isArray(decoded.events)) throw new DecodeError('decoder returned no result');
    return decoded;
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
