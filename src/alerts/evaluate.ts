/**
 * Pure rule evaluation: evaluate(rule, input, state, ctx) -> {state, transitions}.
 * No I/O and no clock of its own: readings carry their time, and the scheduler feeds
 * `tick` inputs with the time now, so tests drive it with a fake clock.
 */
import type { Reading, DeviceEventRecord } from '../core/types.js';
import type { ReadingValue } from '../core/model.js';
import { metricDef } from '../core/vocabulary.js';
import { type Condition, type Rule, type RulesFile, thresholdFor } from './rules.js';

export type AlertInput =
  | { type: 'reading'; reading: Reading }
  | { type: 'event'; event: DeviceEventRecord }
  | { type: 'tick'; now: number };

export interface DeviceContext {
  id: string;
  kind: string;
  site: string;
  attributes: Record<string, unknown>;
  lastSeen: number | null;
  createdAt: number;
  reportIntervalS: number;
  lowBatteryV?: number;
}

export interface EvalContext {
  device: DeviceContext;
  sites: RulesFile['sites'];
}

export interface Trigger { metric: string | null; value: ReadingValue | null; threshold: number | null }

export type Transition =
  | ({ type: 'open' } & Trigger)
  | ({ type: 'repeat' } & Trigger)
  | { type: 'resolve' };

export interface RuleState {
  active: boolean;
  conds: Array<Record<string, any>>;
}

export function initialState(rule: Rule): RuleState {
  return { active: false, conds: rule.conditions.map(() => ({ active: false })) };
}

interface CondResult { active: boolean; trigger?: Trigger }

const num = (v: ReadingValue): number | undefined => (typeof v === 'number' ? v : undefined);
const HOUR = 3_600_000;

const hourFormats = new Map<string, Intl.DateTimeFormat>();

/** Hour of the day in a zone. Formatters are costly to build: one per zone, kept. */
function localHour(ts: number, tz: string): number {
  let f = hourFormats.get(tz);
  if (!f) hourFormats.set(tz, (f = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', hour12: false, timeZone: tz })));
  return Number(f.format(ts)) % 24;
}

// module-level, not closures per call: this runs for every reading
const keep = (s: Record<string, any>): CondResult => ({ active: s.active === true });
const set = (s: Record<string, any>, active: boolean, trigger?: Trigger): CondResult => { s.active = active; return { active, trigger }; };

/** Evaluates one condition; mutates only its own state object `s`. */
function evalCondition(c: Condition, input: AlertInput, s: Record<string, any>, ctx: EvalContext): CondResult {
  const dev = ctx.device;
  const reading = input.type === 'reading' ? input.reading : undefined;

  switch (c.type) {
    case 'range': {
      if (!reading || reading.metric !== c.metric || reading.quality !== 'ok') return keep(s);
      const v = num(reading.value);
      if (v === undefined) return keep(s);
      const min = thresholdFor(`${c.metric}_min`, c.min, dev, ctx.sites);
      const max = thresholdFor(`${c.metric}_max`, c.max, dev, ctx.sites);
      if (v < min) return set(s, true, { metric: c.metric, value: v, threshold: min });
      if (v > max) return set(s, true, { metric: c.metric, value: v, threshold: max });
      if (v >= c.clearMin && v <= c.clearMax) return set(s, false);
      return keep(s);
    }
    case 'above':
    case 'below': {
      if (!reading || reading.metric !== c.metric || reading.quality !== 'ok') return keep(s);
      const v = num(reading.value);
      if (v === undefined) return keep(s);
      const t = thresholdFor(c.metric, c.threshold, dev, ctx.sites);
      const clear = thresholdFor(`${c.metric}_clear`, c.clear, dev, ctx.sites);
      const hit = c.type === 'above' ? (c.inclusive ? v >= t : v > t) : (c.inclusive ? v <= t : v < t);
      if (hit) return set(s, true, { metric: c.metric, value: v, threshold: t });
      if (c.type === 'above' ? v <= clear : v >= clear) return set(s, false);
      return keep(s);
    }
    case 'flag': {
      s.since ??= {};
      const forMs = thresholdFor(`${c.metrics[0]}_for_s`, c.forS, dev, ctx.sites) * 1000;
      const now = input.type === 'tick' ? input.now : reading?.ts;
      if (reading && c.metrics.includes(reading.metric) && typeof reading.value === 'boolean') {
        if (reading.value) s.since[reading.metric] ??= reading.ts;
        else delete s.since[reading.metric];
      } else if (input.type !== 'tick') return keep(s);
      const due = Object.entries(s.since as Record<string, number>).find(([, since]) => now! - since >= forMs);
      if (due) {
        const fresh = !s.active || (reading !== undefined && reading.metric === due[0]);
        const r = set(s, true);
        return fresh ? { ...r, trigger: { metric: due[0], value: true, threshold: c.forS || null } } : r;
      }
      return Object.keys(s.since).length === 0 ? set(s, false) : keep(s);
    }
    case 'event': {
      if (input.type === 'event' && input.event.type === c.event) return set(s, true, { metric: null, value: c.event, threshold: null });
      return keep(s);
    }
    case 'rate': {
      s.win ??= {};
      const windowMs = c.windowS * 1000;
      if (input.type === 'event' && input.event.type === c.event) {
        const key = c.by === 'credential' && typeof input.event.data.credential === 'string' ? input.event.data.credential : '(device)';
        const list = ((s.win[key] as number[] | undefined) ?? []).filter((t) => t > input.event.ts - windowMs);
        list.push(input.event.ts);
        s.win[key] = list.slice(-c.count * 4);
        if (list.length >= c.count) return set(s, true, { metric: null, value: list.length, threshold: c.count });
        return keep(s);
      }
      if (input.type === 'tick') {
        for (const [k, list] of Object.entries(s.win as Record<string, number[]>)) {
          const live = list.filter((t) => t > input.now - windowMs);
          if (live.length) s.win[k] = live; else delete s.win[k];
        }
        if (s.active && !Object.values(s.win as Record<string, number[]>).some((l) => l.length >= c.count)) return set(s, false);
      }
      return keep(s);
    }
    case 'out_of_range': {
      if (!reading || typeof reading.value !== 'number') return keep(s);
      s.bad ??= {};
      const lim = c.limits[reading.metric];
      const bad = reading.quality === 'out_of_range' || (lim !== undefined && (reading.value < lim[0] || reading.value > lim[1]));
      if (bad) {
        s.bad[reading.metric] = true;
        const def = metricDef(reading.metric)?.physical;
        const limit = lim ? (reading.value < lim[0] ? lim[0] : lim[1]) : def ? (def.min !== undefined && reading.value < def.min ? def.min : def.max ?? null) : null;
        return set(s, true, { metric: reading.metric, value: reading.value, threshold: limit ?? null });
      }
      if (s.bad[reading.metric]) delete s.bad[reading.metric];
      return Object.keys(s.bad).length ? keep(s) : set(s, false);
    }
    case 'stuck': {
      if (!reading || !c.metrics.includes(reading.metric) || reading.quality !== 'ok') return keep(s);
      s.m ??= {};
      const key = typeof reading.value === 'number' ? Math.round(reading.value * 1e6) / 1e6 : reading.value;
      const cur = s.m[reading.metric] as { v: unknown; n: number; first: number } | undefined;
      if (cur && cur.v === key) cur.n++;
      else s.m[reading.metric] = { v: key, n: 1, first: reading.ts };
      const m = s.m[reading.metric];
      if (m.n >= c.count && reading.ts - m.first >= c.minSpanS * 1000) return set(s, true, { metric: reading.metric, value: reading.value, threshold: c.count });
      if (m.n === 1) return set(s, Object.values(s.m as Record<string, { n: number; first: number }>).some((x) => x.n >= c.count));
      return keep(s);
    }
    case 'no_data': {
      if (input.type === 'reading' || input.type === 'event') return set(s, false);
      const interval = Number(dev.attributes.reportIntervalS) > 0 ? Number(dev.attributes.reportIntervalS) : dev.reportIntervalS;
      const deadline = (dev.lastSeen ?? dev.createdAt) + c.intervals * interval * 1000;
      if (input.now > deadline && !s.active) return set(s, true, { metric: null, value: dev.lastSeen === null ? null : new Date(dev.lastSeen).toISOString(), threshold: c.intervals * interval });
      return keep(s);
    }
    case 'battery': {
      if (!reading || typeof reading.value !== 'number' || reading.quality !== 'ok') return keep(s);
      s.m ??= {};
      if (reading.metric === 'battery_pct') {
        const t = thresholdFor('battery_pct', c.belowPct, dev, ctx.sites);
        if (reading.value < t) { s.m.pct = true; return set(s, true, { metric: 'battery_pct', value: reading.value, threshold: t }); }
        if (reading.value >= c.clearPct) delete s.m.pct;
      } else if (reading.metric === 'battery_v') {
        const low = Number(dev.attributes.lowBatteryV) > 0 ? Number(dev.attributes.lowBatteryV) : dev.lowBatteryV;
        if (low === undefined) return keep(s);
        if (reading.value < low) { s.m.v = true; return set(s, true, { metric: 'battery_v', value: reading.value, threshold: low }); }
        if (reading.value >= low + c.clearMarginV) delete s.m.v;
      } else return keep(s);
      return Object.keys(s.m).length ? keep(s) : set(s, false);
    }
    case 'counter_regressed': {
      if (!reading || !c.metrics.includes(reading.metric) || typeof reading.value !== 'number') return keep(s);
      s.last ??= {};
      const prev = s.last[reading.metric] as { v: number; ts: number } | undefined;
      if (prev && reading.ts <= prev.ts) return keep(s); // history arriving late is not a regression
      s.last[reading.metric] = { v: reading.value, ts: reading.ts };
      const allowance = Number(dev.attributes.rolloverAllowance ?? c.allowance) || 0;
      if (prev && reading.value < prev.v - allowance) return set(s, true, { metric: reading.metric, value: reading.value, threshold: prev.v });
      return keep(s);
    }
    case 'water_leak': {
      if (!reading || reading.quality !== 'ok' || typeof reading.value !== 'number') return keep(s);
      const nightLimit = thresholdFor('night_flow_m3h', c.nightFlowM3h, dev, ctx.sites);
      const h = localHour(reading.ts, c.tz);
      const night = h >= c.nightStart && h < c.nightEnd;
      if (reading.metric === 'water_flow_m3h') {
        if (night && reading.value > nightLimit) return set(s, true, { metric: 'water_flow_m3h', value: reading.value, threshold: nightLimit });
        return keep(s);
      }
      if (reading.metric !== 'water_volume_m3') return keep(s);
      const prev = s.prev as { v: number; ts: number } | undefined;
      if (prev && reading.ts <= prev.ts) return keep(s);
      s.prev = { v: reading.value, ts: reading.ts };
      if (!prev) return keep(s);
      const dv = reading.value - prev.v;
      const hours = (reading.ts - prev.ts) / HOUR;
      const hour = Math.floor(reading.ts / HOUR) * HOUR;
      s.used = ((s.used as number[] | undefined) ?? []).filter((x) => x > hour - c.hoursWithoutZero * HOUR);
      if (dv > 0) { if (!s.used.includes(hour)) s.used.push(hour); }
      else if (hours >= 1 || dv === 0) s.used = s.used.filter((x: number) => x !== hour);
      if (night && hours > 0 && hours <= 2 && dv / hours > nightLimit) return set(s, true, { metric: 'water_flow_m3h', value: Math.round((dv / hours) * 1000) / 1000, threshold: nightLimit });
      const allHours = Array.from({ length: c.hoursWithoutZero }, (_, k) => hour - k * HOUR).every((x) => s.used.includes(x));
      if (allHours) return set(s, true, { metric: 'water_volume_m3', value: reading.value, threshold: c.hoursWithoutZero });
      if (dv <= 0 && hours >= 1) return set(s, false);
      return keep(s);
    }
  }
}

/** Evaluates a rule for one device and one input. Returns the new state and 0 or 1 transitions. */
/** Deep copy of plain JSON data (condition states): several times cheaper than structuredClone. */
function cloneJson<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(cloneJson) as T;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = cloneJson((v as Record<string, unknown>)[k]);
  return out as T;
}

export function evaluate(rule: Rule, input: AlertInput, state: RuleState, ctx: EvalContext): { state: RuleState; transitions: Transition[] } {
  const next: RuleState = { active: state.active, conds: state.conds.map(cloneJson) };
  let trigger: Trigger | undefined;
  let anyActive = false;
  const conds = rule.conditions;
  for (let i = 0; i < conds.length; i++) {
    const r = evalCondition(conds[i]!, input, next.conds[i] ??= { active: false }, ctx);
    if (r.active) anyActive = true;
    if (r.trigger && !trigger) trigger = r.trigger;
  }
  next.active = anyActive;
  const transitions: Transition[] = [];
  if (!state.active && anyActive) transitions.push({ type: 'open', ...(trigger ?? { metric: null, value: null, threshold: null }) });
  else if (state.active && anyActive && trigger) transitions.push({ type: 'repeat', ...trigger });
  else if (state.active && !anyActive) {
    if (rule.autoResolve) transitions.push({ type: 'resolve' });
  }
  // rules the crew resolves keep their condition latched until the alert is resolved
  if (!rule.autoResolve && state.active && !anyActive) next.active = true;
  return { state: next, transitions };
}

/**
 * True when evaluating would certainly change nothing: an inactive rule made only of
 * conditions that a good, in-limits reading cannot fire (offline, sensor out of range).
 * The hot path skips those without copying the state; evaluate() stays the definition.
 */
export function quiet(rule: Rule, input: AlertInput, state: RuleState | undefined): boolean {
  if (state === undefined || state.active || input.type === 'tick') return false;
  for (const c of rule.conditions) {
    if (c.type === 'no_data') continue;
    if (c.type !== 'out_of_range' || input.type !== 'reading') return false;
    const r = input.reading;
    if (r.quality !== 'ok') return false;
    const lim = c.limits[r.metric];
    if (lim !== undefined && typeof r.value === 'number' && (r.value < lim[0] || r.value > lim[1])) return false;
  }
  return true;
}

/** Does this input concern this rule at all? (keeps the hot path from evaluating every rule) */
export function relevant(rule: Rule, input: AlertInput): boolean {
  for (const c of rule.conditions) if (concerns(c, input)) return true;
  return false;
}

function concerns(c: Condition, input: AlertInput): boolean {
  if (input.type === 'tick') return c.type === 'flag' || c.type === 'rate' || c.type === 'no_data';
  if (c.type === 'no_data') return true;
  if (input.type === 'event') return (c.type === 'event' || c.type === 'rate') && c.event === input.event.type;
  const m = input.reading.metric;
  switch (c.type) {
    case 'range': case 'above': case 'below': return c.metric === m;
    case 'flag': case 'stuck': case 'counter_regressed': return c.metrics.includes(m);
    case 'out_of_range': return typeof input.reading.value === 'number';
    case 'battery': return m === 'battery_pct' || m === 'battery_v';
    case 'water_leak': return m === 'water_volume_m3' || m === 'water_flow_m3h';
    default: return false;
  }
}

export function renderMessage(template: string, vars: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (all, k: string) => (vars[k] === undefined || vars[k] === null ? all === '{value}' ? '-' : '' : String(vars[k])));
}
