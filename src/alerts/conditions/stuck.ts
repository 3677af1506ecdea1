import { z } from 'zod';
import { keep, metric, set, type BaseState, type ConditionType } from './types.js';

const schema = z.strictObject({ type: z.literal('stuck'), metrics: z.array(metric).min(1), count: z.number().int().min(2), minSpanS: z.number().min(0) });
export type StuckCondition = z.infer<typeof schema>;
/** per metric: the repeated value (to 6 decimals), how many times in a row, since when */
export interface StuckState extends BaseState { m?: Record<string, { v: unknown; n: number; first: number }> }

export const stuck: ConditionType<StuckCondition, StuckState> = {
  schema,
  initial: () => ({ active: false }),
  concerns: (c, input) => input.type === 'reading' && c.metrics.includes(input.reading.metric),
  step(c, input, s) {
    const reading = input.type === 'reading' ? input.reading : undefined;
    if (!reading || !c.metrics.includes(reading.metric) || reading.quality !== 'ok') return keep(s);
    const all = (s.m ??= {});
    const key = typeof reading.value === 'number' ? Math.round(reading.value * 1e6) / 1e6 : reading.value;
    const cur = all[reading.metric];
    if (cur && cur.v === key) cur.n++;
    else all[reading.metric] = { v: key, n: 1, first: reading.ts };
    const m = all[reading.metric]!;
    if (m.n >= c.count && reading.ts - m.first >= c.minSpanS * 1000) return set(s, true, { metric: reading.metric, value: reading.value, threshold: c.count });
    if (m.n === 1) return set(s, Object.values(all).some((x) => x.n >= c.count));
    return keep(s);
  },
};
