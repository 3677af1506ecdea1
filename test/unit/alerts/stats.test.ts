import { describe, expect, it } from 'vitest';
import { percentile, responseStats } from '../../../src/alerts/stats.js';
import { compliance } from '../../../src/reports/water-quality.js';

describe('response-time statistics', () => {
  it('p90 is the nearest rank', () => {
    expect(percentile([], 90)).toBeNull();
    expect(percentile([5], 90)).toBe(5);
    expect(percentile([100, 10, 20, 30, 40, 50, 60, 70, 80, 90], 90)).toBe(90);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90)).toBe(10);
  });
  it('an alert resolved without acknowledgement waited until its resolution, an open one until now', () => {
    const g = responseStats([
      { rule: 'r', site: 's', kind: null, openedAt: 0, acknowledgedAt: null, resolvedAt: 100_000 },
      { rule: 'r', site: 's', kind: null, openedAt: 0, acknowledgedAt: null, resolvedAt: null },
    ], { groupBy: 'kind', overS: [60, 500], now: 1_000_000 });
    expect(g).toEqual([{ key: '', opened: 2, acknowledged: 0, resolved: 1, mttaS: null, mttrS: 100, p90AckS: null, unacknowledgedOverS: { 60: 2, 500: 1 } }]);
  });
});

describe('water-quality compliance', () => {
  it('weights each sample until the next one; the worst is the farthest beyond either bound', () => {
    const h = 3_600_000;
    const c = compliance([{ ts: 0, value: 6.0 }, { ts: h, value: 7 }, { ts: 4 * h, value: 8.7 }, { ts: 5 * h, value: 7 }], { min: 6.5, max: 8.5 });
    expect(c).toEqual({ samples: 4, exceedances: 2, withinShare: 0.6, worst: { value: 6.0, ts: 0 } });
    expect(compliance([{ ts: 0, value: 1.2 }], { max: 1 }).withinShare).toBe(0);
  });
});
