import { describe, expect, it } from 'vitest';
import { epochToMs, parseIsoTime } from '../../src/core/time.js';
import { enforceTimePolicy } from '../../src/ingest/time-policy.js';
import { DecodeError } from '../../src/core/model.js';

describe('parseIsoTime', () => {
  it('accepts real instants, with or without offset (UTC), cutting digits beyond ms', () => {
    expect(parseIsoTime('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    expect(parseIsoTime('2026-11-22T08:00:00Z')).toBe(Date.UTC(2026, 10, 22, 8));
    expect(parseIsoTime('2026-11-22T08:00:00')).toBe(Date.UTC(2026, 10, 22, 8));
    expect(parseIsoTime('2026-11-22T16:00:00+08:00')).toBe(Date.UTC(2026, 10, 22, 8));
    expect(parseIsoTime('2026-11-22T07:30:00-0030')).toBe(Date.UTC(2026, 10, 22, 8));
    expect(parseIsoTime('2020-02-12T15:15:46.014773143Z')).toBe(Date.UTC(2020, 1, 12, 15, 15, 46, 14));
    expect(parseIsoTime('2020-02-12T15:15:46.57Z')).toBe(Date.UTC(2020, 1, 12, 15, 15, 46, 570));
    expect(parseIsoTime('9999-12-31')).toBe(253402214400000);
  });
  it('refuses days and times that do not exist, and what is not ISO-8601', () => {
    for (const s of ['2026-02-30', '2023-02-29', '2026-13-01', '2026-00-10', '2026-04-31', '2026-02-28T24:00:00Z', '2026-02-28T23:60:00Z', '2026-02-28T23:00:60Z', '2026-02-28T23:00:00+25:00', 'yesterday', '1700000000', '2026-2-3']) {
      expect(parseIsoTime(s), s).toBeUndefined();
    }
  });
});

describe('epochToMs', () => {
  it('tells seconds from milliseconds by magnitude', () => {
    expect(epochToMs(1_700_000_000)).toEqual({ ms: 1_700_000_000_000 });
    expect(epochToMs(1_700_000_000.25)).toEqual({ ms: 1_700_000_000_250 });
    expect(epochToMs(1_700_000_000_000)).toEqual({ ms: 1_700_000_000_000 });
    expect(epochToMs(99_999_999_999)).toEqual({ ms: 99_999_999_999_000 });
    expect(epochToMs(100_000_000_000)).toEqual({ ms: 100_000_000_000 });
    expect(epochToMs(1_700_000_000_000.5)).toHaveProperty('error');
    expect(epochToMs(-1)).toHaveProperty('error');
    expect(epochToMs(Number.NaN)).toHaveProperty('error');
  });
});

describe('enforceTimePolicy', () => {
  const now = Date.UTC(2026, 11, 1);
  it('passes the past and up to maxFuture ahead, refuses beyond with the metric named', () => {
    expect(() => enforceTimePolicy({ readings: [{ metric: 'ph', ts: 0 }, { metric: 'ph', ts: now + 300_000 }], events: [] }, now)).not.toThrow();
    expect(() => enforceTimePolicy({ readings: [{ metric: 'ph', ts: now + 300_001 }], events: [] }, now)).toThrow(DecodeError);
    expect(() => enforceTimePolicy({ readings: [], events: [{ type: 'tamper', ts: 8.64e15 }] }, now)).toThrow(/clock_skew: event tamper ts \+275760/);
    expect(() => enforceTimePolicy({ readings: [{ metric: 'ph', ts: now + 10_000 }], events: [] }, now, { maxFutureMs: 5000 })).toThrow(/more than 5 s ahead/);
  });
});
