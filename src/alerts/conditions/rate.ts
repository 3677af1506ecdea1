import { z } from 'zod';
import { EVENT_TYPES } from '../../core/vocabulary.js';

const eventType = z.enum(EVENT_TYPES, { error: (i) => `unknown event type ${JSON.stringify(i.input)} (one of ${EVENT_TYPES.join(', ')})` });
import { keep, set, type BaseState, type ConditionType } from './types.js';

const schema = z.strictObject({ type: z.literal('rate'), event: eventType, count: z.number().int().min(1), windowS: z.number().positive(), by: z.enum(['credential', 'device']).default('credential') });
export type RateCondition = z.infer<typeof schema>;
/** event times in the window, per credential hash (or '(device)') */
export interface RateState extends BaseState { win?: Record<string, number[]> }

export const rate: ConditionType<RateCondition, RateState> = {
  schema,
  initial: () => ({ active: false }),
  concerns: (c, input) => input.type === 'tick' || (input.type === 'event' && input.event.type === c.event),
  step(c, input, s) {
    const win = (s.win ??= {});
    const windowMs = c.windowS * 1000;
    if (input.type === 'event' && input.event.type === c.event) {
      const key = c.by === 'credential' && typeof input.event.data.credential === 'string' ? input.event.data.credential : '(device)';
      const list = (win[key] ?? []).filter((t) => t > input.event.ts - windowMs);
      list.push(input.event.ts);
      win[key] = list.slice(-c.count * 4);
      if (list.length >= c.count) return set(s, true, { metric: null, value: list.length, threshold: c.count });
      return keep(s);
    }
    if (input.type === 'tick') {
      for (const [k, list] of Object.entries(win)) {
        const live = list.filter((t) => t > input.now - windowMs);
        if (live.length) win[k] = live; else delete win[k];
      }
      if (s.active && !Object.values(win).some((l) => l.length >= c.count)) return set(s, false);
    }
    return keep(s);
  },
  waiting: (s) => s.win !== undefined && Object.keys(s.win).length > 0,
};
