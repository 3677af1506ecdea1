import { z } from 'zod';
import { thresholdFor } from '../thresholds.js';
import { keep, set, type BaseState, type ConditionType } from './types.js';

const schema = z.strictObject({ type: z.literal('water_leak'), nightStart: z.number().int().min(0).max(23).default(2), nightEnd: z.number().int().min(1).max(24).default(4), nightFlowM3h: z.number().positive().default(0.05), hoursWithoutZero: z.number().int().min(1).max(168).default(24), tz: z.string().default('Asia/Shanghai') });
export type WaterLeakCondition = z.infer<typeof schema>;
/** the previous index reading and the hours (UTC starts) with consumption */
export interface WaterLeakState extends BaseState { prev?: { v: number; ts: number }; used?: number[] }

const HOUR = 3_600_000;
const hourFormats = new Map<string, Intl.DateTimeFormat>();

const QUARTER = 900_000;
/** per zone, the last quarter hour (UTC) whose local hour is one hour throughout, and that hour */
const lastQuarter = new Map<string, { q: number; h: number }>();

/**
 * Hour of the day in a zone. Formatters are costly to build: one per zone, kept; formatting
 * is costly too (a meter reading each), so the hour is kept for the last quarter hour of the
 * zone when its first and last millisecond fall in the same local hour. Zones and their
 * changes move in whole quarter hours, except old local-mean-time offsets, whose quarter
 * hours then straddle an hour and are formatted every time.
 */
function localHour(ts: number, tz: string): number {
  const q = Math.floor(ts / QUARTER);
  const last = lastQuarter.get(tz);
  if (last !== undefined && last.q === q) return last.h;
  let f = hourFormats.get(tz);
  if (!f) hourFormats.set(tz, (f = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', hour12: false, timeZone: tz })));
  const h = Number(f.format(ts)) % 24;
  const start = q * QUARTER;
  if (Number(f.format(start)) % 24 === h && Number(f.format(start + QUARTER - 1)) % 24 === h) {
    if (last !== undefined) { last.q = q; last.h = h; } else lastQuarter.set(tz, { q, h });
  }
  return h;
}

const inNight = (h: number, c: WaterLeakCondition) => h >= c.nightStart && h < c.nightEnd;

export const waterLeak: ConditionType<WaterLeakCondition, WaterLeakState> = {
  schema,
  initial: () => ({ active: false }),
  concerns: (_c, input) => input.type === 'reading' && (input.reading.metric === 'water_volume_m3' || input.reading.metric === 'water_flow_m3h'),
  step(c, input, s, ctx) {
    const reading = input.type === 'reading' ? input.reading : undefined;
    if (!reading || reading.quality !== 'ok' || typeof reading.value !== 'number') return keep(s);
    const nightLimit = thresholdFor('night_flow_m3h', c.nightFlowM3h, ctx.device, ctx.sites);
    const h = localHour(reading.ts, c.tz);
    const night = inNight(h, c);
    if (reading.metric === 'water_flow_m3h') {
      if (night && reading.value > nightLimit) return set(s, true, { metric: 'water_flow_m3h', value: reading.value, threshold: nightLimit });
      return keep(s);
    }
    if (reading.metric !== 'water_volume_m3') return keep(s);
    const prev = s.prev;
    if (prev && reading.ts <= prev.ts) return keep(s);
    if (!prev) { s.prev = { v: reading.value, ts: reading.ts }; return keep(s); }
    const dv = reading.value - prev.v;
    const hours = (reading.ts - prev.ts) / HOUR;
    // night flow is what flowed in the night: both readings in it, or the interval holds the evening's use too
    const nightFlow = night && hours > 0 && hours <= 2 && inNight(localHour(prev.ts, c.tz), c);
    prev.v = reading.value;
    prev.ts = reading.ts;
    const hour = Math.floor(reading.ts / HOUR) * HOUR;
    // in place, without a new array per reading (a meter reports every few seconds to minutes)
    const used = (s.used ??= []);
    const since = hour - c.hoursWithoutZero * HOUR;
    const drop = dv > 0 ? undefined : hours >= 1 || dv === 0 ? hour : undefined;
    let kept = 0;
    for (let k = 0; k < used.length; k++) { const x = used[k]!; if (x > since && x !== drop) used[kept++] = x; }
    used.length = kept;
    if (dv > 0 && !used.includes(hour)) used.push(hour);
    if (nightFlow && dv / hours > nightLimit) return set(s, true, { metric: 'water_flow_m3h', value: Math.round((dv / hours) * 1000) / 1000, threshold: nightLimit });
    let allHours = true;
    for (let k = 0; k < c.hoursWithoutZero && allHours; k++) allHours = used.includes(hour - k * HOUR);
    if (allHours) return set(s, true, { metric: 'water_volume_m3', value: reading.value, threshold: c.hoursWithoutZero });
    if (dv <= 0 && hours >= 1) return set(s, false);
    return keep(s);
  },
};
