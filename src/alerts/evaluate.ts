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

/** Evaluates a rule for one device and one input. Returns the new state and 0 or 1 transitions. */
export function evaluate(rule: Rule, input: AlertInput, state: RuleState, ctx: EvalContext): { state: RuleState; transitions: Transition[] } {
  const next: RuleState = { active: state.active, conds: state.conds.map(cloneJson) };
  let trigger: Trigger | undefined;
  let anyActive = false;
  const conds = rule.conditions;
  for (let i = 0; i < conds.length; i++) {
    const c = conds[i]!;
    const type = conditionType(c);
    const r = type.step(c, input, next.conds[i] ??= type.initial(), ctx);
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
