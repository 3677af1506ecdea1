/**
 * The gateway's garbage-collection pauses over a bench phase, from two scrapes of its
 * /metrics (prom-client's default `gateway_nodejs_gc_duration_seconds` histogram).
 */

export interface GcTotals { minorCount: number; minorSeconds: number; minorUpTo10ms: number; majorCount: number; majorSeconds: number; incrementalSeconds: number }

/** the gateway's garbage-collection pauses so far (prom-client's gateway_nodejs_gc_duration_seconds, by kind) */
export function gcTotals(m: (name: string) => number): GcTotals {
  const v = (name: string) => { const x = m(name); return Number.isFinite(x) ? x : 0; };
  return {
    minorCount: v('gateway_nodejs_gc_duration_seconds_count{kind="minor"}'), minorSeconds: v('gateway_nodejs_gc_duration_seconds_sum{kind="minor"}'),
    minorUpTo10ms: v('gateway_nodejs_gc_duration_seconds_bucket{le="0.01",kind="minor"}'),
    majorCount: v('gateway_nodejs_gc_duration_seconds_count{kind="major"}'), majorSeconds: v('gateway_nodejs_gc_duration_seconds_sum{kind="major"}'),
    incrementalSeconds: v('gateway_nodejs_gc_duration_seconds_sum{kind="incremental"}'),
  };
}

/**
 * What the gateway's main thread spent in garbage-collection pauses over a phase: the share of
 * the wall time, and the young generation's scavenges (each stops the thread; their length is
 * what the in-flight messages keep alive, and it is in every PUBACK queued behind one).
 */
export function gcOver(a: GcTotals, b: GcTotals, wallSeconds: number): { pausePct: number; scavenges: number; scavengeMeanMs: number; scavengesOver10ms: number; majorCount: number; majorMs: number } {
  const scavenges = b.minorCount - a.minorCount;
  const pause = (b.minorSeconds - a.minorSeconds) + (b.majorSeconds - a.majorSeconds) + (b.incrementalSeconds - a.incrementalSeconds);
  return {
    pausePct: Math.round(1000 * pause / wallSeconds) / 10,
    scavenges,
    scavengeMeanMs: scavenges > 0 ? Math.round(10_000 * (b.minorSeconds - a.minorSeconds) / scavenges) / 10 : 0,
    scavengesOver10ms: scavenges - (b.minorUpTo10ms - a.minorUpTo10ms),
    majorCount: b.majorCount - a.majorCount,
    majorMs: Math.round(1000 * (b.majorSeconds - a.majorSeconds)),
  };
}
