/**
 * Alert evaluation for a cluster node (cluster.postgres.url): the same rules, evaluate() and
 * lifecycle as AlertService, but with the state of record in PostgreSQL and no per-node
 * cache of rule states or unresolved alerts to go stale. Each group commit's evaluation reads
 * the (rule, device) pairs it touches under their advisory locks (PostgresAlertStore.
 * evaluateLocked), so readings of one device arriving alternately on two nodes open one alert,
 * count its occurrences and resolve it once — the result one node would reach.
 *
 * Time passing (offline deadlines, doors held open, rate windows) is the leader's `sweep`:
 * candidates found in memory and by one query for the states marked `waiting`, then ticked
 * under the same locks, so a new leader continues from the shared state.
 *
 * Delivery: webhook rows go to the shared outbox in the same transaction and only the leader
 * delivers them (each webhook gets each event once); `alerts/{site}/{device}` is published
 * on the node that made the change (the broker carries it to consumers on every node through
 * Redis); other nodes learn of the change from ALERTS_CHANNEL (`feed`) and hand it to their
 * own listeners (SSE).
 *
 * The single-node path (AlertService on SQLite) does not use this: no extra round trip there.
 */
import { ulid } from 'ulid';
import type pg from 'pg';
import type { Device } from '../registry/devices.js';
import { metricDef } from '../core/vocabulary.js';
import { evaluate, initialState, relevant, renderMessage, type AlertInput, type DeviceContext, type RuleState, type Transition } from './evaluate.js';
import type { Rule, RulesFile } from './rules.js';
import { type Alert, AlertError, REOPEN_WITHIN_MS, autoResolved, opened, repeated, reopened } from './lifecycle.js';
import { ALERTS_CHANNEL, PostgresAlertStore, pairKey, type LockedChanges, type LockedView } from './postgres-repositories.js';
import { conditionType } from './conditions/index.js';
import { offlineAt, reportIntervalS } from '../core/presence.js';
import { sign, webhookMatches, type WebhookConfig } from './webhooks.js';
import { alertJson, type AlertEvent } from './service.js';
import type { Silence } from './repositories.js';
import { siteWithin } from '../core/sites.js';

export interface ClusterAlertsDeps {
  store: PostgresAlertStore;
  nodeId: string;
  rules: RulesFile;
  deviceContext: (d: Device) => DeviceContext;
  webhooks: WebhookConfig[];
  publish: (topic: string, payload: string) => void;
  clock: () => number;
  /** a device's expected report interval without building its context (the sweep's per-second pre-check) */
  reportIntervalS?: (d: Device) => number;
}

/** what the sweep reads of the registry (DeviceRegistry): last-seen as this node knows it */
export interface SweepDevices {
  all(): Iterable<Device>;
  get(id: string): Device | undefined;
}

/** one sweep pass: its committed events and what it cost */
export interface SweepResult {
  events: Array<[AlertEvent, Alert]>;
  /** (rule, device) pairs evaluated under their locks */
  locked: number;
  /** rows of the one query for waiting states */
  waiting: number;
}

/** a rule's no_data conditions: the smallest number of intervals (the first deadline) */
const offlineIntervals = (rule: Rule): number | undefined => {
  let n: number | undefined;
  for (const c of rule.conditions) if (c.type === 'no_data') n = Math.min(n ?? Infinity, c.intervals);
  return n;
};

/** does a tick have anything to do in this state (a door held open, a rate window)? */
export const waitingOn = (rule: Rule, state: RuleState): boolean =>
  rule.conditions.some((c, i) => state.conds[i] !== undefined && conditionType(c).waiting?.(state.conds[i] as never) === true);

/** at most this many pairs per sweep transaction (a whole site going offline at once) */
const SWEEP_CHUNK = 500;

type Listener = (event: AlertEvent, alert: Alert) => void;

export class ClusterAlerts {
  private readonly rules: Rule[];
  private readonly listeners = new Set<Listener>();
  private silences: Silence[] = [];
  private readonly byId: Map<string, Rule>;
  private readonly tickRules = new Map<string, Array<{ rule: Rule; intervals: number | undefined }>>();

  constructor(private readonly deps: ClusterAlertsDeps) {
    this.rules = deps.rules.rules.filter((r) => r.enabled);
    this.byId = new Map(this.rules.map((r) => [r.id, r]));
  }

  onEvent(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  async loadSilences(): Promise<void> { this.silences = await this.deps.store.silences(); }

  listSilences(): Silence[] { return [...this.silences]; }

  get silenceList(): readonly Silence[] { return this.silences; }

  /**
   * Evaluates one group commit (per device, inputs in reading order) in one transaction and
   * announces the committed events. Returns them, in order.
   */
  async evaluate(batch: Array<{ device: Device; inputs: AlertInput[] }>): Promise<Array<[AlertEvent, Alert]>> {
    const work: Array<{ device: Device; rule: Rule; inputs: AlertInput[] }> = [];
    for (const { device, inputs } of batch) {
      for (const rule of this.rules) {
        if (rule.kinds && !rule.kinds.includes(device.kind as never)) continue;
        const mine = inputs.filter((i) => relevant(rule, i));
        if (mine.length) work.push({ device, rule, inputs: mine });
      }
    }
    if (work.length === 0) return [];
    const now = this.deps.clock();
    const events = await this.deps.store.evaluateLocked(work.map((w) => ({ rule: w.rule.id, deviceId: w.device.id })), now - REOPEN_WITHIN_MS, (view) => this.run(work, view, now));
    for (const [event, a] of events) this.announce(event, a, true);
    return events;
  }

  /**
   * A lifecycle action from REST (acknowledge, assign, note, manual resolve) on the shared
   * alert, under the same (rule, device) lock as evaluation: `change` sees the alert as
   * committed (an AlertError from it, e.g. 409 resolved, rolls back and is rethrown).
   * `dropState`: a manual resolve forgets the rule state, so the condition must be seen again.
   */
  async act(id: string, event: AlertEvent, change: (cur: Alert) => Alert, dropState = false): Promise<Alert> {
    const before = await this.deps.store.get(id);
    if (!before) throw new AlertError(404, `alert ${id} not found`);
    const a = await this.deps.store.evaluateLocked([{ rule: before.rule, deviceId: before.deviceId }], 0, (view) => {
      const cur = view.byId.get(id);
      if (!cur) throw new AlertError(404, `alert ${id} not found`);
      const next = change(cur);
      return {
        changes: { states: dropState ? [{ rule: next.rule, deviceId: next.deviceId, json: undefined }] : [], events: [{ event, alert: next, outbox: this.outboxOf(event, next) }] },
        result: next,
      };
    }, [id]);
    this.announce(event, a, true);
    return a;
  }

  private outboxOf(event: AlertEvent, a: Alert): Array<{ channel: string; body: string }> {
    if (a.silenced) return [];
    const body = JSON.stringify({ event, alert: alertJson(a) });
    return [...new Set(this.deps.webhooks.filter((w) => webhookMatches(w, a)).map((w) => w.url))].map((url) => ({ channel: url, body }));
  }

  /** pure over the locked view: new states and lifecycle events */
  private run(work: Array<{ device: Device; rule: Rule; inputs: AlertInput[] }>, view: LockedView, now: number): { changes: LockedChanges; result: Array<[AlertEvent, Alert]> } {
    const changes: LockedChanges = { states: [], events: [] };
    const result: Array<[AlertEvent, Alert]> = [];
    for (const { device, rule, inputs } of work) {
      const key = pairKey(rule.id, device.id);
      const saved = view.states.get(key);
      let state: RuleState = saved === undefined ? initialState(rule) : (JSON.parse(saved) as RuleState);
      const ctx = { device: this.deps.deviceContext(device), sites: this.deps.rules.sites };
      let seen = -Infinity;
      for (const input of inputs) {
        // the receiving node's clock: a reading's own ts may be the device's (ahead, or buffered)
        if (input.type === 'event' && input.event.type === '$message') seen = Math.max(seen, input.event.ts);
        const res = evaluate(rule, input, state, ctx);
        state = res.state;
        for (const t of res.transitions) {
          const out = this.apply(rule, device, t, view, now);
          if (!out) continue;
          const [event, a] = out;
          result.push([event, a]);
          changes.events.push({ event, alert: a, outbox: this.outboxOf(event, a) });
        }
      }
      const json = JSON.stringify(state);
      const waiting = waitingOn(rule, state);
      const meta = view.meta.get(key);
      // offline rules: the message's time under the lock, for a sweep whose last-seen lags.
      // Refreshed once per half interval, not per message: the sweep's deadline is 3
      // intervals, so a seen_at up to half an interval old cannot make a live device offline
      let seenAt: number | undefined;
      if (offlineIntervals(rule) !== undefined && seen > -Infinity) {
        const halfMs = reportIntervalS(device.attributes, ctx.device.reportIntervalS) * 500;
        if (meta?.seenAt == null || meta.seenAt < seen - halfMs) seenAt = seen;
      }
      if (json !== saved || waiting !== (meta?.waiting ?? false) || seenAt !== undefined) changes.states.push({ rule: rule.id, deviceId: device.id, json, waiting, seenAt });
    }
    return { changes, result };
  }

  /**
   * The leader's sweep on the shared state: time passing (offline deadlines, doors held
   * open, rate windows). Candidates are found without a lock: offline pairs from this node's
   * last-seen (synced each second) unless `isOpen` (the node's copy of the unresolved alerts,
   * kept from the events and the feed); waiting pairs from one query, kept only when a tick
   * would change them (evaluate() on the committed state, pure). Each candidate is then
   * evaluated under its (rule, device) lock exactly as a reading is, on the state read inside
   * the transaction — so two sweeping nodes (a lease overlap) or a reading on another node at
   * the same moment serialize, and a new leader continues from what the old one committed.
   * A device with a fresh last-seen and nothing waiting costs no SQL.
   */
  async sweep(now: number, devices: SweepDevices, isOpen: (rule: string, deviceId: string) => boolean): Promise<SweepResult> {
    const tick: AlertInput = { type: 'tick', now };
    const cands = new Map<string, { device: Device; rule: Rule }>();
    for (const device of devices.all()) {
      let rules = this.tickRules.get(device.kind);
      if (!rules) {
        rules = this.rules.filter((r) => (!r.kinds || r.kinds.includes(device.kind as never)) && relevant(r, tick)).map((rule) => ({ rule, intervals: offlineIntervals(rule) }));
        this.tickRules.set(device.kind, rules);
      }
      for (const { rule, intervals } of rules) {
        if (intervals === undefined) continue;
        const interval = this.deps.reportIntervalS?.(device) ?? this.deps.deviceContext(device).reportIntervalS;
        if (now <= offlineAt(device, interval, intervals)) continue;
        const key = pairKey(rule.id, device.id);
        // alerted already (and a crew's resolve of a still silent device re-opens, as on one node)
        if (isOpen(rule.id, device.id)) continue;
        cands.set(key, { device, rule });
      }
    }
    const waiting = await this.deps.store.waitingStates();
    for (const w of waiting) {
      const key = pairKey(w.rule, w.deviceId);
      if (cands.has(key)) continue;
      const rule = this.byId.get(w.rule);
      const device = devices.get(w.deviceId);
      // a disabled rule's or a deleted device's state: nothing to evaluate it with
      if (!rule || !device || (rule.kinds && !rule.kinds.includes(device.kind as never)) || !relevant(rule, tick)) continue;
      const state = JSON.parse(w.state) as RuleState;
      const res = evaluate(rule, tick, state, { device: this.contextSeen(device, w.seenAt), sites: this.deps.rules.sites });
      // still waiting and unchanged (the door is still open, not yet long enough): no lock
      if (res.transitions.length === 0 && waitingOn(rule, res.state) && JSON.stringify(res.state) === w.state) continue;
      cands.set(key, { device, rule });
    }
    const out: SweepResult = { events: [], locked: cands.size, waiting: waiting.length };
    const list = [...cands.values()];
    for (let i = 0; i < list.length; i += SWEEP_CHUNK) {
      const chunk = list.slice(i, i + SWEEP_CHUNK);
      const events = await this.deps.store.evaluateLocked(chunk.map((w) => ({ rule: w.rule.id, deviceId: w.device.id })), now - REOPEN_WITHIN_MS,
        (view) => this.runTick(chunk, view, tick));
      for (const [event, a] of events) this.announce(event, a, true);
      out.events.push(...events);
    }
    return out;
  }

  private contextSeen(device: Device, seenAt: number | null | undefined): DeviceContext {
    const ctx = this.deps.deviceContext(device);
    return seenAt != null && (ctx.lastSeen === null || seenAt > ctx.lastSeen) ? { ...ctx, lastSeen: seenAt } : ctx;
  }

  /** pure over the locked view: one tick per pair on its committed state */
  private runTick(work: Array<{ device: Device; rule: Rule }>, view: LockedView, tick: AlertInput & { type: 'tick' }):
    { changes: LockedChanges; result: Array<[AlertEvent, Alert]> } {
    const changes: LockedChanges = { states: [], events: [] };
    const events: Array<[AlertEvent, Alert]> = [];
    for (const { device, rule } of work) {
      const key = pairKey(rule.id, device.id);
      const saved = view.states.get(key);
      const meta = view.meta.get(key);
      const state: RuleState = saved === undefined ? initialState(rule) : (JSON.parse(saved) as RuleState);
      // last-seen as fresh as the locked row knows it: a message evaluated on another node a
      // moment ago, before this node's copy of last-seen caught up
      const res = evaluate(rule, tick, state, { device: this.contextSeen(device, meta?.seenAt), sites: this.deps.rules.sites });
      for (const t of res.transitions) {
        const o = this.apply(rule, device, t, view, tick.now);
        if (!o) continue;
        events.push(o);
        changes.events.push({ event: o[0], alert: o[1], outbox: this.outboxOf(o[0], o[1]) });
      }
      const json = JSON.stringify(res.state);
      const waiting = waitingOn(rule, res.state);
      if (json !== saved || waiting !== (meta?.waiting ?? false)) changes.states.push({ rule: rule.id, deviceId: device.id, json, waiting });
    }
    return { changes, result: events };
  }

  private apply(rule: Rule, device: Device, t: Transition, view: LockedView, now: number): [AlertEvent, Alert] | undefined {
    const key = pairKey(rule.id, device.id);
    const cur = view.unresolved.get(key);
    const message = (metric: string | null, value: unknown, threshold: unknown) => renderMessage(rule.message, {
      device: device.name ?? device.id, site: device.site || '-', value, threshold, metric, unit: metric ? metricDef(metric)?.unit ?? '' : '',
    });
    if (t.type === 'resolve') {
      if (!cur) return undefined;
      const a = autoResolved(cur, now);
      view.unresolved.delete(key);
      view.recentlyResolved.set(key, a);
      return ['alert.resolved', a];
    }
    if (cur) {
      const a = repeated(cur, t, message, now);
      view.unresolved.set(key, a);
      return ['alert.updated', a];
    }
    if (t.type === 'repeat') return undefined;
    const recent = view.recentlyResolved.get(key);
    const a = recent
      ? reopened(recent, t, message(t.metric, t.value, t.threshold), now, this.silencedFor(recent))
      : opened({ id: ulid(now), rule, device, trigger: t, message: message(t.metric, t.value, t.threshold), now, silenced: this.silencedFor({ rule: rule.id, deviceId: device.id, site: device.site }) });
    view.unresolved.set(key, a);
    view.recentlyResolved.delete(key);
    return ['alert.opened', a];
  }

  private silencedFor(a: { rule: string; deviceId: string; site: string }): boolean {
    const now = this.deps.clock();
    return this.silences.some((s) => s.until > now && (s.match.rule === undefined || s.match.rule === a.rule)
      && (s.match.device === undefined || s.match.device === a.deviceId)
      && (s.match.site === undefined || a.site === s.match.site || (s.match.site.replace(/\/+$/, '') !== '' && siteWithin(a.site, s.match.site))));
  }

  private announce(event: AlertEvent, a: Alert, local: boolean): void {
    for (const l of this.listeners) {
      try { l(event, a); } catch { /* a listener's failure is its own */ }
    }
    // MQTT only from the node that made the change: the broker carries it to every node
    if (local && !a.silenced) this.deps.publish(`alerts/${a.site || '_'}/${a.deviceId}`, JSON.stringify(alertJson(a)));
  }

  /**
   * Listens on ALERTS_CHANNEL on its own connection: another node's committed events reach
   * this node's listeners (SSE) within a round trip; silence changes reload the list.
   * Returns a stop function.
   */
  async feed(connectionString: string): Promise<() => Promise<void>> {
    const { default: pgLib } = await import('pg');
    const client: pg.Client = new pgLib.Client({ connectionString });
    client.on('error', () => undefined);
    await client.connect();
    client.on('notification', (n) => {
      if (n.channel !== ALERTS_CHANNEL || !n.payload) return;
      let msg: { event?: string; id?: string; node?: string };
      try { msg = JSON.parse(n.payload) as typeof msg; } catch { return; }
      if (msg.event === 'silences') { void this.loadSilences().catch(() => undefined); return; }
      if (msg.node === this.deps.nodeId || !msg.id) return;
      const event = msg.event as AlertEvent;
      // the row as committed: later events of the same alert may already be in it, which is
      // what a board wants to show
      void this.deps.store.get(msg.id).then((a) => { if (a) this.announce(event, a, false); }, () => undefined);
    });
    await client.query(`LISTEN ${ALERTS_CHANNEL}`);
    return async () => { await client.end().catch(() => undefined); };
  }

  /** the leader's webhook delivery: one pass over the due rows of the shared outbox */
  async deliverWebhooks(timeoutMs = 5000): Promise<number> {
    const byUrl = new Map<string, WebhookConfig>();
    for (const w of this.deps.webhooks) if (!byUrl.has(w.url)) byUrl.set(w.url, w);
    return this.deps.store.deliverDue(100, async (rows) => {
      const done = new Map<number, boolean>();
      // per channel in id order, so one webhook sees an alert's events in the order they happened
      const failed = new Set<string>();
      for (const r of rows) {
        const w = byUrl.get(r.channel);
        if (failed.has(r.channel)) continue; // not tried: waits behind its channel's failed head
        if (!w) { done.set(r.id, false); continue; }
        try {
          const res = await fetch(w.url, { method: 'POST', body: r.body, signal: AbortSignal.timeout(timeoutMs),
            headers: { 'content-type': 'application/json', 'x-gateway-signature': sign(w.secret, r.body), 'x-gateway-delivery': String(r.id), 'x-gateway-event': r.event } });
          done.set(r.id, res.ok);
          if (!res.ok) failed.add(r.channel);
        } catch {
          done.set(r.id, false);
          failed.add(r.channel);
        }
      }
      return done;
    }, (attempts) => Math.min(60_000, 1000 * 2 ** attempts));
  }
}
