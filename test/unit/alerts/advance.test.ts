/**
 * advance(): evaluate() in place, for the service's own states. The same transitions and
 * states as evaluate() on a copy, and `changed` false only when a state made of `{active}`
 * conditions kept `active` (the service then neither marks nor rewrites it).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { advance, evaluate, initialState, type Advance, type AlertInput, type EvalContext } from '../../../src/alerts/evaluate.js';
import { loadRules, type Rule } from '../../../src/alerts/rules.js';
import { ROOT } from '../../helpers/gateway.js';

const file = loadRules(join(ROOT, 'config/rules.yaml'), true);
const rule = (id: string): Rule => file.rules.find((r) => r.id === id)!;
const T0 = Date.parse('2026-11-22T00:00:00Z');
const ctx: EvalContext = {
  device: { id: 'd', kind: 'water_quality', site: 'a/b', attributes: {}, lastSeen: T0, createdAt: T0, reportIntervalS: 600, lowBatteryV: 3.0 },
  sites: {},
};
const reading = (metric: string, value: number | boolean, ts: number): AlertInput =>
  ({ type: 'reading', reading: { deviceId: 'd', metric, value, unit: null, ts, receivedAt: ts, quality: 'ok' } });

describe('advance', () => {
  it('steps the state in place with the transitions evaluate() gives on a copy', () => {
    for (const [id, inputs] of [
      ['ph_out_of_range', [7.0, 9.3, 9.4, 8.45, 8.3, 6.4, 7.0].map((v, i) => reading('ph', v, T0 + i * 1000))],
      ['sensor_stuck', Array.from({ length: 14 }, (_, i) => reading('ph', i === 13 ? 7.3 : 7.21, T0 + i * 40 * 60_000))],
      ['meter_counter_regressed', [10, 11, 9, 12].map((v, i) => reading('water_volume_m3', v, T0 + i * 1000))],
      ['door_held_open', [reading('door_open', true, T0), { type: 'tick', now: T0 + 121_000 } as AlertInput, reading('door_open', false, T0 + 130_000)]],
    ] as Array<[string, AlertInput[]]>) {
      const r = rule(id);
      let copy = initialState(r);
      const inPlace = initialState(r);
      const out: Advance = { transition: undefined, changed: false };
      for (const input of inputs) {
        const res = evaluate(r, input, copy, ctx);
        advance(r, input, inPlace, ctx, out);
        expect(out.transition ? [out.transition] : []).toEqual(res.transitions);
        expect(inPlace).toEqual(res.state);
        copy = res.state;
      }
    }
  });

  it('says unchanged only when an {active}-only state kept active', () => {
    const r = rule('ph_out_of_range');
    const s = initialState(r);
    const out: Advance = { transition: undefined, changed: true };
    advance(r, reading('ph', 7.0, T0), s, ctx, out);
    expect(out.changed).toBe(false);
    advance(r, reading('ph', 9.3, T0 + 1), s, ctx, out);
    expect([out.changed, out.transition?.type]).toEqual([true, 'open']);
    advance(r, reading('ph', 9.4, T0 + 2), s, ctx, out);
    expect([out.changed, out.transition?.type]).toEqual([false, 'repeat']);
    advance(r, reading('ph', 8.3, T0 + 3), s, ctx, out);
    expect([out.changed, out.transition?.type]).toEqual([true, 'resolve']);
    // a state that remembers inputs (the stuck counter) counts as changed whenever it is stepped
    const st = rule('sensor_stuck');
    const ss = initialState(st);
    advance(st, reading('ph', 7.0, T0), ss, ctx, out);
    advance(st, reading('ph', 7.0, T0 + 1), ss, ctx, out);
    expect(out.changed).toBe(true);
    // a revived state missing a condition's part gains it: changed
    const revived = { active: false, conds: [] };
    advance(r, reading('ph', 7.0, T0), revived, ctx, out);
    expect([out.changed, revived.conds.length]).toEqual([true, 1]);
  });
});
