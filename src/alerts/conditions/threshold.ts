import { z } from 'zod';
import { thresholdFor } from '../thresholds.js';
import { keep, metric, num, set, type BaseState, type ConditionType } from './types.js';

const aboveSchema = z.strictObject({ type: z.literal('above'), metric, threshold: z.number(), inclusive: z.boolean().default(false), clear: z.number() })
  .refine((c) => c.clear <= c.threshold, 'clear must not be above threshold');
const belowSchema = z.strictObject({ type: z.literal('below'), metric, threshold: z.number(), inclusive: z.boolean().default(false), clear: z.number() })
  .refine((c) => c.clear >= c.threshold, 'clear must not be below threshold');
export type AboveCondition = z.infer<typeof aboveSchema>;
export type BelowCondition = z.infer<typeof belowSchema>;

/** `above` and `below`: a threshold with a clear level on the safe side (hysteresis) */
function threshold<C extends AboveCondition | BelowCondition>(schema: z.ZodType<C>): ConditionType<C, BaseState> {
  return {
    schema,
    initial: () => ({ active: false }),
    flat: true,
    concerns: (c, input) => input.type === 'reading' && input.reading.metric === c.metric,
    step(c, input, s, ctx) {
      const reading = input.type === 'reading' ? input.reading : undefined;
      if (!reading || reading.metric !== c.metric || reading.quality !== 'ok') return keep(s);
      const v = num(reading.value);
      if (v === undefined) return keep(s);
      const t = thresholdFor(c.metric, c.threshold, ctx.device, ctx.sites);
      const clear = thresholdFor(`${c.metric}_clear`, c.clear, ctx.device, ctx.sites);
      const hit = c.type === 'above' ? (c.inclusive ? v >= t : v > t) : (c.inclusive ? v <= t : v < t);
      if (hit) return set(s, true, { metric: c.metric, value: v, threshold: t });
      if (c.type === 'above' ? v <= clear : v >= clear) return set(s, false);
      return keep(s);
    },
  };
}

export const above = threshold(aboveSchema);
export const below = threshold(belowSchema);
