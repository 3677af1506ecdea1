/**
 * Parsing the times devices and network servers send (docs/vocabulary.md "Timestamps").
 * Pure: no clock.
 */

/**
 * Epoch numbers below this are seconds, at or above it milliseconds: 1e11 s is the year
 * 5138 and 1e11 ms is 1973-03-03, so no plausible reading time falls on the wrong side.
 */
export const EPOCH_SECONDS_BELOW = 1e11;

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * ISO-8601 / RFC 3339 date or date-time to epoch ms, or undefined when it is not one or names
 * a day that does not exist (2026-02-30: Date.parse would roll it over to March 2).
 * Without an offset the time is UTC (the gateway's zone is not the device's); fractions
 * beyond milliseconds (TTN's nanoseconds) are cut.
 */
export function parseIsoTime(s: string): number | undefined {
  const m = ISO.exec(s.trim());
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMin = 0;
  const tz = m[8];
  if (tz && tz !== 'Z' && tz !== 'z') {
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return undefined;
    offsetMin = sign * (oh * 60 + om);
  }
  // digits beyond milliseconds are cut, as Date.parse does (a time is not rounded into the next ms)
  const frac = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) + frac - offsetMin * 60_000;
  // Date.UTC maps years 0-99 to 1900-1999
  const fixed = year < 100 ? new Date(utc).setUTCFullYear(year) : utc;
  return Number.isFinite(fixed) ? fixed : undefined;
}

export type EpochResult = { ms: number } | { error: string };

/**
 * An epoch number to ms: seconds or milliseconds by magnitude (EPOCH_SECONDS_BELOW).
 * Seconds may carry a fraction (rounded to ms); milliseconds must be whole, because a
 * fractional millisecond is not a time any store keeps and rounding it would make two
 * distinct values the same key.
 */
export function epochToMs(n: number): EpochResult {
  if (!Number.isFinite(n) || n < 0) return { error: 'is not a valid time' };
  if (n < EPOCH_SECONDS_BELOW) return { ms: Math.round(n * 1000) };
  if (!Number.isInteger(n)) return { error: 'must be whole epoch milliseconds (or epoch seconds)' };
  return { ms: n };
}
