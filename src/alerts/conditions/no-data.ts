import { z } from 'zod';
import { offlineAt, reportIntervalS } from '../../core/presence.js';
import { keep, set, type BaseState, type ConditionType } from './types.js';

const schema = z.strictObject({ type: z.literal('no_data'), intervals: z.number().positive().default(3) });
export type NoDataCondition = z.infer<typeof schema>;

export const noData: ConditionType<NoDataCondition, BaseState> = {
  schema,
  initial: () => ({ active: false }),
  flat: true,
  // every message of the device ends it; the clock starts it
  concerns: () => true,
  step(c, input, s, ctx) {
    if (input.type === 'reading' || input.type === 'event') return set(s, false);
    const dev = ctx.device;
    const interval = reportIntervalS(dev.attributes, dev.reportIntervalS);
    if (input.now > offlineAt(dev, dev.reportIntervalS, c.intervals) && !s.active) {
      return set(s, true, { metric: null, value: dev.lastSeen === null ? null : new Date(dev.lastSeen).toISOString(), threshold: c.intervals * interval });
    }
    return keep(s);
  },
  // a message of a device that is not offline changes nothing
  quiet: (_c, input) => input.type !== 'tick',
};
