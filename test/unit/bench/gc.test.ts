import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { gcOver, gcTotals } from '../../../bench/gc.js';
import { readMetrics } from '../../../bench/metrics.js';

describe('bench: the gateway main thread GC pauses over a phase', () => {
  it("reads prom-client's own GC histogram, scavenges included, under the gateway's prefix", async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'gateway_' });
    const before = gcTotals(readMetrics(await registry.metrics()));
    // young garbage that escapes (V8's escape analysis removes allocations that do not, and then
    // there is no scavenge), reported by the PerformanceObserver on a later tick
    const sink: Array<{ i: number; s: string }> = new Array(1024);
    let after = before;
    for (let round = 0; round < 50 && after.minorCount === before.minorCount; round++) {
      for (let i = 0; i < 200_000; i++) { sink[i & 1023] = { i, s: `r${i}` }; }
      await new Promise((r) => setTimeout(r, 20));
      after = gcTotals(readMetrics(await registry.metrics()));
    }
    expect(sink[1023]?.i).toBeGreaterThan(0);
    const g = gcOver(before, after, 1);
    expect(g.scavenges).toBeGreaterThan(0);
    expect(after.minorSeconds).toBeGreaterThan(before.minorSeconds);
    // the 10 ms bucket was found (a label order the lookup missed would read 0: every scavenge "over 10 ms")
    expect(after.minorUpTo10ms).toBeGreaterThan(0);
    expect(g.scavengesOver10ms).toBeLessThan(g.scavenges);
  });

  it('shares, means and counts from two readings', () => {
    const a = { minorCount: 10, minorSeconds: 0.05, minorUpTo10ms: 9, majorCount: 1, majorSeconds: 0.02, incrementalSeconds: 0.001 };
    const b = { minorCount: 110, minorSeconds: 0.75, minorUpTo10ms: 96, majorCount: 2, majorSeconds: 0.032, incrementalSeconds: 0.003 };
    expect(gcOver(a, b, 10)).toEqual({ pausePct: 7.1, scavenges: 100, scavengeMeanMs: 7, scavengesOver10ms: 13, majorCount: 1, majorMs: 12 });
    expect(gcOver(a, a, 10)).toEqual({ pausePct: 0, scavenges: 0, scavengeMeanMs: 0, scavengesOver10ms: 0, majorCount: 0, majorMs: 0 });
  });
});
