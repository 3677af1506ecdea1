import { z } from 'zod';
import { thresholdFor } from '../thresholds.js';
import { keep, metric, num, set, type BaseState, type ConditionType } from './types.js';

const schema = z.strictObject({ type: z.literal('range'), metric, min: z.number(), max: z.number(), clearMin: z.number(), clearMax: z.number() })
  .refine((c) => c.min <= c.clearMin && c.clearMin <= c.clearMax && c.clearMax <= c.max, 'needs min <= clearMin <= clearMax <= max');
export type RangeCondition = z.infer<typeof schema>;

export const range: ConditionType<RangeCondition, BaseState> = {
  schema,
  initial: () => ({ active: false }),
  flat: true,
  concerns: (c, input) => input.type === 'reading' && input.reading.metric === c.metric,
  step(c, input, s, ctx) {
    const reading = input.type === 'reading' ? input.reading : undefined;
    if (!reading || reading.metric !== c.metric || reading.quality !== 'ok') return keep(s);
    const v = num(reading.value);
    if (v === undefined) return keep(s);
    const min = thresholdFor(`${c.metric}_min`, c.min, ctx.device, ctx.sites);
    const max = thresholdFor(`${c.metric}_max`, c.max, ctx.device, ctx.sites);
    if (v < min) return set(s, true, { metric: c.metric, value: v, threshold: min });
    if (v > max) return set(s, true, { metric: c.metric, value: v, threshold: max });
    if (v >= c.clearMin && v <= c.clearMax) return set(s, false);
    return keep(s);
  },
};
