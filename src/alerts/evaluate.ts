/**
 * Pure rule evaluation: evaluate(rule, input, state, ctx) -> {state, transitions}.
 * No I/O and no clock of its own: readings carry their time, and the scheduler feeds
 * `tick` inputs with the time now, so tests drive it with a fake clock. What each condition
 * type does is in alerts/conditions/<type>.ts; this combines them into a rule.
 */
import { conditionType, type AlertInput, type BaseState, type Trigger } from './conditions/index.js';
import type { Rule } from './rules.js';

export type { AlertInput, DeviceContext, EvalContext, Trigger } from './conditions/index.js';
import type { EvalContext } from './conditions/index.js';

export type Transition =
  | ({ type: 'open' } & Trigger)
  | ({ type: 'repeat' } & Trigger)
  | { type: 'resolve' };

/** per rule and device; plain JSON (saved in SQLite), one state per condition */
export interface RuleState {
  active: boolean;
  conds: BaseState[];
}

export function initialState(rule: Rule): RuleState {
  return { active: false, conds: rule.conditions.map((c) => conditionType(c).initial()) };
}

/** Deep copy of plain JSON data (condition states): several times cheaper than structuredClone. */
function cloneJson<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(cloneJson) as T;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = cloneJson((v as Record<string, unknown>)[k]);
  return out as T;
}

/** what advance() did: the caller's own holder, reused, so the hot path allocates nothing when nothing happens */
export interface Advance {
  transition: Transition | undefined;
  /** false only when the state certainly did not change (a condition whose state is `active` alone kept it) */
  changed: boolean;
}

/**
 * evaluate() without the copy: steps `state` in place. For a caller that owns its states and
 * keeps no other reference to them (the single-node service, per message); evaluate() is
 * this on a copy, so both are one definition.
 */
export function advance(rule: Rule, input: AlertInput, state: RuleState, ctx: EvalContext, out: Advance): void {
  const was = state.active;
  let trigger: Trigger | undefined;
  let anyActive = false;
  let changed = false;
  const conds = rule.conditions;
  for (let i = 0; i < conds.length; i++) {
    const c = conds[i]!;
    const type = conditionType(c);
    let s = state.conds[i];
    if (s === undefined) { state.conds[i] = s = type.initial(); changed = true; }
    const before = s.active;
    const r = type.step(c, input, s, ctx);
    if (!type.flat || s.active !== before) changed = true;
    if (r.active) anyActive = true;
    if (r.trigger && !trigger) trigger = r.trigger;
  }
  let transition: Transition | undefined;
  if (!was && anyActive) transition = { type: 'open', ...(trigger ?? { metric: null, value: null, threshold: null }) };
  else if (was && anyActive && trigger) transition = { type: 'repeat', ...trigger };
  else if (was && !anyActive && rule.autoResolve) transition = { type: 'resolve' };
  // rules the crew resolves keep their condition latched until the alert is resolved
  const active = anyActive || (!rule.autoResolve && was);
  if (active !== was) changed = true;
  state.active = active;
  out.transition = transition;
  out.changed = changed;
}

/** Evaluates a rule for one device and one input. Returns the new state and 0 or 1 transitions. */
export function evaluate(rule: Rule, input: AlertInput, state: RuleState, ctx: EvalContext): { state: RuleState; transitions: Transition[] } {
  const next: RuleState = { active: state.active, conds: state.conds.map(cloneJson) };
  const out: Advance = { transition: undefined, changed: false };
  advance(rule, input, next, ctx, out);
  return { state: next, transitions: out.transition ? [out.transition] : [] };
}

/**
 * True when evaluating would certainly change nothing: an inactive rule made only of
 * conditions that say this input cannot fire them (offline, sensor out of range). The hot
 * path skips those without copying the state; evaluate() stays the definition.
 */
export function quiet(rule: Rule, input: AlertInput, state: RuleState | undefined): boolean {
  if (state === undefined || state.active || input.type === 'tick') return false;
  for (const c of rule.conditions) {
    const q = conditionType(c).quiet;
    if (!q || !q(c, input)) return false;
  }
  return true;
}

/** Does this input concern this rule at all? (keeps the hot path from evaluating every rule) */
export function relevant(rule: Rule, input: AlertInput): boolean {
  for (const c of rule.conditions) if (conditionType(c).concerns(c, input)) return true;
  return false;
}

export function renderMessage(template: string, vars: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (all, k: string) => (vars[k] === undefined || vars[k] === null ? all === '{value}' ? '-' : '' : String(vars[k])));
}
