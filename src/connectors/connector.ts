/**
 * A field connector (CONTRACT v2 "Field connectors"): one TCP link, the devices whose
 * attributes name it, each polled on its own schedule, one poll at a time. A poll's answer
 * goes through the ingest pipeline like an uplink and counts as done once durable; a
 * device that does not answer sends nothing, so the usual offline rule sees it go silent.
 */
import type { Logger } from 'pino';
import { DecodeError, type DeviceModel } from '../core/model.js';
import type { Entry } from '../ingest/committer.js';
import type { Device, DeviceRegistry } from '../registry/devices.js';
import type { Metrics } from '../metrics.js';
import { ModbusException } from '../../devices/lib/modbus.js';
import { LinkError, TcpLink, type LinkStatus } from './link.js';
import { PROTOCOL_OF, Poller, type ConnectorType } from './protocols.js';

export interface ConnectorConfig {
  name: string;
  type: ConnectorType;
  host: string;
  port: number;
  pollS: number;
  timeoutMs: number;
  maxRegisters: number;
  requestGapMs: number;
  reconnectMaxMs: number;
}

/** The ingest pipeline's entry for polled answers (IngestPipeline.ingestPolled). */
export type PolledIngest = (connector: string, deviceId: string, payload: Buffer, done: (err: Error | undefined, entry: Entry) => void) => void;

export interface ConnectorDeps {
  registry: DeviceRegistry;
  ingest: PolledIngest;
  getModel: (id: string) => DeviceModel | undefined;
  metrics: Metrics;
  log: Logger;
  clock: () => number;
}

export interface DevicePollState {
  id: string;
  lastOkAt: number | null;
  lastError: string | null;
  nextDue: number;
}

export interface ConnectorSnapshot {
  name: string;
  type: ConnectorType;
  status: LinkStatus;
  lastPollAt: number | null;
  devices: Array<{ id: string; lastOkAt: number | null; lastError: string | null }>;
}

type FailureReason = 'disconnected' | 'timeout' | 'exception' | 'protocol' | 'dead_letter' | 'config' | 'store';

export class Connector {
  private readonly link: TcpLink;
  private readonly poller: Poller;
  private readonly devices = new Map<string, DevicePollState>();
  private lastPollAt: number | null = null;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(readonly config: ConnectorConfig, private readonly deps: ConnectorDeps) {
    this.link = new TcpLink({
      host: config.host, port: config.port, connectTimeoutMs: Math.max(1000, config.timeoutMs),
      reconnectInitialMs: 500, reconnectMaxMs: config.reconnectMaxMs, requestGapMs: config.requestGapMs,
      onStatus: (status) => deps.metrics.connectorConnected.set({ connector: config.name }, status === 'connected' ? 1 : 0),
    });
    this.poller = new Poller(config.type, this.link, config.timeoutMs);
  }

  /** seconds between polls of a device: its attributes.pollS, else the connector's */
  intervalS(device: Device): number {
    const p = device.attributes.pollS;
    return typeof p === 'number' && Number.isFinite(p) && p >= 0.1 ? p : this.config.pollS;
  }

  private mine(): Device[] {
    const out: Device[] = [];
    for (const d of this.deps.registry.all()) if (d.attributes.connector === this.config.name) out.push(d);
    return out;
  }

  start(): void {
    this.stopped = false;
    this.link.start();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    // a request in flight fails at once; a poll already handed to ingest still commits
    this.link.stop();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const now = this.deps.clock();
      const devices = this.mine();
      const ids = new Set(devices.map((d) => d.id));
      for (const id of this.devices.keys()) if (!ids.has(id)) this.devices.delete(id);
      const due = devices
        .map((d) => ({ d, s: this.stateOf(d.id, now) }))
        .filter(({ s }) => s.nextDue <= now)
        .sort((a, b) => a.s.nextDue - b.s.nextDue);
      for (const { d, s } of due) {
        if (this.stopped) break;
        // the registry may have changed while earlier devices were polled
        const device = this.deps.registry.get(d.id);
        if (!device || device.attributes.connector !== this.config.name) continue;
        await this.pollOne(device, s);
      }
      let next = Infinity;
      for (const s of this.devices.values()) next = Math.min(next, s.nextDue);
      // new devices are picked up within a second
      const wait = Math.max(10, Math.min(1000, next - this.deps.clock()));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        this.wake = () => { clearTimeout(t); resolve(); };
      });
      this.wake = undefined;
    }
  }

  private stateOf(id: string, now: number): DevicePollState {
    let s = this.devices.get(id);
    if (!s) this.devices.set(id, (s = { id, lastOkAt: null, lastError: null, nextDue: now }));
    return s;
  }

  private async pollOne(device: Device, state: DevicePollState): Promise<void> {
    const started = this.deps.clock();
    const t0 = performance.now();
    // next poll counted from this one's start, so a slow bus does not drift the schedule
    state.nextDue = started + this.intervalS(device) * 1000;
    this.lastPollAt = started;
    const labels = { connector: this.config.name };
    this.deps.metrics.connectorPolls.inc(labels);
    try {
      const model = this.deps.getModel(device.model);
      if (!model?.wired) throw new PollFailure('config', `model ${device.model} is not a wired model`);
      const want = PROTOCOL_OF[this.config.type];
      if (model.wired.protocol !== want) throw new PollFailure('config', `model ${model.id} speaks ${model.wired.protocol}; connector ${this.config.name} is ${this.config.type}`);
      let plan;
      try {
        plan = model.wired.plan(device.attributes, { maxRegisters: this.config.maxRegisters });
      } catch (err) {
        throw new PollFailure('config', err instanceof DecodeError ? err.message : String(err));
      }
      const payload = await this.poller.poll(plan);
      const entry = await new Promise<Entry>((resolve, reject) => this.deps.ingest(this.config.name, device.id, payload, (err, e) => (err ? reject(new PollFailure('store', `not committed: ${err.message}`)) : resolve(e))));
      if (entry.deadLetter) throw new PollFailure('dead_letter', `dead letter: ${entry.deadLetter.reason}`);
      state.lastOkAt = this.deps.clock();
      state.lastError = null;
      this.deps.metrics.connectorPollSeconds.observe(labels, (performance.now() - t0) / 1000);
    } catch (err) {
      const reason: FailureReason = err instanceof PollFailure ? err.reason
        : err instanceof ModbusException ? 'exception'
        : err instanceof LinkError ? err.reason : 'protocol';
      const message = (err as Error).message;
      if (this.stopped) return;
      if (state.lastError !== message) this.deps.log.warn({ connector: this.config.name, device: device.id, reason, err: message }, 'poll failed');
      state.lastError = message;
      this.deps.metrics.connectorPollFailures.inc({ ...labels, reason });
    }
  }

  snapshot(): ConnectorSnapshot {
    const devices = this.mine().map((d) => {
      const s = this.devices.get(d.id);
      return { id: d.id, lastOkAt: s?.lastOkAt ?? null, lastError: s?.lastError ?? null };
    }).sort((a, b) => a.id.localeCompare(b.id));
    return { name: this.config.name, type: this.config.type, status: this.link.status, lastPollAt: this.lastPollAt, devices };
  }
}

class PollFailure extends Error {
  constructor(readonly reason: FailureReason, message: string) {
    super(message);
  }
}

/** Every configured connector; the gateway starts and stops them together. */
export class Connectors {
  private readonly list: Connector[];
  private readonly byName = new Map<string, Connector>();

  constructor(configs: readonly ConnectorConfig[], deps: ConnectorDeps) {
    this.list = configs.map((c) => new Connector(c, deps));
    for (const c of this.list) this.byName.set(c.config.name, c);
  }

  start(): void { for (const c of this.list) c.start(); }
  async stop(): Promise<void> { await Promise.all(this.list.map((c) => c.stop())); }

  /** the poll interval of a wired device on a configured connector; undefined otherwise */
  pollIntervalS(device: Device): number | undefined {
    const name = device.attributes.connector;
    const c = typeof name === 'string' ? this.byName.get(name) : undefined;
    return c ? c.intervalS(device) : undefined;
  }

  snapshot(): ConnectorSnapshot[] {
    return this.list.map((c) => c.snapshot()).sort((a, b) => a.name.localeCompare(b.name));
  }
}
