import { describe, expect, it } from 'vitest';
import { MODELS } from '../../devices/index.js';
import { runExample } from '../../src/ingest/examples.js';
import { DecodeError } from '../../src/core/model.js';

/** Every model's own examples, decoded and normalised, must give exactly the readings the example states. */
describe.each(MODELS.map((m) => [m.id, m] as const))('model %s', (_id, model) => {
  it.each(model.examples.map((e) => [e.description, e] as const))('example: %s', (_d, example) => {
    if (example.error !== undefined) {
      expect(() => runExample(model, example)).toThrow(DecodeError);
      expect(() => runExample(model, example)).toThrow(example.error);
      return;
    }
    const out = runExample(model, example);
    const receivedAt = example.receivedAt ? Date.parse(example.receivedAt) : Date.parse('2026-01-01T00:00:00Z');
    const expected: Array<{ metric: string; ts: number; value: unknown }> = [];
    for (const [metric, value] of Object.entries(example.readings ?? {})) expected.push({ metric, ts: receivedAt, value });
    for (const s of example.series ?? []) expected.push({ metric: s.metric, ts: Date.parse(s.ts), value: s.value });
    const actual = out.readings.map((r) => ({ metric: r.metric, ts: r.ts, value: r.value }));
    const key = (r: { metric: string; ts: number }) => `${r.metric}@${r.ts}`;
    const sort = <T extends { metric: string; ts: number }>(a: T[]) => [...a].sort((x, y) => key(x).localeCompare(key(y)));
    const toBeClose = sort(expected).map((e) => (typeof e.value === 'number' ? { ...e, value: expect.closeTo(e.value, 6) } : e));
    expect(sort(actual)).toEqual(toBeClose);
    for (const r of out.readings) expect(model.metrics, `${r.metric} emitted but not declared in metrics`).toContain(r.metric);
    expect(out.events.map((e) => ({ type: e.type, data: e.data }))).toEqual((example.events ?? []).map((e) => ({ type: e.type, data: e.data ?? {} })));
  });
});
