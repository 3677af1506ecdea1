/**
 * SenML (RFC 8428) JSON packs: base fields bn/bt/bu/bv/bver apply to the records after
 * them; a record's name is bn + n and its metric is the part after the last ':' or '/';
 * t below 2^28 is relative to now (RFC 8428 §4.5.3); times are seconds. Units convert to
 * the vocabulary's where the conversion is exact; anything else is a decode error.
 */
import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading, ReadingValue } from '../src/core/model.js';
import { metricDef, VOCABULARY } from '../src/core/vocabulary.js';
import { parseJson } from './lib/native-json.js';

const MAX_RECORDS = 1000;

/** SenML unit -> vocabulary unit, with the conversion */
const CONVERSIONS: Record<string, Record<string, (v: number) => number>> = {
  m3: { l: (v) => v / 1000 },
  kWh: { Wh: (v) => v / 1000, J: (v) => v / 3_600_000 },
  Cel: { K: (v) => v - 273.15 },
  W: { kW: (v) => v * 1000 },
  V: { mV: (v) => v / 1000 },
  mV: { V: (v) => v * 1000 },
  A: { mA: (v) => v / 1000 },
  '%': { '/': (v) => v * 100 },
  '%EL': { '%': (v) => v, '/': (v) => v * 100 },
  '%RH': { '/': (v) => v * 100 },
  mm: { m: (v) => v * 1000, cm: (v) => v * 10 },
  'm3/h': { 'l/s': (v) => v * 3.6, 'm3/s': (v) => v * 3600 },
};

const num = (v: unknown, field: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DecodeError(`${field} must be a finite number`);
  return v;
};
const str = (v: unknown, field: string): string => {
  if (typeof v !== 'string') throw new DecodeError(`${field} must be a string`);
  return v;
};

export function decodeSenml(payload: Buffer, receivedAt: number): DecodedReading[] {
  const pack = parseJson(payload);
  if (!Array.isArray(pack)) throw new DecodeError('a SenML pack is a JSON array of records');
  if (pack.length === 0) throw new DecodeError('empty SenML pack');
  if (pack.length > MAX_RECORDS) throw new DecodeError(`more than ${MAX_RECORDS} SenML records`);
  let bn = '';
  let bt = 0;
  let bu: string | undefined;
  let bv = 0;
  const out: DecodedReading[] = [];
  for (const [i, rec] of pack.entries()) {
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) throw new DecodeError(`record ${i} is not an object`);
    const r = rec as Record<string, unknown>;
    for (const k of Object.keys(r)) {
      if (!['bn', 'bt', 'bu', 'bv', 'bver', 'n', 'u', 'v', 'vs', 'vb', 'vd', 't', 's', 'ut', 'bs'].includes(k)) {
        // RFC 8428 §4.4: an unknown field ending in "_" must not be ignored
        if (k.endsWith('_')) throw new DecodeError(`record ${i}: unsupported mandatory field ${k}`);
      }
    }
    if (r.bver !== undefined && num(r.bver, 'bver') > 10) throw new DecodeError(`SenML version ${String(r.bver)} is not supported`);
    if (r.bn !== undefined) bn = str(r.bn, 'bn');
    if (r.bt !== undefined) bt = num(r.bt, 'bt');
    if (r.bu !== undefined) bu = str(r.bu, 'bu');
    if (r.bv !== undefined) bv = num(r.bv, 'bv');
    if (r.vd !== undefined) throw new DecodeError(`record ${i}: data values (vd) are not supported`);
    const hasValue = r.v !== undefined || r.vs !== undefined || r.vb !== undefined || r.s !== undefined;
    if (!hasValue) {
      if (r.n !== undefined) throw new DecodeError(`record ${i} has a name but no value`);
      continue; // a base-only record
    }
    const name = bn + (r.n === undefined ? '' : str(r.n, 'n'));
    const metric = name.split(/[:/]/).pop() ?? '';
    const def = metricDef(metric);
    if (!def) throw new DecodeError(`record ${i}: ${JSON.stringify(name.slice(0, 100))} is not a vocabulary metric`);
    let value: ReadingValue;
    if (def.type === 'boolean') {
      if (typeof r.vb !== 'boolean') throw new DecodeError(`record ${i}: ${metric} needs vb (a boolean)`);
      value = r.vb;
    } else if (def.type === 'string') {
      value = str(r.vs, 'vs');
    } else {
      let v = num(r.v ?? r.s, r.v !== undefined ? 'v' : 's') + bv;
      const unit = r.u === undefined ? bu : str(r.u, 'u');
      if (unit !== undefined && unit !== def.unit) {
        const conv = def.unit ? CONVERSIONS[def.unit]?.[unit] : undefined;
        if (!conv) throw new DecodeError(`record ${i}: unit ${JSON.stringify(unit)} cannot be converted to ${def.unit ?? 'a unitless value'} for ${metric}`);
        v = conv(v);
      }
      value = Math.round(v * 1e9) / 1e9;
    }
    const t = bt + (r.t === undefined ? 0 : num(r.t, 't'));
    // RFC 8428 §4.5.3: values below 2^28 are relative to the time of reception
    const ts = Math.abs(t) < 2 ** 28 ? receivedAt + t * 1000 : t * 1000;
    out.push({ metric, value, ts: Math.round(ts) });
  }
  if (out.length === 0) throw new DecodeError('SenML pack has no values');
  return out;
}

export default defineModel({
  id: 'senml',
  vendor: 'IETF',
  name: 'SenML JSON (RFC 8428)',
  kind: 'water_quality',
  description: 'Devices that publish RFC 8428 SenML packs with vocabulary names (bn "urn:dev:…:" + n "ph"). The nominal kind is water_quality (probes are the usual SenML speakers); a SenML device of another kind can use every vocabulary metric, and alert rules match on metrics.',
  format: 'senml',
  reportIntervalS: 600,
  metrics: Object.keys(VOCABULARY),
  deviations: ['Data values (vd) and sums (s) of non-cumulative metrics are not supported; a unit that cannot be converted exactly to the vocabulary unit is a decode error.'],
  decode: ({ payload, receivedAt }) => ({ readings: decodeSenml(payload, receivedAt), events: [] }),
  examples: [
    {
      description: 'probe pack with base name and base time',
      json: [{ bn: 'urn:dev:ow:10e2073a01080063:', bt: 1.7638128e9, n: 'ph', v: 7.2 }, { n: 'turbidity_ntu', v: 0.4, t: 60 }, { n: 'temperature_c', u: 'K', v: 291.15 }],
      series: [
        { metric: 'ph', ts: '2025-11-22T12:00:00Z', value: 7.2 }, { metric: 'turbidity_ntu', ts: '2025-11-22T12:01:00Z', value: 0.4 },
        { metric: 'temperature_c', ts: '2025-11-22T12:00:00Z', value: 18 },
      ],
    },
    {
      description: 'relative time and litres to m3', receivedAt: '2026-11-22T08:00:00Z',
      json: [{ bn: 'meter-7/', n: 'water_volume_m3', u: 'l', v: 123456, t: -30 }, { n: 'leak', vb: false }],
      series: [{ metric: 'water_volume_m3', ts: '2026-11-22T07:59:30Z', value: 123.456 }, { metric: 'leak', ts: '2026-11-22T08:00:00Z', value: false }],
    },
    { description: 'unit that does not convert', json: [{ n: 'ph', u: 'Cel', v: 7 }], error: 'cannot be converted' },
    { description: 'name outside the vocabulary', json: [{ n: 'colour', v: 3 }], error: 'not a vocabulary metric' },
    { description: 'data value', json: [{ n: 'ph', vd: 'AQI=' }], error: 'vd' },
  ],
});
