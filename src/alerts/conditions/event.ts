import { z } from 'zod';
import { EVENT_TYPES } from '../../core/vocabulary.js';

const eventType = z.enum(EVENT_TYPES, { error: (i) => `unknown event type ${JSON.stringify(i.input)} (one of ${EVENT_TYPES.join(', ')})` });
import { keep, set, type BaseState, type ConditionType } from './types.js';

const schema = z.strictObject({ type: z.literal('event'), event: eventType });
export type EventCondition = z.infer<typeof schema>;

export const event: ConditionType<EventCondition, BaseState> = {
  schema,
  initial: () => ({ active: false }),
  flat: true,
  concerns: (c, input) => input.type === 'event' && input.event.type === c.event,
  step(c, input, s) {
    if (input.type === 'event' && input.event.type === c.event) return set(s, true, { metric: null, value: c.event, threshold: null });
    return keep(s);
  },
};
