/** Pure rule evaluation with a fake clock: evaluate(rule, input, state, ctx) -> {state, transitions}. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate, initialState, type AlertInput, type EvalContext, type RuleState } from '../../../src/alerts/evaluate.js';
import { loadRules, type Rule } from '../../../src/alerts/rules.js';
import type { Reading } from '../../../src/core/types.js';
import { ROOT } from '../../helpers/gateway.js';

const file = loadRules(join(ROOT, 'config/rules.yaml'), true);
const rule = (id: string): Rule => file.rules.find((r) => r.id === id)!;
const T0 = Date.parse('2026-11-22T00:00:00Z');
const ctx = (over: Partial<EvalContext['device']> = {}): EvalContext => ({
  device: { id: 'd', kind: 'water_quality', site: 'a/b', attributes: {}, lastSeen: T0, createdAt: T0, reportIntervalS: 600, lowBatteryV: 3.0, ...over },
  sites: { 'a/b': { fill_pct: 85 } },
});
const reading = (metric: string, value: number | boolean, ts = T0, quality: Reading['quality'] = 'ok'): AlertInput =>
  ({ type: 'reading', reading: { deviceId: 'd', metric, value, unit: null, ts, receivedAt: ts, quality } });

/** Runs inputs in order, returning the transitions of each step. */
function run(r: Rule, inputs: AlertInput[], c = ctx()): { steps: string[]; state: RuleState } {
  let state = initialState(r);
  const steps: string[] = [];
  for (const i of inputs) {
    const res = evaluate(r, i, state, c);
    state = res.state;
    steps.push(res.transitions.map((t) => t.type).join(',') || '-');
  }
  return { steps, state };
}

describe('evaluate', () => {
  it('range with hysteresis: opens outside 6.5-8.5, repeats, holds in the dead band, clears inside 6.6-8.4', () => {
    expect(run(rule('ph_out_of_range'), [7.0, 9.3, 9.4, 8.45, 8.3, 6.4].map((v) => reading('ph', v))).steps).toEqual(['-', 'open', 'repeat', '-', 'resolve', 'open']);
  });

  it('ignores out-of-range readings in threshold rules and opens sensor_out_of_range for them', () => {
    expect(run(rule('ph_out_of_range'), [reading('ph', 15.2, T0, 'out_of_range')]).steps).toEqual(['-']);
    expect(run(rule('sensor_out_of_range'), [reading('ph', 15.2, T0, 'out_of_range'), reading('ph', 7.1)]).steps).toEqual(['open', 'resolve']);
    expect(run(rule('sensor_out_of_range'), [reading('temperature_c', 85)]).steps).toEqual(['open']);
  });

  it('site override: bin_full at 85 for the a/b subtree, device attribute wins over it', () => {
    const bin = ctx({ kind: 'bin_fill' });
    expect(run(rule('bin_full'), [reading('fill_pct', 82), reading('fill_pct', 85)], bin).steps).toEqual(['-', 'open']);
    expect(run(rule('bin_full'), [reading('fill_pct', 85)], ctx({ kind: 'bin_fill', attributes: { thresholds: { fill_pct: 95 } } })).steps).toEqual(['-']);
  });

  it('door held open: opens 120 s after the door opened, by reading time or by a tick of the fake clock', () => {
    const r = rule('door_held_open');
    expect(run(r, [reading('door_open', true, T0), reading('door_open', true, T0 + 119_000), reading('door_open', true, T0 + 121_000)]).steps).toEqual(['-', '-', 'open']);
    expect(run(r, [reading('door_open', true, T0), { type: 'tick', now: T0 + 100_000 }, { type: 'tick', now: T0 + 120_500 }, reading('door_open', false, T0 + 130_000)]).steps)
      .toEqual(['-', '-', 'open', 'resolve']);
  });

  it('rate window: 5 denied for one card within 60 s; expires on a later tick', () => {
    const denied = (t: number, card = 'h:1'): AlertInput => ({ type: 'event', event: { deviceId: 'd', type: 'access_denied', ts: t, data: { credential: card } } });
    const r = rule('access_denied_burst');
    const { steps } = run(r, [denied(T0), denied(T0 + 10_000), denied(T0 + 20_000, 'h:2'), denied(T0 + 30_000), denied(T0 + 40_000), denied(T0 + 50_000), { type: 'tick', now: T0 + 200_000 }]);
    expect(steps).toEqual(['-', '-', '-', '-', '-', 'open', 'resolve']);
    expect(run(r, [0, 20, 40, 61, 80].map((s) => denied(T0 + s * 1000))).steps).toEqual(['-', '-', '-', '-', '-']);
  });

  it('stuck: the same value 12 times over at least 6 h', () => {
    const r = rule('sensor_stuck');
    const same = Array.from({ length: 12 }, (_, i) => reading('ph', 7.21, T0 + i * 40 * 60_000));
    expect(run(r, same).steps.at(-1)).toBe('open');
    const fast = Array.from({ length: 12 }, (_, i) => reading('ph', 7.21, T0 + i * 60_000));
    expect(run(r, fast).steps.includes('open')).toBe(false);
    expect(run(r, [...same, reading('ph', 7.3, T0 + 13 * 40 * 60_000)]).steps.at(-1)).toBe('resolve');
  });

  it('no data: offline after 3 x the report interval on a tick, back on any message', () => {
    const r = rule('device_offline');
    const c = ctx({ lastSeen: T0, reportIntervalS: 60 });
    const msg: AlertInput = { type: 'event', event: { deviceId: 'd', type: '$message', ts: T0 + 200_000, data: {} } };
    expect(run(r, [{ type: 'tick', now: T0 + 179_000 }, { type: 'tick', now: T0 + 181_000 }, { type: 'tick', now: T0 + 190_000 }, msg], c).steps).toEqual(['-', 'open', '-', 'resolve']);
  });

  it('battery: percent below 20, or volts below the model\'s low-battery level, with a clear margin', () => {
    const r = rule('battery_low');
    expect(run(r, [reading('battery_pct', 19), reading('battery_pct', 22), reading('battery_pct', 26)]).steps).toEqual(['open', '-', 'resolve']);
    expect(run(r, [reading('battery_v', 2.95), reading('battery_v', 3.05), reading('battery_v', 3.12)]).steps).toEqual(['open', '-', 'resolve']);
  });

  it('counter regressed: backwards beyond the allowance, late history ignored, crew resolves', () => {
    const r = rule('meter_counter_regressed');
    const c = ctx({ kind: 'water_meter' });
    expect(run(r, [reading('water_volume_m3', 100, T0), reading('water_volume_m3', 90, T0 - 1000), reading('water_volume_m3', 99, T0 + 1000), reading('water_volume_m3', 101, T0 + 2000)], c).steps)
      .toEqual(['-', '-', 'open', '-']);
    expect(run(r, [reading('water_volume_m3', 100, T0), reading('water_volume_m3', 99.5, T0 + 1000)], ctx({ kind: 'water_meter', attributes: { rolloverAllowance: 1 } })).steps).toEqual(['-', '-']);
  });

  it('water leak: night flow above 0.05 m3/h between 02:00 and 04:00 local', () => {
    const r = rule('water_leak_suspected');
    const c = ctx({ kind: 'water_meter' });
    const night = Date.parse('2026-11-22T02:30:00+08:00');
    expect(run(r, [reading('water_volume_m3', 10, night), reading('water_volume_m3', 10.1, night + 30 * 60_000)], c).steps).toEqual(['-', 'open']);
    const day = Date.parse('2026-11-22T12:00:00+08:00');
    expect(run(r, [reading('water_volume_m3', 10, day), reading('water_volume_m3', 10.1, day + 30 * 60_000)], c).steps).toEqual(['-', '-']);
  });

  it('water leak: an interval that began before 02:00 is not night flow, one inside the night is', () => {
    const r = rule('water_leak_suspected');
    const c = ctx({ kind: 'water_meter' });
    const at = (hhmm: string) => Date.parse(`2026-11-22T${hhmm}:00+08:00`);
    // an hourly meter: the evening's 2.5 m3 read at 02:04 is not a leak; the same from 02:04 to 03:04 is
    expect(run(r, [reading('water_volume_m3', 10, at('01:04')), reading('water_volume_m3', 12.5, at('02:04'))], c).steps).toEqual(['-', '-']);
    expect(run(r, [reading('water_volume_m3', 10, at('02:04')), reading('water_volume_m3', 12.5, at('03:04'))], c).steps).toEqual(['-', 'open']);
    // a meter every minute: the first minute inside the night counts, the one across 02:00 does not
    expect(run(r, [reading('water_volume_m3', 10, at('01:59')), reading('water_volume_m3', 10.01, at('02:00'))], c).steps).toEqual(['-', '-']);
    expect(run(r, [reading('water_volume_m3', 10, at('02:00')), reading('water_volume_m3', 10.01, at('02:01'))], c).steps).toEqual(['-', 'open']);
    // and what ends at 04:00 or later is day again
    expect(run(r, [reading('water_volume_m3', 10, at('03:30')), reading('water_volume_m3', 11, at('04:00'))], c).steps).toEqual(['-', '-']);
  });

  it('water leak: consumption in every hour of the last 24 h', () => {
    const r = rule('water_leak_suspected');
    const c = ctx({ kind: 'water_meter' });
    const start = Date.parse('2026-11-22T08:00:00+08:00');
    const hourly = Array.from({ length: 26 }, (_, h) => reading('water_volume_m3', 10 + h * 0.01, start + h * 3_600_000));
    const steps = run(r, hourly, c).steps;
    expect(steps.indexOf('open')).toBe(24);
  });

  it('the state is plain JSON, so it survives a restart', () => {
    const r = rule('sensor_stuck');
    const { state } = run(r, Array.from({ length: 6 }, (_, i) => reading('ph', 7.21, T0 + i * 40 * 60_000)));
    const revived = JSON.parse(JSON.stringify(state)) as RuleState;
    const rest = Array.from({ length: 6 }, (_, i) => reading('ph', 7.21, T0 + (i + 6) * 40 * 60_000));
    let s = revived;
    const steps: string[] = [];
    for (const i of rest) { const res = evaluate(r, i, s, ctx()); s = res.state; steps.push(res.transitions.map((t) => t.type).join() || '-'); }
    expect(steps.at(-1)).toBe('open');
  });
});
