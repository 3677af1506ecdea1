/**
 * The condition types of the rules file, each defined once in its own file. Adding a type:
 * a file exporting `{schema, initial, concerns, step}` and a line here.
 */
import { z } from 'zod';
import { above, below } from './threshold.js';
import { battery } from './battery.js';
import { counterRegressed } from './counter-regressed.js';
import { event } from './event.js';
import { flag } from './flag.js';
import { noData } from './no-data.js';
import { outOfRange } from './out-of-range.js';
import { range } from './range.js';
import { rate } from './rate.js';
import { stuck } from './stuck.js';
import { waterLeak } from './water-leak.js';
import type { BaseState, ConditionType } from './types.js';

export const CONDITION_TYPES = {
  range, above, below, flag, event, rate, out_of_range: outOfRange, stuck, no_data: noData, battery, counter_regressed: counterRegressed, water_leak: waterLeak,
} as const;

const SCHEMAS = [
  range.schema, above.schema, below.schema, flag.schema, event.schema, rate.schema, outOfRange.schema, stuck.schema, noData.schema, battery.schema, counterRegressed.schema, waterLeak.schema,
] as const;
export type Condition = z.infer<(typeof SCHEMAS)[number]>;
// discriminated by type: a misspelled key is named ("unrecognized key thresold") instead of
// "Invalid input" of a plain union. Each file's schema is typed as a ZodType (its refinements),
// so the discriminated union is built from the same objects and typed as their union.
export const ConditionSchema = z.discriminatedUnion('type', SCHEMAS as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]]) as unknown as z.ZodType<Condition>;

/** the definition of a condition's type, typed for that condition */
export function conditionType<C extends Condition>(c: C): ConditionType<C, BaseState> {
  return CONDITION_TYPES[c.type] as unknown as ConditionType<C, BaseState>;
}

export type { AlertInput, BaseState, CondResult, DeviceContext, EvalContext, Trigger } from './types.js';
