import { z } from 'zod';
import { thresholdFor } from '../thresholds.js';
import { keep, set, type BaseState, type ConditionType } from './types.js';

const schema = z.strictObject({ type: z.literal('water_leak'), nightStart: z.number().int().min(0).max(23).default(2), nightEnd: z.number().int().min(1).max(24).default(4), nightFlowM3h: z.number().positive().default(0.05), hoursWithoutZero: z.number().int().min(1).max(168).default(24), tz: z.string().default('Asia/Shanghai') });
export type WaterLeakCondition = z.infer<typeof schema>;
/** the previous index reading and the hours (UTC starts) with consumption */
export interface WaterLeakState extends BaseState { prev?: { v: number; ts: number }; used?: number[] }

const HOUR = 3_600_000;
const hourFormats = new Map<string, Intl.DateTimeFormat>();

/** Hour of the day in a zone. Formatters are costly to build: one per zone, kept. */
function localHour(ts: number, tz: string): number {
  let f = hourFormats.get(tz);
  if (!f) hourFormats.set(tz, (f = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', hour12: false, timeZone: tz })));
  return Number(f.format(ts)) % 24;
}

export const waterLeak: ConditionType<WaterLeakCondition, WaterLeakState> = {
  schema,
  initial: () => ({ active: false }),
  concerns: (_c, input) => input.type === 'reading' && (input.reading.metric === 'water_volume_m3' || input.reading.metric === 'water_flow_m3h'),
  step(c, input, s, ctx) {
    const reading = input.type === 'reading' ? input.reading : undefined;
    if (!reading || reading.quality !== 'ok' || typeof reading.value !== 'number') return keep(s);
    const nightLimit = thresholdFor('night_flow_m3h', c.nightFlowM3h, ctx.device, ctx.sites);
    const h = localHour(reading.ts, c.tz);
    const night = h >= c.nightStart && h < c.nightEnd;
    if (reading.metric === 'water_flow_m3h') {
      if (night && reading.value > nightLimit) return set(s, true, { metric: 'water_flow_m3h', value: reading.value, threshold: nightLimit });
      return keep(s);
    }
    if (reading.metric !== 'water_volume_m3') return keep(s);
    const prev = s.prev;
    if (prev && reading.ts <= prev.ts) return keep(s);
    s.prev = { v: reading.value, ts: reading.ts };
    if (!prev) return keep(s);
    const dv = reading.value - prev.v;
    const hours = (reading.ts - prev.ts) / HOUR;
    const hour = Math.floor(reading.ts / HOUR) * HOUR;
    let used = (s.used ?? []).filter((x) => x > hour - c.hoursWithoutZero * HOUR);
    if (dv > 0) { if (!used.includes(hour)) used.push(hour); }
    else if (hours >= 1 || dv === 0) used = used.filter((x) => x !== hour);
    s.used = used;
    if (night && hours > 0 && hours <= 2 && dv / hours > nightLimit) return set(s, true, { metric: 'water_flow_m3h', value: Math.round((dv / hours) * 1000) / 1000, threshold: nightLimit });
    const allHours = Array.from({ length: c.hoursWithoutZero }, (_, k) => hour - k * HOUR).every((x) => used.includes(x));
    if (allHours) return set(s, true, { metric: 'water_volume_m3', value: reading.value, threshold: c.hoursWithoutZero });
    if (dv <= 0 && hours >= 1) return set(s, false);
    return keep(s);
  },
};
