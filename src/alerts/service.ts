/**
 * Alerts for maintenance crews: rule evaluation after every group commit (evaluate.ts and
 * conditions/), the lifecycle (lifecycle.ts, pure) kept through the repositories (one
 * unresolved alert per rule and device, re-open instead of flapping), silences, the sweep
 * for time passing, and delivery: SSE listeners, MQTT alerts/{site}/{device}, webhooks from
 * a persistent outbox, and the notifier's escalation policies and channels.
 */
import { ulid } from 'ulid';
import type { Logger } from 'pino';
import type { Db } from '../storage/database.js';
import type { Entry } from '../ingest/committer.js';
import type { Device, DeviceRegistry } from '../registry/devices.js';
import type { DeviceEventRecord, Reading } from '../core/types.js';
import type { Metrics } from '../metrics.js';
import type { DeviceModel } from '../core/model.js';
import { metricDef } from '../core/vocabulary.js';
import { advance, initialState, quiet, relevant, renderMessage, type Advance, type AlertInput, type DeviceContext, type EvalContext, type RuleState, type Transition } from './evaluate.js';
import type { Rule, RulesFile, Severity } from './rules.js';
import { WebhookOutbox, type WebhookConfig } from './webhooks.js';
import type { Notifier } from '../notify/notifier.js';
import type { AlertView } from '../notify/message.js';
import type { StatsAlert } from './stats.js';
import { conditionType } from './conditions/index.js';
import { offlineAt } from '../core/presence.js';
import { siteWithin } from '../core/sites.js';
import { type Alert, type AlertStatus, AlertError, REOPEN_WITHIN_MS, acknowledged, assigned, autoResolved, noted, opened, reopened, repeated, resolvedBy } from './lifecycle.js';
import type { AlertQuery, AlertRepositories, Silence } from './repositories.js';
import { sqliteAlertRepositories, sqliteWebhookOutbox } from './sqlite-repositories.js';
import { ClusterAlerts } from './cluster-alerts.js';
import type { PostgresAlertStore } from './postgres-repositories.js';

export { AlertError, type Alert, type AlertStatus } from './lifecycle.js';
export type { Silence } from './repositories.js';

export const ALERT_EVENTS = ['alert.opened', 'alert.updated', 'alert.acknowledged', 'alert.assigned', 'alert.resolved'] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];
const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, major: 1, minor: 2, warning: 3 };

export function alertJson(a: Alert) {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    id: a.id, rule: a.rule, severity: a.severity, status: a.status, deviceId: a.deviceId, kind: a.kind, site: a.site,
    metric: a.metric, value: a.value, threshold: a.threshold, message: a.message,
    openedAt: iso(a.openedAt), lastSeenAt: iso(a.lastSeenAt), occurrences: a.occurrences,
    acknowledgedAt: iso(a.acknowledgedAt), acknowledgedBy: a.acknowledgedBy, assignee: a.assignee,
    resolvedAt: iso(a.resolvedAt), resolvedBy: a.resolvedBy, resolution: a.resolution,
    notes: a.notes.map((n) => ({ at: iso(n.at), by: n.by, text: n.text })), silenced: a.silenced,
    escalation: a.escalation ?? null, notifications: a.notifications ?? [],
  };
}

/** openedAt and lastSeenAt are never null: the view channel messages are written from */
const viewOf = (a: Alert): AlertView => alertJson(a) as AlertView;

export interface AlertServiceDeps {
  db: Db;
  registry: DeviceRegistry;
  rules: RulesFile;
  getModel: (id: string) => DeviceModel | undefined;
  publish: (topic: string, payload: string, retain?: boolean) => void;
  webhooks: WebhookConfig[];
  retry: { initialMs: number; maxMs: number; timeoutMs: number };
  metrics: Metrics;
  log: Logger;
  clock: () => number;
  /** the sweep's period: offline alerts fire within this of a device's deadline */
  sweepMs?: number;
  /** a device's expected report interval (wired devices: their poll interval); default: the model's */
  reportIntervalS?: (device: Device) => number;
  /** cluster mode: the sweep and webhook delivery run only while this is true (cluster/leader.ts) */
  isLeader?: () => boolean;
  /** escalation policies and channels (notify.channels / notify.policies) */
  notifier?: Notifier;
  /** where alerts, rule states and silences are kept; default: SQLite in `db` */
  repositories?: AlertRepositories;
  /**
   * Writes changed rule states (null: delete) off the event loop, e.g. on the store's writer
   * thread; without it they are written on this connection. With thousands of devices a
   * second's changed states are thousands of rows, and a transaction on this connection also
   * waited for the writer thread's lock while the event loop stood still.
   */
  saveStates?: (rows: Array<[rule: string, deviceId: string, state: string | null]>) => Promise<void>;
  /**
   * cluster mode (cluster.postgres.url): readings, and the leader's sweep, are evaluated in
   * PostgreSQL under a lock per (rule, device) (cluster-alerts.ts), webhooks go through the shared outbox (the leader
   * delivers), other nodes' events reach this node's listeners (SSE) through LISTEN/NOTIFY;
   * each event is also mirrored into this node's SQLite so the REST reads see it
   */
  cluster?: { store: PostgresAlertStore; nodeId: string; url: string };
}

type Listener = (event: AlertEvent, alert: Alert) => void;

/** a kind's rules, and per input name which of them it concerns (AlertService.maskOf) */
interface KindPlan {
  rules: Rule[];
  numeric: Map<string, Uint8Array>;
  other: Map<string, Uint8Array>;
  events: Map<string, Uint8Array>;
}
const MAX_CACHED_NAMES = 1000;
/** what quiet() is asked about a device without a state: the initial state is inactive */
const PRISTINE: RuleState = { active: false, conds: [] };

/** a rule's state for one device, and the JSON last written of it (unchanged states are not written again) */
interface Slot {
  readonly rule: Rule;
  readonly deviceId: string;
  state: RuleState | undefined;
  saved: string | undefined;
}

function findSlot(slots: Slot[] | undefined, rule: Rule): Slot | undefined {
  if (slots) for (let i = 0; i < slots.length; i++) if (slots[i]!.rule === rule) return slots[i];
  return undefined;
}

export class AlertService {
  private readonly rules: Rule[];
  private readonly unresolved = new Map<string, Alert>();
  /** per device, its rule states (one Slot per rule that has one) */
  private readonly slots = new Map<string, Slot[]>();
  /** states that may have changed since they were last written */
  private readonly dirty = new Set<Slot>();
  private readonly listeners = new Set<Listener>();
  private readonly statusPublished = new Map<string, boolean>();
  private silences: Silence[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** inside a batch: what to announce once its transaction has committed */
  private pending: Array<[AlertEvent, Alert]> | undefined;
  private gaugeDirty = false;
  readonly outbox: WebhookOutbox;
  private readonly repos: AlertRepositories;
  private readonly cluster: ClusterAlerts | undefined;
  /** cluster mode: one evaluation at a time per node, in commit order */
  private clusterChain: Promise<unknown> = Promise.resolve();
  private stopFeed: (() => Promise<void>) | undefined;
  private delivering = false;
  /** cluster mode: the sweep pass in progress on the shared state (one at a time) */
  private sweeping: Promise<void> | undefined;
  private sweepFailing = false;
  /** cluster mode: the rules with a no_data condition (their events move devices/{id}/status) */
  private readonly offlineRules: Set<string>;

  constructor(private readonly deps: AlertServiceDeps) {
    this.rules = deps.rules.rules.filter((r) => r.enabled);
    this.offlineRules = new Set(this.rules.filter((r) => r.conditions.some((c) => c.type === 'no_data')).map((r) => r.id));
    this.outbox = new WebhookOutbox(sqliteWebhookOutbox(deps.db), deps.webhooks, deps.retry, deps.log.child({ component: 'webhooks' }), deps.clock, deps.isLeader, deps.metrics);
    this.repos = deps.repositories ?? sqliteAlertRepositories(deps.db);
    const c = deps.cluster;
    this.cluster = c && new ClusterAlerts({
      store: c.store, nodeId: c.nodeId, rules: deps.rules, deviceContext: (d) => this.deviceContext(d), webhooks: deps.webhooks,
      publish: (topic, payload) => deps.publish(topic, payload), clock: deps.clock,
      reportIntervalS: (d) => deps.reportIntervalS?.(d) ?? deps.getModel(d.model)?.reportIntervalS ?? 3600,
    });
    this.cluster?.onEvent((event, a) => this.mirror(event, a));
  }

  /** cluster mode: a committed event (this node's or another's) into the local copy and to the listeners */
  private mirror(event: AlertEvent | undefined, a: Alert): void {
    try {
      const key = `${a.rule}\u0000${a.deviceId}`;
      const prev = this.unresolved.get(key);
      // the copy follows the shared table: an older unresolved copy was resolved elsewhere
      // (its event missed while this node was down); SQLite's one-unresolved index needs it closed first
      if (prev && prev.id !== a.id && a.status !== 'resolved') this.repos.alerts.save({ ...prev, status: 'resolved', resolvedAt: a.openedAt, resolvedBy: 'gateway', resolution: 'auto' });
      if (a.status === 'resolved') { if (prev?.id === a.id) this.unresolved.delete(key); } else this.unresolved.set(key, a);
      this.repos.alerts.save(a);
      this.updateGauge();
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'copying a cluster alert into the local database failed');
    }
    if (event === undefined) return;
    for (const l of this.listeners) {
      try { l(event, a); } catch (err) { this.deps.log.error({ err }, 'alert listener failed'); }
    }
  }

  /** cluster mode: follow other nodes' alert events and the shared silences */
  async startCluster(): Promise<void> {
    if (!this.cluster || !this.deps.cluster) return;
    await this.cluster.loadSilences();
    this.stopFeed = await this.cluster.feed(this.deps.cluster.url);
    // listening first, then the shared unresolved alerts: what changed while this node was down
    const shared = await this.deps.cluster.store.unresolved();
    const ids = new Set(shared.map((a) => a.id));
    // the copy follows the shared table: a copy unresolved here alone was resolved elsewhere
    // meanwhile, or (an older wave) opened by this node's own sweep into SQLite only; closed
    // first, since SQLite keeps one unresolved alert per (rule, device) too
    for (const local of this.repos.alerts.unresolved()) {
      if (ids.has(local.id)) continue;
      const row = await this.deps.cluster.store.get(local.id);
      this.repos.alerts.save(row?.status === 'resolved' ? row : { ...local, status: 'resolved', resolvedAt: this.deps.clock(), resolvedBy: 'gateway', resolution: 'auto' });
    }
    for (const a of shared) this.mirror(undefined, a);
  }

  get activeRules(): readonly Rule[] { return this.rules; }

  onEvent(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  start(): void {
    // cluster mode: startCluster filled it from the shared table; a local row unresolved there
    // alone (an older wave's sweep wrote SQLite) must not keep the shared sweep from a device
    if (!this.cluster) for (const a of this.repos.alerts.unresolved()) this.unresolved.set(`${a.rule}\u0000${a.deviceId}`, a);
    const enabled = new Map(this.rules.map((r) => [r.id, r]));
    for (const r of this.repos.states.all()) {
      // a disabled rule's state stays in the database, untouched, until the rule is back
      const rule = enabled.get(r.rule);
      if (!rule) continue;
      const slot = this.slotOf(rule, r.deviceId);
      slot.state = JSON.parse(r.json) as RuleState;
      slot.saved = r.json;
    }
    this.silences = this.repos.silences.all();
    this.updateGauge();
    this.outbox.start();
    this.deps.notifier?.start();
    const period = this.deps.sweepMs ?? 1000;
    this.timer = setInterval(() => this.sweep(), period);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
    await this.clusterChain;
    await this.stopFeed?.();
    await this.flushing;
    await this.flushStates();
    await this.outbox.stop();
    await this.deps.notifier?.stop();
  }

  private deviceContext(d: Device): DeviceContext {
    const model = this.deps.getModel(d.model);
    const reportIntervalS = this.deps.reportIntervalS?.(d) ?? model?.reportIntervalS ?? 3600;
    return { id: d.id, kind: d.kind, site: d.site, attributes: d.attributes, lastSeen: d.lastSeen, createdAt: d.createdAt, reportIntervalS, lowBatteryV: model?.lowBatteryV };
  }

  /**
   * A device's slot for a rule, made on first use. One map lookup per device and a short
   * scan of its own rules, where a `${rule}\u0000${device}` key per (rule, device) was looked
   * up in maps of every device's states (with thousands of devices, a good part of the rule
   * loop, and a key string, a map entry and a saved copy per state in memory).
   */
  private slotOf(rule: Rule, deviceId: string, slots = this.slotsOf(deviceId)): Slot {
    const found = findSlot(slots, rule);
    if (found) return found;
    const slot: Slot = { rule, deviceId, state: undefined, saved: undefined };
    slots.push(slot);
    return slot;
  }

  private slotsOf(deviceId: string): Slot[] {
    let slots = this.slots.get(deviceId);
    if (slots === undefined) this.slots.set(deviceId, (slots = []));
    return slots;
  }

  private readonly byKind = new Map<string, Rule[]>();
  private rulesFor(kind: string): Rule[] {
    let rules = this.byKind.get(kind);
    if (!rules) this.byKind.set(kind, (rules = this.rules.filter((r) => !r.kinds || r.kinds.includes(kind as never))));
    return rules;
  }

  private readonly plans = new Map<string, KindPlan>();
  private planFor(kind: string): KindPlan {
    let plan = this.plans.get(kind);
    if (!plan) this.plans.set(kind, (plan = { rules: this.rulesFor(kind), numeric: new Map(), other: new Map(), events: new Map() }));
    return plan;
  }

  // Per message the service evaluates in place through these, one message at a time (the
  // conditions keep no reference to an input or a context): nothing is allocated per
  // message for inputs that concern no rule, or for rules that stay as they were.
  private readonly msgInput = { type: 'event' as const, event: { deviceId: '', type: '$message', ts: 0, data: {} } as DeviceEventRecord };
  private readonly readingInput: { type: 'reading'; reading: Reading } = { type: 'reading', reading: undefined as unknown as Reading };
  private readonly eventInput: { type: 'event'; event: DeviceEventRecord } = { type: 'event', event: undefined as unknown as DeviceEventRecord };
  private readonly ctx: EvalContext = { device: { id: '', kind: '', site: '', attributes: {}, lastSeen: null, createdAt: 0, reportIntervalS: 0 }, sites: {} };
  private readonly adv: Advance = { transition: undefined, changed: false };
  private readonly masks: Uint8Array[] = [];

  /** the shared context, filled for this device */
  private contextOf(d: Device): EvalContext {
    const model = this.deps.getModel(d.model);
    const c = this.ctx.device;
    c.id = d.id; c.kind = d.kind; c.site = d.site; c.attributes = d.attributes; c.lastSeen = d.lastSeen; c.createdAt = d.createdAt;
    c.reportIntervalS = this.deps.reportIntervalS?.(d) ?? model?.reportIntervalS ?? 3600;
    c.lowBatteryV = model?.lowBatteryV;
    this.ctx.sites = this.deps.rules.sites;
    return this.ctx;
  }

  /**
   * Runs fn in one SQLite transaction (one fsync for all the alerts a group commit or a sweep
   * opens, updates or resolves, instead of one each on the event loop) and announces the
   * changes (SSE, MQTT, webhook pump) only after it has committed.
   */
  private inBatch(fn: () => void, onWrite = false): void {
    if (this.pending) return fn();
    this.pending = [];
    const done = this.pending;
    try {
      // a group commit's evaluation writes only through save(), which opens the transaction
      // before its first write; the sweep's writes (the notifier's steps) go other ways too
      if (onWrite && this.repos.transactionOnWrite) {
        this.repos.transactionOnWrite((write) => {
          this.beforeWrite = write;
          try { fn(); } finally { this.beforeWrite = undefined; }
        });
      } else this.repos.transaction(fn);
    } finally {
      this.pending = undefined;
      if (this.gaugeDirty) this.updateGauge();
    }
    for (const [event, a] of done) this.announce(event, a);
  }

  /** inside inBatch(fn, true): opens its transaction (once) before the first write */
  private beforeWrite: (() => void) | undefined;

  /** Post-commit listener: every committed reading and event, in time order per device. */
  onCommitted(entries: Entry[]): void {
    if (this.cluster) return this.evaluateInCluster(entries);
    this.inBatch(() => this.evaluateEntries(entries), true);
  }

  private evaluateInCluster(entries: Entry[]): void {
    const batch: Array<{ device: Device; inputs: AlertInput[] }> = [];
    for (const e of entries) {
      if (e.deviceId === undefined) continue;
      const device = this.deps.registry.get(e.deviceId);
      if (!device) continue;
      const inputs: AlertInput[] = [{ type: 'event', event: { deviceId: device.id, type: '$message', ts: e.receivedAt, data: {} } }];
      for (const r of e.readings.length > 1 ? [...e.readings].sort((a, b) => a.ts - b.ts) : e.readings) inputs.push({ type: 'reading', reading: r });
      for (const ev of e.events) inputs.push({ type: 'event', event: ev });
      batch.push({ device, inputs });
      if (this.statusPublished.get(device.id) !== true) this.publishStatus(device, true);
    }
    const cluster = this.cluster!;
    this.clusterChain = this.clusterChain.then(() => cluster.evaluate(batch)).then((events) => {
      // the offline alert resolved here, wherever the sweep opened it: the retained status follows
      for (const [event, a] of events) {
        const device = event === 'alert.resolved' && this.offlineRules.has(a.rule) ? this.deps.registry.get(a.deviceId) : undefined;
        if (device) this.publishStatus(device, true);
      }
    }).catch((err: Error) => {
      // the readings are committed and acknowledged; their alert evaluation is lost (logged)
      this.deps.log.error({ err: err.message, messages: entries.length }, 'cluster alert evaluation failed');
    });
  }

  private evaluateEntries(entries: Entry[]): void {
    for (const e of entries) {
      if (e.deviceId === undefined) continue;
      const device = this.deps.registry.get(e.deviceId);
      if (!device) continue;
      const readings = e.readings.length > 1 ? [...e.readings].sort((a, b) => a.ts - b.ts) : e.readings;
      this.run(device, e.receivedAt, readings, e.events);
      if (this.statusPublished.get(device.id) !== true) this.publishStatus(device, true);
    }
  }

  /**
   * One message's inputs, in order: the `$message` event, its readings by time, its events.
   * Rule by rule as before (a rule's inputs in that order); which rules an input concerns is
   * cached per kind on what `concerns` may look at (conditions/types.ts), and a rule's state
   * is looked up, and the device context filled, only when an input concerns it.
   */
  private run(device: Device, receivedAt: number, readings: Reading[], events: DeviceEventRecord[]): void {
    const plan = this.planFor(device.kind);
    const rules = plan.rules;
    const msg = this.msgInput;
    msg.event.deviceId = device.id;
    msg.event.ts = receivedAt;
    const n = 1 + readings.length + events.length;
    const masks = this.masks;
    masks.length = n;
    masks[0] = this.maskOf(plan.events, '$message', rules, msg);
    for (let j = 0; j < readings.length; j++) {
      const r = readings[j]!;
      this.readingInput.reading = r;
      masks[1 + j] = this.maskOf(typeof r.value === 'number' ? plan.numeric : plan.other, r.metric, rules, this.readingInput);
    }
    for (let j = 0; j < events.length; j++) {
      this.eventInput.event = events[j]!;
      masks[1 + readings.length + j] = this.maskOf(plan.events, events[j]!.type, rules, this.eventInput);
    }
    let ctx: EvalContext | undefined;
    let slots: Slot[] | undefined;
    const out = this.adv;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      let slot: Slot | undefined;
      let looked = false;
      for (let j = 0; j < n; j++) {
        if (masks[j]![i] === 0) continue;
        let input: AlertInput;
        if (j === 0) input = msg;
        else if (j <= readings.length) { this.readingInput.reading = readings[j - 1]!; input = this.readingInput; }
        else { this.eventInput.event = events[j - 1 - readings.length]!; input = this.eventInput; }
        if (!looked) { slot = findSlot((slots ??= this.slots.get(device.id)), rule); looked = true; }
        // e.g. a message of a device that is not offline, a good reading for the fault rule
        // (no state yet is the initial state: inactive)
        if (quiet(rule, input, slot?.state ?? PRISTINE)) continue;
        ctx ??= this.contextOf(device);
        slot = this.stepRule(rule, device.id, slot, input, ctx);
        if (out.transition) this.apply(rule, device, out.transition, input.type === 'reading' ? input.reading.ts : input.event.ts);
      }
    }
    // the scratch inputs keep no reading or event alive after the message
    this.readingInput.reading = undefined as unknown as Reading;
    this.eventInput.event = undefined as unknown as DeviceEventRecord;
  }

  /** per rule, an initial state to step when a device has none (kept while stepping leaves it initial) */
  private readonly pristine = new Map<Rule, RuleState>();

  /**
   * One input for one rule and device, into this.adv. A state that stepping leaves as the
   * rule's initial one is not kept (nor written): most (rule, device) pairs never leave it
   * (a device that is not offline, a pH inside its range), and a missing state is the
   * initial one, in memory as after a restart.
   */
  private stepRule(rule: Rule, deviceId: string, slot: Slot | undefined, input: AlertInput, ctx: EvalContext): Slot | undefined {
    const out = this.adv;
    const state = slot?.state;
    if (state !== undefined) {
      advance(rule, input, state, ctx, out);
      if (out.changed) this.dirty.add(slot!);
      return slot;
    }
    let fresh = this.pristine.get(rule);
    if (fresh === undefined) this.pristine.set(rule, (fresh = initialState(rule)));
    advance(rule, input, fresh, ctx, out);
    if (!out.changed) return slot;
    this.pristine.delete(rule);
    slot ??= this.slotOf(rule, deviceId);
    slot.state = fresh;
    this.dirty.add(slot);
    return slot;
  }

  /** which of the kind's rules an input concerns (1 per rule index), computed once per metric / event type */
  private maskOf(cache: Map<string, Uint8Array>, name: string, rules: Rule[], input: AlertInput): Uint8Array {
    let mask = cache.get(name);
    if (mask === undefined) {
      mask = new Uint8Array(rules.length);
      for (let i = 0; i < rules.length; i++) mask[i] = relevant(rules[i]!, input) ? 1 : 0;
      // metrics and event types come from the decoders (the vocabulary); a codec's own event
      // types are bounded only by the codec, so past this many they are not cached
      if (cache.size < MAX_CACHED_NAMES) cache.set(name, mask);
    }
    return mask;
  }

  /** Time passing: offline deadlines, doors held open, rate windows expiring; states saved. */
  sweep(): void {
    if (this.deps.isLeader && !this.deps.isLeader()) return;
    if (this.cluster && !this.delivering) {
      this.delivering = true;
      void this.cluster.deliverWebhooks(this.deps.retry.timeoutMs).catch((err: Error) => this.deps.log.error({ err: err.message }, 'webhook delivery from the shared outbox failed'))
        .finally(() => { this.delivering = false; });
    }
    if (this.cluster && !this.sweeping) {
      this.sweeping = this.sweepCluster(this.cluster).then(() => {
        if (this.sweepFailing) this.deps.log.info('the sweep on the shared alert state works again');
        this.sweepFailing = false;
      }, (err: Error) => {
        // PostgreSQL away: once per outage, not once a second
        if (!this.sweepFailing) this.deps.log.error({ err: err.message }, 'the sweep on the shared alert state failed; retrying each period');
        this.sweepFailing = true;
      }).finally(() => { this.sweeping = undefined; });
    }
    try {
      this.inBatch(() => {
        if (!this.cluster) this.sweepDevices();
        this.deps.notifier?.tick((id) => {
          const a = this.get(id);
          // a silence made after the alert opened (from the board) holds its later steps too
          return a ? { alert: { ...a, silenced: a.silenced || this.silencedFor(a) }, view: viewOf(a) } : undefined;
        });
      });
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'saving alerts of the sweep failed; will retry');
    }
    try {
      this.flushStates();
    } catch (err) {
      // disk full, database locked: the states stay dirty in memory and are written next time
      this.deps.log.error({ err: (err as Error).message }, 'saving rule states failed; will retry');
    }
  }

  /**
   * cluster mode: time passing on the shared state (ClusterAlerts.sweep, under the pairs'
   * locks); the events reach this node's copy and listeners through onEvent, the other nodes'
   * through NOTIFY. Offline opens publish the retained devices/{id}/status once, here.
   */
  private async sweepCluster(cluster: ClusterAlerts): Promise<void> {
    const { events } = await cluster.sweep(this.deps.clock(), this.deps.registry, (rule, deviceId) => this.unresolved.has(`${rule}\u0000${deviceId}`));
    for (const [event, a] of events) {
      const device = event === 'alert.opened' && this.offlineRules.has(a.rule) ? this.deps.registry.get(a.deviceId) : undefined;
      if (device) this.publishStatus(device, false);
    }
  }

  /** per kind, the rules a tick concerns and whether each is an offline rule (rules never change at run time) */
  private readonly tickRules = new Map<string, Array<{ rule: Rule; offline: boolean }>>();

  private sweepDevices(): void {
    const now = this.deps.clock();
    const tick: AlertInput = { type: 'tick', now };
    // every device every second: the cheap pre-checks come first and allocate nothing, since
    // most devices have nothing pending (with 5 000 devices this loop was 7 % of the main thread)
    for (const device of this.deps.registry.all()) {
      let rules = this.tickRules.get(device.kind);
      if (!rules) this.tickRules.set(device.kind, (rules = this.rulesFor(device.kind).filter((r) => relevant(r, tick)).map((rule) => ({ rule, offline: rule.conditions.some((c) => c.type === 'no_data') }))));
      let ctx: EvalContext | undefined;
      for (const { rule, offline } of rules) {
        // presence first (no key, no state lookup, no context): most devices are not overdue
        if (offline && now <= offlineAt(device, this.deps.reportIntervalS?.(device) ?? this.deps.getModel(device.model)?.reportIntervalS)) continue;
        let slot = findSlot(this.slots.get(device.id), rule);
        const state = slot?.state;
        if (offline && state?.active) continue;
        if (!offline && !state?.conds.some((s, i) => conditionType(rule.conditions[i]!).waiting?.(s as never))) continue;
        ctx ??= this.contextOf(device);
        slot = this.stepRule(rule, device.id, slot, tick, ctx);
        if (this.adv.transition) this.apply(rule, device, this.adv.transition, now);
        if (offline && slot?.state?.active) this.publishStatus(device, false);
      }
    }
    for (const [id, a] of this.unresolved) if (!this.deps.registry.get(a.deviceId)) this.unresolved.delete(id);
    if (this.slots.size > this.deps.registry.size) for (const id of this.slots.keys()) if (!this.deps.registry.get(id)) this.slots.delete(id);
  }

  /** the asynchronous state write in progress (saveStates): one at a time */
  private flushing: Promise<void> | undefined;

  private flushStates(): Promise<void> | undefined {
    if (this.dirty.size === 0 || this.flushing) return this.flushing;
    const writes: Array<[Slot, string | undefined]> = [];
    for (const slot of this.dirty) {
      const json = slot.state ? JSON.stringify(slot.state) : undefined;
      if (json !== slot.saved) writes.push([slot, json]);
    }
    if (writes.length === 0) { this.dirty.clear(); return undefined; }
    if (this.deps.saveStates) {
      this.dirty.clear();
      const rows = writes.map(([slot, json]) => [slot.rule.id, slot.deviceId, json ?? null] as [string, string, string | null]);
      this.flushing = this.deps.saveStates(rows).then(
        () => { for (const [slot, json] of writes) slot.saved = json; },
        (err: Error) => {
          // disk full, database locked: written with the next sweep
          for (const [slot] of writes) this.dirty.add(slot);
          this.deps.log.error({ err: err.message }, 'saving rule states failed; will retry');
        },
      ).finally(() => { this.flushing = undefined; });
      return this.flushing;
    }
    this.repos.states.write(writes.map(([slot, json]) => ({ rule: slot.rule.id, deviceId: slot.deviceId, json })));
    // only once the transaction has committed
    for (const [slot, json] of writes) slot.saved = json;
    this.dirty.clear();
    return undefined;
  }

  private publishStatus(device: Device, online: boolean): void {
    this.statusPublished.set(device.id, online);
    this.deps.publish(`devices/${device.id}/status`, JSON.stringify({ online, lastSeen: device.lastSeen === null ? null : new Date(device.lastSeen).toISOString() }), true);
  }

  /** whether a silence in force holds this alert (cluster mode: the shared list; the notifier's steps ask too) */
  silencedFor(a: { rule: string; deviceId: string; site: string }): boolean {
    const now = this.deps.clock();
    return (this.cluster?.silenceList ?? this.silences).some((s) => s.until > now && (s.match.rule === undefined || s.match.rule === a.rule)
      && (s.match.device === undefined || s.match.device === a.deviceId)
      // an empty prefix here names the alerts without a site, not the whole estate
      && (s.match.site === undefined || a.site === s.match.site || (s.match.site.replace(/\/+$/, '') !== '' && siteWithin(a.site, s.match.site))));
  }

  private apply(rule: Rule, device: Device, t: Transition, ts: number): void {
    const key = `${rule.id}\u0000${device.id}`;
    const now = this.deps.clock();
    const cur = this.unresolved.get(key);
    const message = (metric: string | null, value: unknown, threshold: unknown) => renderMessage(rule.message, {
      device: device.name ?? device.id, site: device.site || '-', value, threshold, metric, unit: metric ? metricDef(metric)?.unit ?? '' : '',
    });
    if (t.type === 'resolve') {
      if (!cur) return;
      const a = autoResolved(cur, now);
      this.observeResolved(a);
      this.unresolved.delete(key);
      this.save(a, 'alert.resolved');
      return;
    }
    if (cur) {
      const a = repeated(cur, t, message, now);
      this.unresolved.set(key, a);
      this.save(a, 'alert.updated');
      return;
    }
    if (t.type === 'repeat') return;
    const recent = this.repos.alerts.recentlyResolved(rule.id, device.id, now - REOPEN_WITHIN_MS);
    if (recent) {
      const a = reopened(recent, t, message(t.metric, t.value, t.threshold), now, this.silencedFor(recent));
      this.unresolved.set(key, a);
      this.save(a, 'alert.opened');
      return;
    }
    const a = opened({ id: ulid(now), rule, device, trigger: t, message: message(t.metric, t.value, t.threshold), now, silenced: this.silencedFor({ rule: rule.id, deviceId: device.id, site: device.site }) });
    this.unresolved.set(key, a);
    this.save(a, 'alert.opened');
    void ts;
  }

  private save(a: Alert, event: AlertEvent): void {
    this.beforeWrite?.();
    this.repos.alerts.save(a);
    // the webhook outbox row is written with the alert, in the same transaction
    if (!a.silenced) this.outbox.enqueue(event, a, JSON.stringify({ event, alert: alertJson(a) }));
    const n = this.deps.notifier;
    if (n?.enabled) {
      n.onEvent(event, a, viewOf(a));
      this.decorate(a);
    }
    this.gaugeDirty = true;
    // a snapshot: the alert may change again later in the same batch
    if (this.pending) this.pending.push([event, { ...a, notes: [...a.notes] }]);
    else {
      this.announce(event, a);
      this.updateGauge();
    }
  }

  private announce(event: AlertEvent, a: Alert): void {
    for (const l of this.listeners) {
      try { l(event, a); } catch (err) { this.deps.log.error({ err }, 'alert listener failed'); }
    }
    if (a.silenced) return; // recorded and on the board, not pushed to anyone
    this.deps.publish(`alerts/${a.site || '_'}/${a.deviceId}`, JSON.stringify(alertJson(a)));
  }

  private observeResolved(a: Alert): void {
    this.deps.metrics.alertResolveSeconds.observe({ rule: a.rule, severity: a.severity, resolution: a.resolution ?? 'auto' }, Math.max(0, (a.resolvedAt ?? a.openedAt) - a.openedAt) / 1000);
  }

  private updateGauge(): void {
    this.gaugeDirty = false;
    const counts = new Map<string, number>(this.rules.map((r) => [r.id, 0]));
    for (const a of this.unresolved.values()) counts.set(a.rule, (counts.get(a.rule) ?? 0) + 1);
    for (const [rule, n] of counts) this.deps.metrics.alertsOpen.set({ rule }, n);
  }

  // --- lifecycle actions (REST) ---

  get(id: string): Alert | undefined {
    for (const a of this.unresolved.values()) if (a.id === id) return this.decorate(a);
    const a = this.repos.alerts.get(id);
    return a ? this.decorate(a) : undefined;
  }

  private decorate(a: Alert): Alert {
    const n = this.deps.notifier;
    if (n?.enabled) {
      a.escalation = n.escalationOf(a.id);
      a.notifications = n.notificationsOf(a.id);
    }
    return a;
  }

  /**
   * cluster mode: `escalation` and `notifications` from the shared tables, which every node
   * reads alike (this node's SQLite has none); one node: as decorate() left them
   */
  async withNotifications(list: Alert[]): Promise<Alert[]> {
    const n = this.deps.notifier;
    if (!this.cluster || !n?.enabled || !n.isShared || list.length === 0) return list;
    const details = await n.sharedDetails(list.map((a) => a.id));
    return list.map((a) => ({ ...a, ...details.get(a.id) }));
  }

  /** the escalation policies in force (notify.policies) */
  get policies() { return this.deps.notifier?.policyList ?? []; }

  /** every rule of the rules file, enabled or not (silences may name a disabled one) */
  knowsRule(id: string): boolean {
    return this.deps.rules.rules.some((r) => r.id === id);
  }

  /** newest first (openedAt, then id) unless order asc; `after` continues a listing (keyset) */
  list(q: AlertQuery): Alert[] {
    // the in-memory copy of an unresolved alert may be ahead of its row within a batch
    return this.repos.alerts.list(q).map((a) => (a.status === 'resolved' ? this.decorate(a) : this.get(a.id) ?? a));
  }

  /** the alerts opened in [from, to) under a site prefix, for response-time statistics */
  statsAlerts(q: { site?: string; rule?: string[]; from?: number; to?: number }): StatsAlert[] {
    return this.repos.alerts.forStats(q);
  }

  private mustGet(id: string): Alert {
    const a = this.get(id);
    if (!a) throw new AlertError(404, `alert ${id} not found`);
    return a;
  }

  /** keeps the in-memory unresolved alert the same object the rest of the batch sees */
  private replace(a: Alert): void {
    const key = `${a.rule}\u0000${a.deviceId}`;
    if (this.unresolved.get(key)?.id === a.id) this.unresolved.set(key, a);
  }

  async acknowledge(id: string, by: string, note?: string): Promise<Alert> {
    if (this.cluster) {
      let first = false;
      const a = await this.cluster.act(id, 'alert.acknowledged', (cur) => { first = cur.acknowledgedAt === null; return acknowledged(cur, by, note, this.deps.clock()); });
      if (first) this.deps.metrics.alertAckSeconds.observe({ rule: a.rule, severity: a.severity }, Math.max(0, (a.acknowledgedAt ?? a.openedAt) - a.openedAt) / 1000);
      return a;
    }
    const cur = this.mustGet(id);
    const now = this.deps.clock();
    const a = acknowledged(cur, by, note, now);
    if (cur.acknowledgedAt === null) this.deps.metrics.alertAckSeconds.observe({ rule: a.rule, severity: a.severity }, Math.max(0, now - a.openedAt) / 1000);
    this.replace(a);
    this.save(a, 'alert.acknowledged');
    return a;
  }

  async resolve(id: string, by: string, note?: string): Promise<Alert> {
    if (this.cluster) {
      const a = await this.cluster.act(id, 'alert.resolved', (cur) => resolvedBy(cur, by, note, this.deps.clock()), true);
      this.observeResolved(a);
      return a;
    }
    const a = resolvedBy(this.mustGet(id), by, note, this.deps.clock());
    this.observeResolved(a);
    const key = `${a.rule}\u0000${a.deviceId}`;
    this.unresolved.delete(key);
    // the crew says it is fixed: the condition must be seen again to re-open it
    const rule = this.rules.find((r) => r.id === a.rule);
    const slot = rule && findSlot(this.slots.get(a.deviceId), rule);
    if (slot?.state) { slot.state = undefined; this.dirty.add(slot); }
    this.save(a, 'alert.resolved');
    return a;
  }

  async assign(id: string, assignee: string, by: string): Promise<Alert> {
    if (this.cluster) return this.cluster.act(id, 'alert.assigned', (cur) => assigned(cur, assignee, by, this.deps.clock()));
    const a = assigned(this.mustGet(id), assignee, by, this.deps.clock());
    this.replace(a);
    this.save(a, 'alert.assigned');
    return a;
  }

  async addNote(id: string, by: string, text: string): Promise<Alert> {
    if (this.cluster) return this.cluster.act(id, 'alert.updated', (cur) => noted(cur, by, text, this.deps.clock()));
    const a = noted(this.mustGet(id), by, text, this.deps.clock());
    this.replace(a);
    this.save(a, 'alert.updated');
    return a;
  }

  // --- silences ---
  // cluster mode: the shared table, every node's list reloaded on its NOTIFY (cluster-alerts.ts)
  listSilences(): Silence[] { return this.cluster ? this.cluster.listSilences() : [...this.silences]; }

  async addSilence(s: Omit<Silence, 'id' | 'createdAt'>): Promise<Silence> {
    const silence: Silence = { ...s, id: ulid(), createdAt: this.deps.clock() };
    if (this.cluster && this.deps.cluster) {
      await this.deps.cluster.store.insertSilence(silence);
      await this.cluster.loadSilences();
      this.silences = this.cluster.listSilences();
      return silence;
    }
    this.repos.silences.insert(silence);
    this.silences.push(silence);
    return silence;
  }

  async deleteSilence(id: string): Promise<void> {
    if (this.cluster && this.deps.cluster) {
      if (!(await this.deps.cluster.store.deleteSilence(id))) throw new AlertError(404, `silence ${id} not found`);
      await this.cluster.loadSilences();
      this.silences = this.cluster.listSilences();
      return;
    }
    if (!this.repos.silences.delete(id)) throw new AlertError(404, `silence ${id} not found`);
    this.silences = this.silences.filter((s) => s.id !== id);
  }
}
