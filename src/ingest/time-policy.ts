/**
 * Timestamp policy (docs/vocabulary.md "Timestamps"), applied by the pipeline after
 * normalise() and by anything that must answer "what would the pipeline store"
 * (POST /models/{id}/decode): a message carrying a reading or event time more than
 * `maxFutureMs` ahead of the gateway's receive time is refused as a whole and becomes a
 * dead letter with the reason. Kept apart from normalise(): decoding a vendor vector
 * recorded years ago (or dated ahead) is still a decode; storing it is a policy.
 */
import { DecodeError } from '../core/model.js';

/** ingest.maxFutureS default: five minutes of clock drift between a device and the gateway */
export const DEFAULT_MAX_FUTURE_S = 300;

/**
 * Largest time any store keeps: InfluxDB holds nanoseconds in an int64 (2262-04-11);
 * SQLite could go further but one range for all three stores keeps them equal.
 */
export const MAX_STORABLE_TS = 9_223_372_036_854;

export interface TimePolicy {
  /** how far a reading's ts may be ahead of the receive time, ms */
  maxFutureMs: number;
}

export interface Timed { ts: number }

// module level, not a closure per call: this runs for every message
function iso(ts: number): string {
  return Number.isFinite(ts) && Math.abs(ts) <= 8.64e15 ? new Date(ts).toISOString() : String(ts);
}

/**
 * Throws a DecodeError naming the first reading or event dated more than
 * policy.maxFutureMs after `receivedAt` (the gateway's clock, not the network server's).
 */
export function enforceTimePolicy(
  out: { readings: ReadonlyArray<Timed & { metric: string }>; events: ReadonlyArray<Timed & { type: string }> },
  receivedAt: number,
  policy: TimePolicy = { maxFutureMs: DEFAULT_MAX_FUTURE_S * 1000 },
): void {
  const limit = receivedAt + policy.maxFutureMs;
  for (const r of out.readings) {
    if (r.ts > limit) throw new DecodeError(`clock_skew: ${r.metric} ts ${iso(r.ts)} is more than ${policy.maxFutureMs / 1000} s ahead of the receive time ${iso(receivedAt)}`);
  }
  for (const e of out.events) {
    if (e.ts > limit) throw new DecodeError(`clock_skew: event ${e.type} ts ${iso(e.ts)} is more than ${policy.maxFutureMs / 1000} s ahead of the receive time ${iso(receivedAt)}`);
  }
}
