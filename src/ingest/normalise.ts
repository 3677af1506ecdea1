/**
 * From a decoder's output to stored readings: units from the vocabulary, derived metrics
 * (fill_pct from distance_mm and binDepthMm, water_volume_m3 from pulse_count and
 * litresPerPulse), value-type checks and the physical-range quality flag.
 */
import { metricDef } from '../core/vocabulary.js';
import { DecodeError, type Decoded, type ReadingValue } from '../core/model.js';
import type { Reading, DeviceEventRecord } from '../core/types.js';
import { round } from '../../devices/lib/bytes.js';

export interface NormaliseContext {
  deviceId: string;
  receivedAt: number;
  attributes: Record<string, unknown>;
  /** turns a resident's raw credential into its stored form (VOCABULARY.md, privacy) */
  pseudonymise?: (raw: string) => string;
}

export interface Normalised {
  readings: Reading[];
  events: DeviceEventRecord[];
}

function positiveNumber(attrs: Record<string, unknown>, key: string): number | undefined {
  const v = attrs[key];
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The derived metrics a device's attributes allow, keyed by the source metric. */
function derive(metric: string, value: ReadingValue, attrs: Record<string, unknown>): Array<[string, number]> {
  if (typeof value !== 'number') return [];
  if (metric === 'distance_mm') {
    const depth = positiveNumber(attrs, 'binDepthMm');
    if (depth === undefined) return [];
    const pct = (100 * (depth - value)) / depth;
    return [['fill_pct', round(Math.min(100, Math.max(0, pct)), 1)]];
  }
  if (metric === 'pulse_count') {
    const lpp = positiveNumber(attrs, 'litresPerPulse');
    if (lpp === undefined) return [];
    const offset = Number(attrs.volumeOffsetM3 ?? 0) || 0;
    return [['water_volume_m3', round((value * lpp) / 1000 + offset, 6)]];
  }
  return [];
}

function check(metric: string, value: ReadingValue, ts: number) {
  const def = metricDef(metric);
  if (!def) throw new DecodeError(`metric ${metric} is not in the vocabulary`);
  if (typeof value !== def.type) throw new DecodeError(`${metric} must be a ${def.type}, got ${typeof value}`);
  if (typeof value === 'number' && !Number.isFinite(value)) throw new DecodeError(`${metric} is not a finite number`);
  if (!Number.isFinite(ts) || ts < 0 || ts > 8.64e15) throw new DecodeError(`${metric} has an invalid timestamp`);
  return def;
}

function push(readings: Reading[], ctx: NormaliseContext, metric: string, value: ReadingValue, ts: number, seen: Set<string> | undefined): void {
  const def = check(metric, value, ts);
  // one value per (metric, ts) in a message: the last one wins, as in the store's key.
  // A few readings (the usual message): a scan; a batch: a set of keys, scanning only on a repeat
  let repeat = seen === undefined;
  if (seen !== undefined) {
    const key = `${metric}\u0000${ts}`;
    repeat = seen.has(key);
    seen.add(key);
  }
  if (repeat) {
    for (let i = 0; i < readings.length; i++) {
      if (readings[i]!.metric === metric && readings[i]!.ts === ts) { readings.splice(i, 1); break; }
    }
  }
  let quality: Reading['quality'] = 'ok';
  if (typeof value === 'number' && def.physical) {
    const { min, max } = def.physical;
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) quality = 'out_of_range';
  }
  readings.push({ deviceId: ctx.deviceId, metric, value, unit: def.unit, ts, receivedAt: ctx.receivedAt, quality });
}

export function normalise(decoded: Decoded, ctx: NormaliseContext): Normalised {
  const readings: Reading[] = [];
  const seen = decoded.readings.length > 16 ? new Set<string>() : undefined;
  for (const r of decoded.readings) {
    const ts = r.ts ?? ctx.receivedAt;
    push(readings, ctx, r.metric, r.value, ts, seen);
    if (r.metric !== 'distance_mm' && r.metric !== 'pulse_count') continue;
    for (const [metric, value] of derive(r.metric, r.value, ctx.attributes)) {
      // a device that reports the derived metric itself keeps its own value
      if (!decoded.readings.some((o) => o.metric === metric && (o.ts ?? ctx.receivedAt) === ts)) push(readings, ctx, metric, value, ts, seen);
    }
  }
  const events: DeviceEventRecord[] = decoded.events.map((e) => {
    const data = { ...e.data };
    if (typeof data.credential === 'string' && ctx.pseudonymise) data.credential = ctx.pseudonymise(data.credential);
    const ts = e.ts ?? ctx.receivedAt;
    if (!Number.isFinite(ts) || ts < 0 || ts > 8.64e15) throw new DecodeError(`event ${e.type} has an invalid timestamp`);
    return { deviceId: ctx.deviceId, type: e.type, ts, data };
  });
  return { readings, events };
}
