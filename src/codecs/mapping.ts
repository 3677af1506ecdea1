/**
 * From a user codec's output ({data, errors?, warnings?}) to decoded readings and events,
 * by the model's mapping. Pure. The codec's output is untrusted JSON: fields are looked up
 * as own properties only (a `__proto__` or `constructor` key leads nowhere), values are
 * type-checked against the vocabulary, and anything wrong is a DecodeError (a dead letter
 * with the reason). A mapped field that is absent (or null) gives no reading: codecs leave
 * out what a frame does not carry.
 */
import { DecodeError, type Decoded, type DecodedEvent } from '../core/model.js';
import { metricDef } from '../core/vocabulary.js';
import { converter } from './units.js';
import type { UserModelDefinition } from './schema.js';

/** how the sandbox sends NaN and ±Infinity, which JSON has no text for (sandbox.worker.mjs) */
export const NON_FINITE = '\u0000nonFinite';
const nonFinite = (v: unknown): string | undefined =>
  typeof v === 'object' && v !== null && Object.hasOwn(v, NON_FINITE) ? String((v as Record<string, unknown>)[NON_FINITE]) : undefined;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function lookup(data: Record<string, unknown>, path: string): unknown {
  let cur: unknown = data;
  for (const key of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `"${v.slice(0, 40)}"`;
  return Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v;
}

/** leaf paths of data, for unmapped: reject */
function leaves(v: unknown, prefix: string, out: string[]): void {
  if (typeof v === 'object' && v !== null && Object.keys(v).length > 0) {
    for (const [k, c] of Object.entries(v)) leaves(c, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out.push(prefix);
}

export function mapOutput(def: UserModelDefinition, output: unknown, receivedAt: number): Decoded {
  if (!isObject(output)) throw new DecodeError(`codec returned ${describe(output)}, not {data, errors?, warnings?}`);
  const errors = output.errors;
  if (errors !== undefined && errors !== null) {
    if (!Array.isArray(errors)) throw new DecodeError('codec output: errors must be an array of strings');
    if (errors.length > 0) throw new DecodeError(`codec reported errors: ${errors.map((e) => String(e).slice(0, 200)).join('; ').slice(0, 1000)}`);
  }
  const data = output.data;
  if (!isObject(data)) throw new DecodeError(`codec output: data is ${describe(data)}, not an object`);

  const decoded: Decoded = { readings: [], events: [] };
  for (const f of def.mapping) {
    const raw = lookup(data, f.path);
    if (raw === undefined || raw === null) continue;
    const nf = nonFinite(raw);
    if (nf !== undefined) throw new DecodeError(`codec output ${f.path} is ${nf}, not a finite number`);
    const m = metricDef(f.metric)!;
    if (m.type === 'number') {
      if (typeof raw !== 'number') throw new DecodeError(`codec output ${f.path} is ${describe(raw)}: ${f.metric} needs a number`);
      if (!Number.isFinite(raw)) throw new DecodeError(`codec output ${f.path} is not a finite number`);
      let value = raw * (f.scale ?? 1) + (f.offset ?? 0);
      if (f.unit !== undefined) value = converter(f.unit, m.unit)!(value);
      if (!Number.isFinite(value)) throw new DecodeError(`codec output ${f.path} is not a finite number after scale, offset and unit`);
      // conversions in binary floating point: 12 significant digits are more than any sensor has
      decoded.readings.push({ metric: f.metric, value: Number(value.toPrecision(12)) });
    } else if (m.type === 'boolean') {
      if (typeof raw !== 'boolean') throw new DecodeError(`codec output ${f.path} is ${describe(raw)}: ${f.metric} needs true or false`);
      decoded.readings.push({ metric: f.metric, value: raw });
    } else {
      if (typeof raw !== 'string') throw new DecodeError(`codec output ${f.path} is ${describe(raw)}: ${f.metric} needs a string`);
      decoded.readings.push({ metric: f.metric, value: raw.slice(0, 256) });
    }
  }
  for (const e of def.events ?? []) {
    if (lookup(data, e.path) !== e.equals) continue;
    const eventData: Record<string, unknown> = {};
    for (const [key, path] of Object.entries(e.data ?? {})) {
      const v = lookup(data, path);
      if (nonFinite(v) !== undefined) throw new DecodeError(`codec output ${path} is ${nonFinite(v)}, not a finite number`);
      if (v !== undefined) eventData[key] = v;
    }
    const event: DecodedEvent = { type: e.type, ts: receivedAt, data: eventData };
    decoded.events.push(event);
  }
  if (def.unmapped === 'reject') {
    const known = new Set([...def.mapping.map((f) => f.path), ...(def.events ?? []).flatMap((e) => [e.path, ...Object.values(e.data ?? {})])]);
    const all: string[] = [];
    leaves(data, '', all);
    const extra = all.filter((p) => !known.has(p) && ![...known].some((k) => p.startsWith(`${k}.`)));
    if (extra.length > 0) throw new DecodeError(`codec output has fields the mapping does not name: ${extra.slice(0, 10).join(', ')}`);
  }
  return decoded;
}
