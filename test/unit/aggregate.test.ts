import { describe, expect, it } from 'vitest';
import { aggregate, bucketStarter, counterIncrease, parseEvery } from '../../src/core/aggregate.js';

const t = (iso: string) => Date.parse(iso);

describe('bucketed aggregation', () => {
  it('hourly mean, min, max, count with UTC-aligned buckets (hand-computed)', () => {
    const pts = [
      { ts: t('2026-11-22T08:05:00Z'), value: 10 },
      { ts: t('2026-11-22T08:35:00Z'), value: 20 },
      { ts: t('2026-11-22T08:59:59.999Z'), value: 60 },
      { ts: t('2026-11-22T09:00:00Z'), value: 7 },
      { ts: t('2026-11-22T11:10:00Z'), value: 1 },
      { ts: t('2026-11-22T11:20:00Z'), value: 2 },
    ];
    const every = parseEvery('1h')!;
    expect(aggregate(pts, { every, agg: 'mean' })).toEqual([
      { ts: t('2026-11-22T08:00:00Z'), value: 30 },
      { ts: t('2026-11-22T09:00:00Z'), value: 7 },
      { ts: t('2026-11-22T11:00:00Z'), value: 1.5 },
    ]);
    expect(aggregate(pts, { every, agg: 'max' }).map((p) => p.value)).toEqual([60, 7, 2]);
    expect(aggregate(pts, { every, agg: 'min' }).map((p) => p.value)).toEqual([10, 7, 1]);
    expect(aggregate(pts, { every, agg: 'count' }).map((p) => p.value)).toEqual([3, 1, 2]);
    expect(aggregate(pts, { every, agg: 'sum' }).map((p) => p.value)).toEqual([90, 7, 3]);
    expect(aggregate(pts, { every, agg: 'first' }).map((p) => p.value)).toEqual([10, 7, 1]);
    expect(aggregate(pts, { every, agg: 'last' }).map((p) => p.value)).toEqual([60, 7, 2]);
  });

  it('booleans average to the fraction of time-points true (bay occupancy)', () => {
    const pts = [true, false, true, true].map((v, i) => ({ ts: t('2026-11-22T08:00:00Z') + i * 60_000, value: v }));
    expect(aggregate(pts, { every: parseEvery('1h')!, agg: 'mean' })).toEqual([{ ts: t('2026-11-22T08:00:00Z'), value: 0.75 }]);
  });

  it('day buckets in Asia/Shanghai start at local midnight (16:00Z the day before)', () => {
    const start = bucketStarter(parseEvery('1d')!, 'Asia/Shanghai');
    expect(new Date(start(t('2026-11-22T15:59:59Z'))).toISOString()).toBe('2026-11-21T16:00:00.000Z');
    expect(new Date(start(t('2026-11-22T16:00:00Z'))).toISOString()).toBe('2026-11-22T16:00:00.000Z');
    expect(new Date(bucketStarter(parseEvery('1d')!)(t('2026-11-22T15:59:59Z'))).toISOString()).toBe('2026-11-22T00:00:00.000Z');
  });

  it('daily delta in Asia/Shanghai with a meter that resets to zero mid-day (hand-computed)', () => {
    // local day 2026-11-22 (CST) = 2026-11-21T16:00Z .. 2026-11-22T16:00Z
    const previous = { ts: t('2026-11-21T15:00:00Z'), value: 100 }; // 23:00 local on the 21st
    const pts = [
      { ts: t('2026-11-21T15:30:00Z'), value: 101 },   // 21st local: +1
      { ts: t('2026-11-21T17:00:00Z'), value: 103.5 }, // 22nd 01:00 local: +2.5
      { ts: t('2026-11-22T01:00:00Z'), value: 110 },   // +6.5
      { ts: t('2026-11-22T04:00:00Z'), value: 0 },     // reset to zero: +0
      { ts: t('2026-11-22T06:00:00Z'), value: 4 },     // +4
      { ts: t('2026-11-22T15:59:00Z'), value: 9.25 },  // +5.25 -> day total 18.25
      { ts: t('2026-11-22T16:30:00Z'), value: 10 },    // 23rd local: +0.75
    ];
    const out = aggregate(pts, { every: parseEvery('1d')!, agg: 'delta', tz: 'Asia/Shanghai', previous });
    expect(out).toEqual([
      { ts: t('2026-11-20T16:00:00Z'), value: 1 },
      { ts: t('2026-11-21T16:00:00Z'), value: 18.25 },
      { ts: t('2026-11-22T16:00:00Z'), value: 0.75 },
    ]);
  });

  it('delta ignores small regressions (jitter) and keeps the higher baseline', () => {
    expect(counterIncrease(110, 109.9)).toEqual({ inc: 0, baseline: 110 });
    expect(counterIncrease(110, 2)).toEqual({ inc: 2, baseline: 2 });
    const pts = [110, 109.9, 110.5].map((v, i) => ({ ts: i * 1000, value: v }));
    expect(aggregate(pts, { every: parseEvery('1h')!, agg: 'delta' })[0]!.value).toBeCloseTo(0.5, 9);
  });

  it('rejects malformed intervals', () => {
    for (const bad of ['0h', '1w', 'h', '1.5h', '-1d', '99999999s']) expect(parseEvery(bad), bad).toBeUndefined();
  });
});
