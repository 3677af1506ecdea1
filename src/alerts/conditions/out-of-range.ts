import { z } from 'zod';
import { metricDef } from '../../core/vocabulary.js';
import { keep, set, type BaseState, type ConditionType } from './types.js';

const schema = z.strictObject({ type: z.literal('out_of_range'), limits: z.record(z.string(), z.tuple([z.number(), z.number()])).default({}) });
export type OutOfRangeCondition = z.infer<typeof schema>;
/** the metrics whose last reading was impossible */
export interface OutOfRangeState extends BaseState { bad?: Record<string, true> }

export const outOfRange: ConditionType<OutOfRangeCondition, OutOfRangeState> = {
  schema,
  initial: () => ({ active: false }),
  concerns: (_c, input) => input.type === 'reading' && typeof input.reading.value === 'number',
  step(c, input, s) {
    const reading = input.type === 'reading' ? input.reading : undefined;
    if (!reading || typeof reading.value !== 'number') return keep(s);
    const bad = (s.bad ??= {});
    const lim = c.limits[reading.metric];
    if (reading.quality === 'out_of_range' || (lim !== undefined && (reading.value < lim[0] || reading.value > lim[1]))) {
      bad[reading.metric] = true;
      const def = metricDef(reading.metric)?.physical;
      const limit = lim ? (reading.value < lim[0] ? lim[0] : lim[1]) : def ? (def.min !== undefined && reading.value < def.min ? def.min : def.max ?? null) : null;
      return set(s, true, { metric: reading.metric, value: reading.value, threshold: limit ?? null });
    }
    if (bad[reading.metric]) delete bad[reading.metric];
    return Object.keys(bad).length ? keep(s) : set(s, false);
  },
  // a good reading inside the rule's own limits cannot open a sensor-fault alert
  quiet(c, input) {
    if (input.type !== 'reading') return false;
    const r = input.reading;
    if (r.quality !== 'ok') return false;
    const lim = c.limits[r.metric];
    return !(lim !== undefined && typeof r.value === 'number' && (r.value < lim[0] || r.value > lim[1]));
  },
};
