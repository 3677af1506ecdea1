/**
 * The group committer's schedule: the first message of an idle committer waits up to
 * batchMaxDelayMs for company; messages that arrive while a commit runs have waited for that
 * commit already and are the next batch as soon as it ends, not batchMaxDelayMs later (under
 * load that second wait was in every message's PUBACK latency).
 */
import { describe, expect, it } from 'vitest';
import { GroupCommitter, type Entry } from '../../../src/ingest/committer.js';
import type { TelemetryStore, WriteBatch } from '../../../src/storage/telemetry-store.js';

const entry = (n: number): Entry => ({
  readings: [{ deviceId: 'd1', metric: 'ph', value: 7, unit: null, ts: 1000 + n, receivedAt: 1000 + n, quality: 'ok' }], events: [], deviceId: 'd1', receivedAt: 1000 + n,
});

describe('GroupCommitter schedule', () => {
  it('commits what arrived during a commit right after it, without another batch delay', async () => {
    const commits: Array<{ start: number; end: number; size: number }> = [];
    const store = {
      commit: async (b: WriteBatch) => {
        const start = performance.now();
        await new Promise((r) => setTimeout(r, 60));
        commits.push({ start, end: performance.now(), size: b.readings.length });
      },
    } as unknown as TelemetryStore;
    const c = new GroupCommitter(store, { maxDelayMs: 300, maxMessages: 1000 });
    const t0 = performance.now();
    const first = c.submit(entry(0));
    // the idle committer waits for company: nothing committed before the delay
    await new Promise((r) => setTimeout(r, 320));
    expect(commits.length).toBe(0);
    // during the first commit (it runs 300..360 ms), two more arrive
    const later = [c.submit(entry(1)), c.submit(entry(2))];
    await Promise.all([first, ...later]);
    expect(commits.map((x) => x.size)).toEqual([1, 2]);
    expect(commits[0]!.start - t0).toBeGreaterThanOrEqual(290);
    // the second batch starts when the first ends (timers are coarse: well under the 300 ms delay)
    expect(commits[1]!.start - commits[0]!.end).toBeLessThan(100);
  });
});
