/**
 * Alerts for maintenance crews: rule evaluation after every group commit, the lifecycle in
 * the embedded store (open -> acknowledged -> resolved, one unresolved alert per rule and
 * device, re-open instead of flapping), silences, and delivery: SSE, MQTT
 * alerts/{site}/{device}, and webhooks from a persistent outbox.
 */
import { ulid } from 'ulid';
import type { Logger } from 'pino';
import type { Db } from '../storage/database.js';
import type { Entry } from '../ingest/committer.js';
import type { Device, DeviceRegistry } from '../registry/devices.js';
import type { Metrics } from '../metrics.js';
import type { DeviceModel } from '../core/model.js';
import type { ReadingValue } from '../core/model.js';
import { metricDef } from '../core/vocabulary.js';
import { evaluate, initialState, quiet, relevant, renderMessage, type AlertInput, type DeviceContext, type EvalContext, type RuleState, type Transition } from './evaluate.js';
import type { Rule, RulesFile, Severity } from './rules.js';
import { WebhookOutbox, type WebhookConfig } from './webhooks.js';

export const ALERT_EVENTS = ['alert.opened', 'alert.updated', 'alert.acknowledged', 'alert.assigned', 'alert.resolved'] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];
export type AlertStatus = 'open' | 'acknowledged' | 'resolved';

export interface Alert {
  id: string; rule: string; severity: Severity; status: AlertStatus; deviceId: string; kind: string | null; site: string;
  metric: string | null; value: ReadingValue | null; threshold: number | null; message: string;
  openedAt: number; lastSeenAt: number; occurrences: number;
  acknowledgedAt: number | null; acknowledgedBy: string | null; assignee: string | null;
  resolvedAt: number | null; resolvedBy: string | null; resolution: 'auto' | 'manual' | null;
  notes: Array<{ at: number; by: string; text: string }>;
  silenced: boolean;
}

export interface Silence { id: string; match: { rule?: string; device?: string; site?: string }; until: number; reason: string; createdBy: string; createdAt: number }

const REOPEN_WITHIN_MS = 60_000;

/** a condition state with a flag held since some time or a rate window: time passing may change it */
function pendingTimers(state: RuleState): boolean {
  for (const c of state.conds) {
    if (c.since) for (const _k in c.since) return true;
    if (c.win) for (const _k in c.win) return true;
  }
  return false;
}
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
  };
}

interface Row {
  id: string; rule: string; device_id: string; status: AlertStatus; severity: Severity; kind: string | null; site: string;
  metric: string | null; value: string | null; threshold: number | null; message: string; opened_at: number; last_seen_at: number;
  occurrences: number; acknowledged_at: number | null; acknowledged_by: string | null; assignee: string | null;
  resolved_at: number | null; resolved_by: string | null; resolution: 'auto' | 'manual' | null; notes: string; silenced: number;
}

const fromRow = (r: Row): Alert => ({
  id: r.id, rule: r.rule, severity: r.severity, status: r.status, deviceId: r.device_id, kind: r.kind, site: r.site,
  metric: r.metric, value: r.value === null ? null : (JSON.parse(r.value) as ReadingValue), threshold: r.threshold, message: r.message,
  openedAt: r.opened_at, lastSeenAt: r.last_seen_at, occurrences: r.occurrences,
  acknowledgedAt: r.acknowledged_at, acknowledgedBy: r.acknowledged_by, assignee: r.assignee,
  resolvedAt: r.resolved_at, resolvedBy: r.resolved_by, resolution: r.resolution, notes: JSON.parse(r.notes), silenced: r.silenced === 1,
});

export class AlertError extends Error {
  constructor(readonly status: 404 | 409, message: string) { super(message); }
}

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
  /**
   * Writes changed rule states (null: delete) off the event loop, e.g. on the store's writer
   * thread; without it they are written on this connection. With thousands of devices a
   * second's changed states are thousands of rows, and a transaction on this connection also
   * waited for the writer thread's lock while the event loop stood still.
   */
  saveStates?: (rows: Array<[rule: string, deviceId: string, state: string | null]>) => Promise<void>;
}

type Listener = (event: AlertEvent, alert: Alert) => void;

export class AlertService {
  private readonly rules: Rule[];
  private readonly unresolved = new Map<string, Alert>();
  private readonly states = new Map<string, RuleState>();
  private readonly dirty = new Set<string>();
  /** the JSON last written per key: unchanged states (most of them) are not written again */
  private readonly saved = new Map<string, string>();
  private readonly listeners = new Set<Listener>();
  private readonly statusPublished = new Map<string, boolean>();
  private silences: Silence[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** inside a batch: what to announce once its transaction has committed */
  private pending: Array<[AlertEvent, Alert]> | undefined;
  private gaugeDirty = false;
  readonly outbox: WebhookOutbox;
  private readonly stmt;

  constructor(private readonly deps: AlertServiceDeps) {
    this.rules = deps.rules.rules.filter((r) => r.enabled);
    this.outbox = new WebhookOutbox(deps.db, deps.webhooks, deps.retry, deps.log.child({ component: 'webhooks' }), deps.clock);
    const db = deps.db;
    this.stmt = {
      insert: db.prepare(`INSERT INTO alerts (id, rule, device_id, status, severity, kind, site, metric, value, threshold, message, opened_at, last_seen_at, occurrences,
        acknowledged_at, acknowledged_by, assignee, resolved_at, resolved_by, resolution, notes, silenced)
        VALUES (@id, @rule, @deviceId, @status, @severity, @kind, @site, @metric, @value, @threshold, @message, @openedAt, @lastSeenAt, @occurrences,
        @acknowledgedAt, @acknowledgedBy, @assignee, @resolvedAt, @resolvedBy, @resolution, @notes, @silenced)
        ON CONFLICT(id) DO UPDATE SET status = excluded.status, metric = excluded.metric, value = excluded.value, threshold = excluded.threshold,
        message = excluded.message, last_seen_at = excluded.last_seen_at, occurrences = excluded.occurrences, acknowledged_at = excluded.acknowledged_at,
        acknowledged_by = excluded.acknowledged_by, assignee = excluded.assignee, resolved_at = excluded.resolved_at, resolved_by = excluded.resolved_by,
        resolution = excluded.resolution, notes = excluded.notes, silenced = excluded.silenced, site = excluded.site`),
      recent: db.prepare("SELECT * FROM alerts WHERE rule = ? AND device_id = ? AND status = 'resolved' AND resolved_at >= ? ORDER BY resolved_at DESC LIMIT 1"),
      saveState: db.prepare('INSERT INTO alert_state (rule, device_id, state) VALUES (?, ?, ?) ON CONFLICT(rule, device_id) DO UPDATE SET state = excluded.state'),
      deleteState: db.prepare('DELETE FROM alert_state WHERE rule = ? AND device_id = ?'),
    };
  }

  get activeRules(): readonly Rule[] { return this.rules; }

  onEvent(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  start(): void {
    for (const r of this.deps.db.prepare("SELECT * FROM alerts WHERE status != 'resolved'").all() as Row[]) this.unresolved.set(`${r.rule}\u0000${r.device_id}`, fromRow(r));
    for (const r of this.deps.db.prepare('SELECT rule, device_id, state FROM alert_state').all() as Array<{ rule: string; device_id: string; state: string }>) {
      this.states.set(`${r.rule}\u0000${r.device_id}`, JSON.parse(r.state) as RuleState);
      this.saved.set(`${r.rule}\u0000${r.device_id}`, r.state);
    }
    this.silences = (this.deps.db.prepare('SELECT * FROM silences').all() as Array<{ id: string; match: string; until: number; reason: string; created_by: string; created_at: number }>)
      .map((s) => ({ id: s.id, match: JSON.parse(s.match), until: s.until, reason: s.reason, createdBy: s.created_by, createdAt: s.created_at }));
    this.updateGauge();
    this.outbox.start();
    const period = this.deps.sweepMs ?? 1000;
    this.timer = setInterval(() => this.sweep(), period);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flushing;
    await this.flushStates();
    await this.outbox.stop();
  }

  private deviceContext(d: Device): DeviceContext {
    const model = this.deps.getModel(d.model);
    return { id: d.id, kind: d.kind, site: d.site, attributes: d.attributes, lastSeen: d.lastSeen, createdAt: d.createdAt, reportIntervalS: model?.reportIntervalS ?? 3600, lowBatteryV: model?.lowBatteryV };
  }

  /**
   * `${rule}\u0000${device}` per rule and device, built once: the per-message and per-second
   * loops looked each state up with a freshly concatenated key, flattened and hashed anew
   * every time (with thousands of devices, a good part of the rule loop)
   */
  private readonly keys = new Map<string, Map<string, string>>();
  private keyOf(rule: Rule, deviceId: string): string {
    let byRule = this.keys.get(deviceId);
    if (!byRule) this.keys.set(deviceId, (byRule = new Map()));
    let key = byRule.get(rule.id);
    if (key === undefined) byRule.set(rule.id, (key = `${rule.id}\u0000${deviceId}`));
    return key;
  }

  private readonly byKind = new Map<string, Rule[]>();
  private rulesFor(kind: string): Rule[] {
    let rules = this.byKind.get(kind);
    if (!rules) this.byKind.set(kind, (rules = this.rules.filter((r) => !r.kinds || r.kinds.includes(kind as never))));
    return rules;
  }

  /**
   * Runs fn in one SQLite transaction (one fsync for all the alerts a group commit or a sweep
   * opens, updates or resolves, instead of one each on the event loop) and announces the
   * changes (SSE, MQTT, webhook pump) only after it has committed.
   */
  private inBatch(fn: () => void): void {
    if (this.pending) return fn();
    this.pending = [];
    const done = this.pending;
    try {
      this.deps.db.transaction(fn)();
    } finally {
      this.pending = undefined;
      if (this.gaugeDirty) this.updateGauge();
    }
    for (const [event, a] of done) this.announce(event, a);
  }

  /** Post-commit listener: every committed reading and event, in time order per device. */
  onCommitted(entries: Entry[]): void {
    this.inBatch(() => this.evaluateEntries(entries));
  }

  private evaluateEntries(entries: Entry[]): void {
    for (const e of entries) {
      if (e.deviceId === undefined) continue;
      const device = this.deps.registry.get(e.deviceId);
      if (!device) continue;
      const inputs: AlertInput[] = [{ type: 'event', event: { deviceId: device.id, type: '$message', ts: e.receivedAt, data: {} } }];
      const readings = e.readings.length > 1 ? [...e.readings].sort((a, b) => a.ts - b.ts) : e.readings;
      for (const r of readings) inputs.push({ type: 'reading', reading: r });
      for (const ev of e.events) inputs.push({ type: 'event', event: ev });
      this.run(device, inputs);
      if (this.statusPublished.get(device.id) !== true) this.publishStatus(device, true);
    }
  }

  private run(device: Device, inputs: AlertInput[]): void {
    // per message: most rules of a kind concern none of its inputs, so the pure relevance
    // test comes first, and the state lookup and the device context only when one does
    let ctx: EvalContext | undefined;
    for (const rule of this.rulesFor(device.kind)) {
      let key: string | undefined;
      let state: RuleState | undefined;
      for (const input of inputs) {
        if (!relevant(rule, input)) continue;
        if (key === undefined) { key = this.keyOf(rule, device.id); state = this.states.get(key); }
        // e.g. a message of a device that is not offline, a good reading for the fault rule
        if (quiet(rule, input, state)) continue;
        ctx ??= { device: this.deviceContext(device), sites: this.deps.rules.sites };
        const res = evaluate(rule, input, state ?? initialState(rule), ctx);
        state = res.state;
        this.states.set(key, state);
        this.dirty.add(key);
        const ts = input.type === 'reading' ? input.reading.ts : input.type === 'event' ? input.event.ts : input.now;
        for (const t of res.transitions) this.apply(rule, device, t, ts);
      }
    }
  }

  /** Time passing: offline deadlines, doors held open, rate windows expiring; states saved. */
  sweep(): void {
    try {
      this.inBatch(() => this.sweepDevices());
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
        if (offline) {
          const attr = Number(device.attributes.reportIntervalS);
          const interval = attr > 0 ? attr : this.deps.getModel(device.model)?.reportIntervalS ?? 3600;
          if (now <= (device.lastSeen ?? device.createdAt) + 3 * interval * 1000) continue;
        }
        const key = this.keyOf(rule, device.id);
        const state = this.states.get(key);
        if (offline && state?.active) continue;
        if (!offline && !(state !== undefined && pendingTimers(state))) continue;
        ctx ??= { device: this.deviceContext(device), sites: this.deps.rules.sites };
        const res = evaluate(rule, tick, state ?? initialState(rule), ctx);
        this.states.set(key, res.state);
        this.dirty.add(key);
        for (const t of res.transitions) this.apply(rule, device, t, now);
        if (offline && res.state.active) this.publishStatus(device, false);
      }
    }
    for (const [id, a] of this.unresolved) if (!this.deps.registry.get(a.deviceId)) this.unresolved.delete(id);
    if (this.keys.size > this.deps.registry.size) for (const id of this.keys.keys()) if (!this.deps.registry.get(id)) this.keys.delete(id);
  }

  /** the asynchronous state write in progress (saveStates): one at a time */
  private flushing: Promise<void> | undefined;

  private flushStates(): Promise<void> | undefined {
    if (this.dirty.size === 0 || this.flushing) return this.flushing;
    const writes: Array<[string, string | undefined]> = [];
    for (const key of this.dirty) {
      const s = this.states.get(key);
      const json = s ? JSON.stringify(s) : undefined;
      if (json !== this.saved.get(key)) writes.push([key, json]);
    }
    if (writes.length === 0) { this.dirty.clear(); return undefined; }
    if (this.deps.saveStates) {
      this.dirty.clear();
      const rows = writes.map(([key, json]) => { const [rule, device] = key.split('\u0000') as [string, string]; return [rule, device, json ?? null] as [string, string, string | null]; });
      this.flushing = this.deps.saveStates(rows).then(
        () => { for (const [key, json] of writes) if (json !== undefined) this.saved.set(key, json); else this.saved.delete(key); },
        (err: Error) => {
          // disk full, database locked: written with the next sweep
          for (const [key] of writes) this.dirty.add(key);
          this.deps.log.error({ err: err.message }, 'saving rule states failed; will retry');
        },
      ).finally(() => { this.flushing = undefined; });
      return this.flushing;
    }
    this.deps.db.transaction(() => {
      for (const [key, json] of writes) {
        const [rule, device] = key.split('\u0000') as [string, string];
        if (json !== undefined) this.stmt.saveState.run(rule, device, json);
        else this.stmt.deleteState.run(rule, device);
      }
    })();
    // only once the transaction has committed
    for (const [key, json] of writes) if (json !== undefined) this.saved.set(key, json); else this.saved.delete(key);
    this.dirty.clear();
    return undefined;
  }

  private publishStatus(device: Device, online: boolean): void {
    this.statusPublished.set(device.id, online);
    this.deps.publish(`devices/${device.id}/status`, JSON.stringify({ online, lastSeen: device.lastSeen === null ? null : new Date(device.lastSeen).toISOString() }), true);
  }

  private silencedFor(a: { rule: string; deviceId: string; site: string }): boolean {
    const now = this.deps.clock();
    return this.silences.some((s) => s.until > now && (s.match.rule === undefined || s.match.rule === a.rule)
      && (s.match.device === undefined || s.match.device === a.deviceId)
      && (s.match.site === undefined || a.site === s.match.site || a.site.startsWith(`${s.match.site.replace(/\/+$/, '')}/`)));
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
      Object.assign(cur, { status: 'resolved', resolvedAt: now, resolvedBy: 'gateway', resolution: 'auto', lastSeenAt: Math.max(cur.lastSeenAt, now) });
      this.unresolved.delete(key);
      this.save(cur, 'alert.resolved');
      return;
    }
    if (cur) {
      // the condition repeats while the alert is unresolved: one alert, more occurrences
      Object.assign(cur, { occurrences: cur.occurrences + 1, lastSeenAt: now, metric: t.metric ?? cur.metric, value: t.value ?? cur.value, threshold: t.threshold ?? cur.threshold, message: message(t.metric ?? cur.metric, t.value ?? cur.value, t.threshold ?? cur.threshold) });
      this.save(cur, 'alert.updated');
      return;
    }
    if (t.type === 'repeat') return;
    const recent = this.stmt.recent.get(rule.id, device.id, now - REOPEN_WITHIN_MS) as Row | undefined;
    if (recent) {
      // resolved and firing again within a minute: the same alert re-opens, no flapping
      const a = fromRow(recent);
      Object.assign(a, { status: 'open', occurrences: a.occurrences + 1, lastSeenAt: now, metric: t.metric, value: t.value, threshold: t.threshold, message: message(t.metric, t.value, t.threshold),
        resolvedAt: null, resolvedBy: null, resolution: null, acknowledgedAt: null, acknowledgedBy: null, silenced: this.silencedFor(a) });
      this.unresolved.set(key, a);
      this.save(a, 'alert.opened');
      return;
    }
    const a: Alert = {
      id: ulid(now), rule: rule.id, severity: rule.severity, status: 'open', deviceId: device.id, kind: device.kind, site: device.site,
      metric: t.metric, value: t.value, threshold: t.threshold, message: message(t.metric, t.value, t.threshold),
      openedAt: now, lastSeenAt: now, occurrences: 1, acknowledgedAt: null, acknowledgedBy: null, assignee: null,
      resolvedAt: null, resolvedBy: null, resolution: null, notes: [], silenced: false,
    };
    a.silenced = this.silencedFor(a);
    this.unresolved.set(key, a);
    this.save(a, 'alert.opened');
    void ts;
  }

  private save(a: Alert, event: AlertEvent): void {
    this.stmt.insert.run({ ...a, value: a.value === null ? null : JSON.stringify(a.value), notes: JSON.stringify(a.notes), silenced: a.silenced ? 1 : 0 });
    // the webhook outbox row is written with the alert, in the same transaction
    if (!a.silenced) this.outbox.enqueue(event, a, JSON.stringify({ event, alert: alertJson(a) }));
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

  private updateGauge(): void {
    this.gaugeDirty = false;
    const counts = new Map<string, number>(this.rules.map((r) => [r.id, 0]));
    for (const a of this.unresolved.values()) counts.set(a.rule, (counts.get(a.rule) ?? 0) + 1);
    for (const [rule, n] of counts) this.deps.metrics.alertsOpen.set({ rule }, n);
  }

  // --- lifecycle actions (REST) ---

  get(id: string): Alert | undefined {
    for (const a of this.unresolved.values()) if (a.id === id) return a;
    const row = this.deps.db.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  list(q: { status: AlertStatus[]; severity?: string[]; rule?: string[]; device?: string; site?: string; kind?: string[]; from?: number; to?: number; limit: number }): Alert[] {
    const where = [`status IN (${q.status.map(() => '?').join(', ')})`];
    const args: Array<string | number> = [...q.status];
    const inList = (col: string, values?: string[]) => { if (values?.length) { where.push(`${col} IN (${values.map(() => '?').join(', ')})`); args.push(...values); } };
    inList('severity', q.severity);
    inList('rule', q.rule);
    inList('kind', q.kind);
    if (q.device !== undefined) { where.push('device_id = ?'); args.push(q.device); }
    if (q.site !== undefined && q.site.replace(/\/+$/, '') !== '') { const p = q.site.replace(/\/+$/, ''); where.push("(site = ? OR site LIKE ? ESCAPE '\\')"); args.push(p, `${p.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`); }
    if (q.from !== undefined) { where.push('opened_at >= ?'); args.push(q.from); }
    if (q.to !== undefined) { where.push('opened_at < ?'); args.push(q.to); }
    const rows = this.deps.db.prepare(`SELECT * FROM alerts WHERE ${where.join(' AND ')} ORDER BY opened_at DESC LIMIT ?`).all(...args, q.limit) as Row[];
    return rows.map(fromRow).map((a) => this.get(a.id) ?? a).sort((x, y) => SEVERITY_ORDER[x.severity] - SEVERITY_ORDER[y.severity] || y.openedAt - x.openedAt);
  }

  private mustGet(id: string): Alert {
    const a = this.get(id);
    if (!a) throw new AlertError(404, `alert ${id} not found`);
    return a;
  }

  acknowledge(id: string, by: string, note?: string): Alert {
    const a = this.mustGet(id);
    if (a.status === 'resolved') throw new AlertError(409, `alert ${id} is resolved`);
    const now = this.deps.clock();
    Object.assign(a, { status: 'acknowledged', acknowledgedAt: now, acknowledgedBy: by });
    if (note) a.notes.push({ at: now, by, text: note });
    this.save(a, 'alert.acknowledged');
    return a;
  }

  resolve(id: string, by: string, note?: string): Alert {
    const a = this.mustGet(id);
    if (a.status === 'resolved') throw new AlertError(409, `alert ${id} is already resolved`);
    const now = this.deps.clock();
    Object.assign(a, { status: 'resolved', resolvedAt: now, resolvedBy: by, resolution: 'manual' });
    if (note) a.notes.push({ at: now, by, text: note });
    const key = `${a.rule}\u0000${a.deviceId}`;
    this.unresolved.delete(key);
    // the crew says it is fixed: the condition must be seen again to re-open it
    this.states.delete(key);
    this.dirty.add(key);
    this.save(a, 'alert.resolved');
    return a;
  }

  assign(id: string, assignee: string, by: string): Alert {
    const a = this.mustGet(id);
    if (a.status === 'resolved') throw new AlertError(409, `alert ${id} is resolved`);
    a.assignee = assignee;
    a.notes.push({ at: this.deps.clock(), by, text: `assigned to ${assignee}` });
    this.save(a, 'alert.assigned');
    return a;
  }

  addNote(id: string, by: string, text: string): Alert {
    const a = this.mustGet(id);
    a.notes.push({ at: this.deps.clock(), by, text });
    this.save(a, 'alert.updated');
    return a;
  }

  // --- silences ---
  listSilences(): Silence[] { return [...this.silences]; }

  addSilence(s: Omit<Silence, 'id' | 'createdAt'>): Silence {
    const silence: Silence = { ...s, id: ulid(), createdAt: this.deps.clock() };
    this.deps.db.prepare('INSERT INTO silences (id, match, until, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(silence.id, JSON.stringify(silence.match), silence.until, silence.reason, silence.createdBy, silence.createdAt);
    this.silences.push(silence);
    return silence;
  }

  deleteSilence(id: string): void {
    if (this.deps.db.prepare('DELETE FROM silences WHERE id = ?').run(id).changes === 0) throw new AlertError(404, `silence ${id} not found`);
    this.silences = this.silences.filter((s) => s.id !== id);
  }
}
