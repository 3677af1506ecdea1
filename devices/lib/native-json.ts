/**
 * Native JSON payloads (VOCABULARY.md "Native payload formats"): the normalised names
 * themselves, an optional `ts` (ISO-8601, epoch seconds or epoch ms), optionally an array of such
 * objects for buffered readings. Unknown keys are a decode error, not silently dropped.
 */
import { DecodeError, type Decoded, type DecodeInput, type ReadingValue } from '../../src/core/model.js';
import { metricDef, type EventType } from '../../src/core/vocabulary.js';
import { epochToMs, parseIsoTime } from '../../src/core/time.js';

export const MAX_JSON_RECORDS = 1000;

export function parseJson(payload: Buffer): unknown {
  const text = payload.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DecodeError(`invalid JSON: ${(err as Error).message}`);
  }
}

/**
 * `ts` of a native payload: ISO-8601 (a day that exists), or an epoch number / digit string
 * in seconds or milliseconds, told apart by magnitude (src/core/time.ts).
 */
export function parseTimestamp(v: unknown, field = 'ts'): number {
  let ms: number;
  if (typeof v === 'number' || (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()))) {
    const r = epochToMs(Number(v));
    if ('error' in r) throw new DecodeError(`${field} ${r.error}`);
    ms = r.ms;
  } else if (typeof v === 'string' && v.trim() !== '') {
    const t = parseIsoTime(v);
    if (t === undefined) throw new DecodeError(`${field} ${JSON.stringify(v.slice(0, 40))} is not an ISO-8601 time (or names a day that does not exist)`);
    ms = t;
  } else throw new DecodeError(`${field} must be ISO-8601 or epoch seconds / milliseconds`);
  if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15) throw new DecodeError(`${field} is not a valid time`);
  return ms;
}

export interface NativeJsonOptions {
  metrics: readonly string[];
  /** event types a payload may carry as {"event": type, ...data fields} */
  events?: readonly EventType[];
  /** data fields an event may carry */
  eventFields?: readonly string[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function nativeJsonDecoder(opts: NativeJsonOptions): (input: DecodeInput) => Decoded {
  const allowed = new Set(opts.metrics);
  const events = new Set<string>(opts.events ?? []);
  const eventFields = new Set(opts.eventFields ?? []);

  const record = (obj: unknown, out: Decoded) => {
    if (!isPlainObject(obj)) throw new DecodeError('payload must be a JSON object or an array of objects');
    const ts = obj.ts === undefined ? undefined : parseTimestamp(obj.ts);
    if (Object.prototype.hasOwnProperty.call(obj, 'event')) {
      const type = obj.event;
      if (typeof type !== 'string' || !events.has(type)) throw new DecodeError(`unknown event ${JSON.stringify(type)} for this model`);
      const data: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(obj)) {
        if (k === 'event' || k === 'ts') continue;
        if (!eventFields.has(k)) throw new DecodeError(`unknown event field ${JSON.stringify(k)}`);
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new DecodeError(`event field ${k} must be a scalar`);
        if (typeof v === 'string' && v.length > 256) throw new DecodeError(`event field ${k} is too long`);
        data[k] = v;
      }
      out.events.push({ type: type as EventType, ts, data });
      return;
    }
    let n = 0;
    // for-in with the own-property test, not Object.entries: the same keys in the same order
    // without an array of pairs per message (a quarter of this decoder's allocations)
    for (const k in obj) {
      if (k === 'ts' || !Object.prototype.hasOwnProperty.call(obj, k)) continue;
      const v = obj[k];
      if (!allowed.has(k)) throw new DecodeError(`unknown key ${JSON.stringify(k.slice(0, 64))} for this model`);
      const def = metricDef(k)!;
      if (typeof v !== def.type) throw new DecodeError(`${k} must be a ${def.type}`);
      if (typeof v === 'number' && !Number.isFinite(v)) throw new DecodeError(`${k} is not a finite number`);
      out.readings.push({ metric: k, value: v as ReadingValue, ts });
      n++;
    }
    if (n === 0) throw new DecodeError('payload has no readings');
  };

  return ({ payload }) => {
    const body = parseJson(payload);
    const out: Decoded = { readings: [], events: [] };
    if (Array.isArray(body)) {
      if (body.length === 0) throw new DecodeError('empty array');
      if (body.length > MAX_JSON_RECORDS) throw new DecodeError(`more than ${MAX_JSON_RECORDS} records`);
      for (const item of body) record(item, out);
    } else {
      record(body, out);
    }
    return out;
  };
}
