import { describe, expect, it } from 'vitest';
import { AlertError, acknowledged, autoResolved, opened, reopened, repeated, resolvedBy } from '../../../src/alerts/lifecycle.js';
import { siteWithin } from '../../../src/core/sites.js';
import { isOnline, offlineAt, reportIntervalS } from '../../../src/core/presence.js';

const base = opened({ id: 'A1', rule: { id: 'bin_full', severity: 'major' }, device: { id: 'bin-1', kind: 'bin_fill', site: 'a/b' }, trigger: { metric: 'fill_pct', value: 86, threshold: 80 }, message: 'full', now: 1000, silenced: false });

describe('lifecycle (pure)', () => {
  it('each step returns a new alert and leaves the old one alone', () => {
    const rep = repeated(base, { value: 90 }, (m, v, t) => `${m} ${String(v)} > ${String(t)}`, 2000);
    expect(rep).toMatchObject({ occurrences: 2, lastSeenAt: 2000, value: 90, metric: 'fill_pct', threshold: 80, message: 'fill_pct 90 > 80' });
    expect(base).toMatchObject({ occurrences: 1, value: 86 });
    const ack = acknowledged(rep, 'crew-li', 'on my way', 3000);
    expect(ack).toMatchObject({ status: 'acknowledged', acknowledgedAt: 3000, acknowledgedBy: 'crew-li', notes: [{ at: 3000, by: 'crew-li', text: 'on my way' }] });
    expect(rep.notes).toEqual([]);
    const res = autoResolved(ack, 4000);
    expect(res).toMatchObject({ status: 'resolved', resolvedBy: 'gateway', resolution: 'auto', resolvedAt: 4000 });
    expect(() => acknowledged(res, 'x', undefined, 5000)).toThrow(AlertError);
    expect(() => resolvedBy(res, 'x', undefined, 5000)).toThrow(/already resolved/);
    const again = reopened(res, { metric: 'fill_pct', value: 95, threshold: 80 }, 'full again', 30_000, true);
    expect(again).toMatchObject({ id: 'A1', status: 'open', occurrences: 3, openedAt: 1000, acknowledgedAt: null, resolvedAt: null, silenced: true });
  });
});

describe('site prefixes and presence', () => {
  it('a prefix names whole segments', () => {
    expect(siteWithin('a/b/c', 'a/b')).toBe(true);
    expect(siteWithin('a/b', 'a/b/')).toBe(true);
    expect(siteWithin('a/bc', 'a/b')).toBe(false);
    expect(siteWithin('x', '')).toBe(true);
  });
  it('online within 3 report intervals: the attribute overrides the model', () => {
    expect(reportIntervalS({}, 600)).toBe(600);
    expect(reportIntervalS({ reportIntervalS: 60 }, 600)).toBe(60);
    expect(reportIntervalS({}, undefined)).toBe(3600);
    const d = { lastSeen: 0, createdAt: 0, attributes: { reportIntervalS: 60 } };
    expect(offlineAt(d, 600)).toBe(180_000);
    expect(isOnline(d, 600, 180_000)).toBe(true);
    expect(isOnline(d, 600, 180_001)).toBe(false);
    expect(isOnline({ ...d, lastSeen: null }, 600, 0)).toBe(false);
  });
});
