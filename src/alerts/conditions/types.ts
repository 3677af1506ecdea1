/**
 * A condition type is defined in one place: its file in this directory exports
 * `{schema, initial, concerns, step}` (and optionally `quiet`), with its own typed state.
 * `step` is pure apart from mutating the state object it is given (evaluate() hands it a copy).
 */
import { z } from 'zod';
import type { ReadingValue } from '../../core/model.js';
import type { DeviceEventRecord, Reading } from '../../core/types.js';

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
  sites: Record<string, Record<string, number>>;
}

export interface Trigger { metric: string | null; value: ReadingValue | null; threshold: number | null }

export interface CondResult { active: boolean; trigger?: Trigger }

/** every condition state is plain JSON (saved in SQLite) with at least `active` */
export interface BaseState { active: boolean }

export interface ConditionType<C, S extends BaseState> {
  schema: z.ZodType<C>;
  /** the state before any input (also what a revived, older state is missing) */
  initial: () => S;
  /**
   * does this input concern the condition at all? (the hot path skips the rest) It may look
   * only at the input's type, a reading's metric and whether its value is a number, and an
   * event's type: the service caches the answer per kind on exactly these.
   */
  concerns: (c: C, input: AlertInput) => boolean;
  /** one input: mutates `s`, says whether the condition is active and what triggered it */
  step: (c: C, input: AlertInput, s: S, ctx: EvalContext) => CondResult;
  /**
   * true when, with the condition inactive, this input certainly changes nothing (a good,
   * in-limits reading for the sensor-fault rule); absent: never quiet
   */
  quiet?: (c: C, input: AlertInput) => boolean;
  /**
   * true when the state is `{active}` alone (no memory of past inputs): a step that leaves
   * `active` as it was changed nothing, so the service neither marks nor rewrites the state
   */
  flat?: true;
  /** true while the state waits on the clock (a door held open, a rate window): the sweep feeds it ticks */
  waiting?: (s: S) => boolean;
}

export const keep = (s: BaseState): CondResult => ({ active: s.active === true });
export const set = (s: BaseState, active: boolean, trigger?: Trigger): CondResult => { s.active = active; return { active, trigger }; };
export const num = (v: ReadingValue): number | undefined => (typeof v === 'number' ? v : undefined);
export const metric = z.string().min(1).max(64);
