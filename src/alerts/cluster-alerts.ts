/**
 * Alert evaluation for a cluster node (cluster.postgres.url): the same rules, evaluate() and
 * lifecycle as AlertService, but with the state of record in PostgreSQL and no per-node
 * cache of rule states or unresolved alerts to go stale. Each group commit's evaluation reads
 * the (rule, device) pairs it touches under their advisory locks (PostgresAlertStore.
 * evaluateLocked), so readings of one device arriving alternately on two nodes open one alert,
 * count its occurrences and resolve it once — the result one node would reach.
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
}

type Listener = (event: AlertEvent, alert: Alert) => void;

export class ClusterAlerts {
  private readonly rules: Rule[];
  private readonly listeners = new Set<Listener>();
  private silences: Silence[] = [];

  constructor(private readonly deps: ClusterAlertsDeps) {
    this.rules = deps.rules.rules.filter((r) => r.enabled);
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
      for (const input of inputs) {
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
      if (json !== saved) changes.states.push({ rule: rule.id, deviceId: device.id, json });
    }
    return { changes, result };
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
