import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { gcOver, gcTotals, readMetrics } from '../../../bench/gc.js';

describe('bench: the gateway main thread GC pauses over a phase', () => {
  it("reads prom-client's own GC histogram, scavenges included, under the gateway's prefix", async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'gateway_' });
    const before = gcTotals(readMetrics(await registry.metrics()));
    // young garbage: scavenges, reported by the PerformanceObserver on a later tick
    let keep = 0;
    for (let i = 0; i < 2_000_000; i++) keep += [i, { i }].length;
    await new Promise((r) => setTimeout(r, 100));
    const after = gcTotals(readMetrics(await registry.metrics()));
    expect(keep).toBe(4_000_000);
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
