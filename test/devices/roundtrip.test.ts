/**
 * Decoders follow the vendors' byte layouts, not just the corpus examples: fresh values are
 * encoded with each vendor's layout (simulators/encoders/vendors.ts) and decoded back.
 */
import { describe, expect, it } from 'vitest';
import { ENCODERS } from '../../simulators/encoders/index.js';
import type { SimValues } from '../../simulators/encoders/types.js';
import { getModel, MODELS } from '../../devices/index.js';
import { DecodeError } from '../../src/core/model.js';
import { mulberry32 } from '../../simulators/prng.js';


it('every binary vendor model has an encoder', () => {
  const binary = MODELS.filter((m) => m.format === 'binary').map((m) => m.id).sort();
  expect(Object.keys(ENCODERS).sort()).toEqual(binary);
});

describe.each(Object.entries(ENCODERS))('%s', (id, enc) => {
  const model = getModel(id)!;
  it('decodes 500 freshly encoded value sets to the same values', () => {
    const rnd = mulberry32(id.length * 7919);
    for (let i = 0; i < 500; i++) {
      const values: SimValues = {};
      for (const [metric, range] of Object.entries(enc.metrics)) {
        if (range === 'boolean') values[metric] = rnd() < 0.5;
        else {
          const step = range.step ?? 1;
          const k = Math.floor(rnd() * (Math.floor((range.max - range.min) / step) + 1));
          values[metric] = Math.round((range.min + k * step) * 1e6) / 1e6;
        }
      }
      const { port, payload } = enc.encode(values);
      const decoded = model.decode({ payload, port, receivedAt: 1_700_000_000_000, attributes: enc.attributes });
      const got = new Map(decoded.readings.map((r) => [r.metric, r.value]));
      for (const [metric, want] of Object.entries(values)) {
        const step = enc.metrics[metric] === 'boolean' ? 0 : (enc.metrics[metric] as { step?: number }).step ?? 1;
        const v = got.get(metric);
        if (typeof want === 'boolean') expect(v, `${metric} of ${payload.toString('hex')}`).toBe(want);
        else expect(Math.abs((v as number) - want), `${metric}: ${v} vs ${want} from ${payload.toString('hex')}`).toBeLessThanOrEqual(step / 2 + 1e-9);
      }
    }
  });

  it('turns every truncation of a valid frame into readings or a DecodeError, nothing else', () => {
    const values: SimValues = {};
    for (const [metric, range] of Object.entries(enc.metrics)) values[metric] = range === 'boolean' ? true : range.min;
    const { port, payload } = enc.encode(values);
    let refused = 0;
    for (let cut = 0; cut < payload.length; cut++) {
      try {
        model.decode({ payload: payload.subarray(0, cut), port, receivedAt: 0, attributes: enc.attributes });
      } catch (err) {
        expect(err, `cut at ${cut}`).toBeInstanceOf(DecodeError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });
});
