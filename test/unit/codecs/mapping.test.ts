import { describe, expect, it } from 'vitest';
import { mapOutput, NON_FINITE } from '../../../src/codecs/mapping.js';
import { UserModelSchema } from '../../../src/codecs/schema.js';
import { converter } from '../../../src/codecs/units.js';

const def = (extra: Record<string, unknown> = {}) => UserModelSchema.parse({
  id: 'user.t', vendor: 'v', name: 'n', kind: 'water_meter', format: 'binary', reportIntervalS: 60, decoder: 'function decodeUplink(){}',
  mapping: [
    { path: 'vol.litres', metric: 'water_volume_m3', unit: 'L' },
    { path: 'flow', metric: 'water_flow_m3h', unit: 'L/min' },
    { path: 'temp', metric: 'temperature_c', scale: 0.01, offset: -40 },
    { path: 'leak', metric: 'leak' },
  ],
  events: [{ type: 'tamper', path: 'alarm.code', equals: 3, data: { code: 'alarm.code', where: 'alarm.where' } }],
  ...extra,
});
const T = Date.parse('2026-01-01T00:00:00Z');

describe('user codec mapping', () => {
  it('converts declared units and scales, keeps booleans, skips absent fields', () => {
    const out = mapOutput(def(), { data: { vol: { litres: 123456 }, flow: 25, temp: 6250, leak: false, extra: 'ignored' } }, T);
    expect(out.readings).toEqual([
      { metric: 'water_volume_m3', value: 123.456 }, { metric: 'water_flow_m3h', value: 1.5 },
      { metric: 'temperature_c', value: 22.5 }, { metric: 'leak', value: false },
    ]);
    expect(mapOutput(def(), { data: { flow: null } }, T).readings).toEqual([]);
  });

  it('records mapped events with their data', () => {
    const out = mapOutput(def(), { data: { alarm: { code: 3, where: 'lid' } } }, T);
    expect(out.events).toEqual([{ type: 'tamper', ts: T, data: { code: 3, where: 'lid' } }]);
    expect(mapOutput(def(), { data: { alarm: { code: 2 } } }, T).events).toEqual([]);
  });

  it.each([
    [{ data: { flow: '25' } }, /flow is "25": water_flow_m3h needs a number/],
    [{ data: { leak: 1 } }, /leak is 1: leak needs true or false/],
    [{ data: { flow: { [NON_FINITE]: 'NaN' } } }, /flow is NaN, not a finite number/],
    [{ data: { temp: 1e308 * 10 } }, /not a finite number/],
    [{ data: {}, errors: ['bad crc'] }, /codec reported errors: bad crc/],
    [{ data: [1, 2] }, /data is an array, not an object/],
    [null, /codec returned object|codec returned null|not \{data/],
    [{ errors: 'x', data: {} }, /errors must be an array/],
  ])('refuses %j', (output, reason) => {
    expect(() => mapOutput(def(), output, T)).toThrow(reason);
  });

  it('refuses a value that overflows in its conversion', () => {
    expect(() => mapOutput(def({ mapping: [{ path: 'x', metric: 'temperature_c', scale: 1e10 }] }), { data: { x: 1e300 } }, T)).toThrow(/x is not a finite number after scale, offset and unit/);
  });

  it('reads own properties only', () => {
    const polluted = JSON.parse('{"data": {"__proto__": {"flow": 5}, "vol": {"constructor": {"litres": 1}}}}');
    expect(mapOutput(def(), polluted, T).readings).toEqual([]);
    expect(mapOutput(def({ mapping: [{ path: 'toString', metric: 'tds_mg_l' }] }), { data: {} }, T).readings).toEqual([]);
  });

  it('unmapped: reject names the fields no mapping covers', () => {
    expect(() => mapOutput(def({ unmapped: 'reject' }), { data: { flow: 1, raw: { a: 1, b: [1] } } }, T)).toThrow(/does not name: raw.a, raw.b.0/);
    expect(mapOutput(def({ unmapped: 'reject' }), { data: { flow: 1, alarm: { code: 1, where: 'x' } } }, T).readings).toHaveLength(1);
  });

  it('schema: units must convert into the metric unit; one mapping per metric', () => {
    expect(converter('degF', 'Cel')!(212)).toBeCloseTo(100, 10);
    expect(converter('K', 'Cel')!(273.15)).toBe(0);
    expect(converter('parsec', 'mm')).toBeUndefined();
    const bad = UserModelSchema.safeParse({ ...def(), mapping: [{ path: 'a', metric: 'ph', unit: 'mV' }, { path: 'b', metric: 'leak', scale: 2 }, { path: 'c', metric: 'ph' }] });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['mapping.0.unit', 'mapping.1.metric', 'mapping.2.metric']);
    expect(UserModelSchema.safeParse({ ...def(), id: 'acme.thing' }).success).toBe(false);
  });
});
