/**
 * The group committer's schedule: the first message of an idle committer waits up to
 * batchMaxDelayMs for company; messages that arrive while a commit runs have waited for that
 * commit already and are the next batch as soon as it ends when the commit took batchMaxDelayMs
 * or longer (under load a second wait was in every message's PUBACK latency); after a shorter
 * commit (a light load) the next begins batchMaxDelayMs after the last one began, so commits do
 * not run back to back at a message or two each. Under load, the next batch goes to the store
 * before the settled batch's acknowledgements are written, so the writer is not idle meanwhile.
 */
import { describe, expect, it } from 'vitest';
import { GroupCommitter, type Entry } from '../../../src/ingest/committer.js';
import type { TelemetryStore, WriteBatch } from '../../../src/storage/telemetry-store.js';

const entry = (n: number): Entry => ({
  readings: [{ deviceId: 'd1', metric: 'ph', value: 7, unit: null, ts: 1000 + n, receivedAt: 1000 + n, quality: 'ok' }], events: [], deviceId: 'd1', receivedAt: 1000 + n,
});

/** a store whose every commit takes `ms`, recording when each began and ended and its size */
function timedStore(ms: number): { store: TelemetryStore; commits: Array<{ start: number; end: number; size: number }> } {
  const commits: Array<{ start: number; end: number; size: number }> = [];
  const store = {
    commit: async (b: WriteBatch) => {
      const start = performance.now();
      await new Promise((r) => setTimeout(r, ms));
      commits.push({ start, end: performance.now(), size: b.readings.length });
    },
  } as unknown as TelemetryStore;
  return { store, commits };
}

describe('GroupCommitter schedule', () => {
  it('commits what arrived during a commit right after it, without another batch delay', async () => {
    const { store, commits } = timedStore(60);
    const c = new GroupCommitter(store, { maxDelayMs: 40, maxMessages: 1000 });
    const t0 = performance.now();
    const first = c.submit(entry(0));
    // the idle committer waits for company: nothing committed before the delay
    await new Promise((r) => setTimeout(r, 20));
    expect(commits.length).toBe(0);
    await new Promise((r) => setTimeout(r, 40));
    // during the first commit (it runs 40..100 ms, longer than the delay), two more arrive
    const later = [c.submit(entry(1)), c.submit(entry(2))];
    await Promise.all([first, ...later]);
    expect(commits.map((x) => x.size)).toEqual([1, 2]);
    expect(commits[0]!.start - t0).toBeGreaterThanOrEqual(38);
    // the second batch starts when the first ends, not 40 ms later (timers are coarse: under 30)
    expect(commits[1]!.start - commits[0]!.end).toBeLessThan(30);
  });

  it('after a commit shorter than the delay, begins the next one the delay after the last began (a full batch at once)', async () => {
    const { store, commits } = timedStore(30);
    const c = new GroupCommitter(store, { maxDelayMs: 150, maxMessages: 3 });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const all = [c.submit(entry(0))];
    await sleep(160); // the first commit runs ~150..180 ms
    // a full batch arrives during it: it begins as soon as the first ends
    all.push(c.submit(entry(1)), c.submit(entry(2)), c.submit(entry(3)));
    await sleep(35); // the second commit runs ~180..210 ms
    // two arrive during that short commit: they wait for the floor (~180 + 150 ms)
    all.push(c.submit(entry(4)), c.submit(entry(5)));
    await Promise.all(all);
    expect(commits.map((x) => x.size)).toEqual([1, 3, 2]);
    expect(commits[1]!.start - commits[0]!.end).toBeLessThan(25);
    const gap = commits[2]!.start - commits[1]!.start;
    expect(gap).toBeGreaterThanOrEqual(145);
    expect(gap).toBeLessThan(230);
  });

  it('sends the next batch to the store before acknowledging the batch that committed, after its listeners', async () => {
    const order: string[] = [];
    let commits = 0;
    const store = {
      commit: async (b: WriteBatch) => {
        const n = ++commits;
        order.push(`commit ${n} begins (${b.readings.length})`);
        await new Promise((r) => setTimeout(r, 30));
        order.push(`commit ${n} ends`);
      },
    } as unknown as TelemetryStore;
    const c = new GroupCommitter(store, { maxDelayMs: 10, maxMessages: 1000, onCommitted: (entries) => order.push(`listeners (${entries.length})`) });
    const acked = (n: number) => () => order.push(`ack ${n}`);
    const first = c.submit(entry(0)).then(acked(0));
    await new Promise((r) => setTimeout(r, 20)); // the first commit runs ~10..40 ms
    const second = [c.submit(entry(1)).then(acked(1)), c.submit(entry(2)).then(acked(2))];
    await Promise.all([first, ...second]);
    expect(order).toEqual([
      'commit 1 begins (1)', 'commit 1 ends', 'listeners (1)',
      // the second batch is on its way before the first batch's PUBACK
      'commit 2 begins (2)', 'ack 0',
      'commit 2 ends', 'listeners (2)', 'ack 1', 'ack 2',
    ]);
  });

  it('begins a commit whose wait is over on the next message, not when the event loop gets to the late timer', async () => {
    const begun: number[] = [];
    const store = { commit: async (b: WriteBatch) => { begun.push(b.readings.length); } } as unknown as TelemetryStore;
    const c = new GroupCommitter(store, { maxDelayMs: 20, maxMessages: 1000 });
    const all = [c.submit(entry(0))]; // an idle committer waits 20 ms for company
    // the event loop busy for longer than that (socket reads under load): the timer cannot run
    const until = performance.now() + 40;
    while (performance.now() < until) { /* busy */ }
    all.push(c.submit(entry(1)));
    // the second message found the wait over: the commit has begun, with both
    expect(begun).toEqual([2]);
    all.push(c.submit(entry(2)));
    await Promise.all(all);
    expect(begun).toEqual([2, 1]);
  });
});
