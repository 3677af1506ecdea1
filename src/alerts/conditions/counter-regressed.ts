import { z } from 'zod';
import { keep, metric, set, type BaseState, type ConditionType } from './types.js';

const schema = z.strictObject({ type: z.literal('counter_regressed'), metrics: z.array(metric).min(1), allowance: z.number().min(0).default(0) });
export type CounterRegressedCondition = z.infer<typeof schema>;
/** the newest reading per metric */
export interface CounterRegressedState extends BaseState { last?: Record<string, { v: number; ts: number }> }

export const counterRegressed: ConditionType<CounterRegressedCondition, CounterRegressedState> = {
  schema,
  initial: () => ({ active: false }),
  concerns: (c, input) => input.type === 'reading' && c.metrics.includes(input.reading.metric),
  step(c, input, s, ctx) {
    const reading = input.type === 'reading' ? input.reading : undefined;
    if (!reading || !c.metrics.includes(reading.metric) || typeof reading.value !== 'number') return keep(s);
    const last = (s.last ??= {});
    const prev = last[reading.metric];
    if (prev && reading.ts <= prev.ts) return keep(s); // history arriving late is not a regression
    if (!prev) { last[reading.metric] = { v: reading.value, ts: reading.ts }; return keep(s); }
    const before = prev.v;
    prev.v = reading.value;
    prev.ts = reading.ts;
    const allowance = Number(ctx.device.attributes.rolloverAllowance ?? c.allowance) || 0;
    if (reading.value < before - allowance) return set(s, true, { metric: reading.metric, value: reading.value, threshold: before });
    return keep(s);
  },
};
