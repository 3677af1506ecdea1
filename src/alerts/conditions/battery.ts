import { z } from 'zod';
import { thresholdFor } from '../thresholds.js';
import { keep, set, type BaseState, type ConditionType } from './types.js';

const schema = z.strictObject({ type: z.literal('battery'), belowPct: z.number(), clearPct: z.number(), clearMarginV: z.number().min(0).default(0.1) });
export type BatteryCondition = z.infer<typeof schema>;
/** which of the two measures is low */
export interface BatteryState extends BaseState { m?: { pct?: true; v?: true } }

export const battery: ConditionType<BatteryCondition, BatteryState> = {
  schema,
  initial: () => ({ active: false }),
  concerns: (_c, input) => input.type === 'reading' && (input.reading.metric === 'battery_pct' || input.reading.metric === 'battery_v'),
  step(c, input, s, ctx) {
    const reading = input.type === 'reading' ? input.reading : undefined;
    if (!reading || typeof reading.value !== 'number' || reading.quality !== 'ok') return keep(s);
    const dev = ctx.device;
    const m = (s.m ??= {});
    if (reading.metric === 'battery_pct') {
      const t = thresholdFor('battery_pct', c.belowPct, dev, ctx.sites);
      if (reading.value < t) { m.pct = true; return set(s, true, { metric: 'battery_pct', value: reading.value, threshold: t }); }
      if (reading.value >= c.clearPct) delete m.pct;
    } else if (reading.metric === 'battery_v') {
      const low = Number(dev.attributes.lowBatteryV) > 0 ? Number(dev.attributes.lowBatteryV) : dev.lowBatteryV;
      if (low === undefined) return keep(s);
      if (reading.value < low) { m.v = true; return set(s, true, { metric: 'battery_v', value: reading.value, threshold: low }); }
      if (reading.value >= low + c.clearMarginV) delete m.v;
    } else return keep(s);
    return Object.keys(m).length ? keep(s) : set(s, false);
  },
};
