import { z } from 'zod';
import { thresholdFor } from '../thresholds.js';
import { keep, metric, set, type BaseState, type ConditionType } from './types.js';

const schema = z.strictObject({ type: z.literal('flag'), metrics: z.array(metric).min(1), forS: z.number().min(0).default(0) });
export type FlagCondition = z.infer<typeof schema>;
/** since when each flag metric has been true */
export interface FlagState extends BaseState { since?: Record<string, number> }

export const flag: ConditionType<FlagCondition, FlagState> = {
  schema,
  initial: () => ({ active: false }),
  concerns: (c, input) => input.type === 'tick' || (input.type === 'reading' && c.metrics.includes(input.reading.metric)),
  step(c, input, s, ctx) {
    const reading = input.type === 'reading' ? input.reading : undefined;
    const since = (s.since ??= {});
    const forMs = thresholdFor(`${c.metrics[0]}_for_s`, c.forS, ctx.device, ctx.sites) * 1000;
    const now = input.type === 'tick' ? input.now : reading?.ts;
    if (reading && c.metrics.includes(reading.metric) && typeof reading.value === 'boolean') {
      if (reading.value) since[reading.metric] ??= reading.ts;
      else delete since[reading.metric];
    } else if (input.type !== 'tick') return keep(s);
    const due = Object.entries(since).find(([, t]) => now! - t >= forMs);
    if (due) {
      const fresh = !s.active || (reading !== undefined && reading.metric === due[0]);
      const r = set(s, true);
      return fresh ? { ...r, trigger: { metric: due[0], value: true, threshold: c.forS || null } } : r;
    }
    return Object.keys(since).length === 0 ? set(s, false) : keep(s);
  },
  waiting: (s) => s.since !== undefined && Object.keys(s.since).length > 0,
};
