/**
 * The bench's load is meant to be quiet for the default rules at any hour: its alert probe
 * measures alerts, and a load that raises them measures something else (between 18:00 and
 * 20:00 UTC its water meters' night flow opened water_leak_suspected, and every later message
 * repeated it: a third less throughput).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fleetAlerts, fleetEntry } from '../../../bench/fleet-alerts.js';
import { KINDS, leakNightFrom, waterIndex } from '../../../bench/fleet.js';
import type { Entry } from '../../../src/ingest/committer.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

/** the bench's six kinds, two devices each, `messages` each a millisecond apart from `start` */
async function openedUnder(start: number, messages: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-fleet-'));
  dirs.push(dir);
  let now = start;
  const { alerts, ids } = fleetAlerts({ devices: 2 * KINDS.length, dataDir: dir, clock: () => now });
  try {
    for (let seq = 0; seq < messages; seq += 10) {
      const batch: Entry[] = [];
      for (let k = seq; k < seq + 10; k++) {
        now = start + k;
        for (let d = 0; d < ids.length; d++) batch.push(fleetEntry(ids, d, k, now, now));
      }
      alerts.onCommitted(batch);
    }
    return alerts.list({ status: ['open', 'acknowledged', 'resolved'], limit: 100 }).map((a) => `${a.rule} ${a.deviceId}`);
  } finally {
    await alerts.stop();
  }
}

/** 2026-12-04 at `h`:`m` in Asia/Shanghai */
const shanghai = (h: number, m = 0): number => Date.UTC(2026, 11, 4, h - 8, m);

describe('the bench fleet', () => {
  it('raises no alert at night in Asia/Shanghai, when the default water_leak_suspected looks at flow', async () => {
    expect(await openedUnder(shanghai(3), 600)).toEqual([]);
    expect(await openedUnder(shanghai(1, 59) + 59_700, 600)).toEqual([]); // across 02:00
  });

  it('raises no alert by day', async () => {
    expect(await openedUnder(shanghai(14), 600)).toEqual([]);
  });

  it("moves its water meters' index with every message by day and not at night", () => {
    const day = shanghai(14);
    for (let t = day; t < day + 50; t++) expect(waterIndex(t + 1)).toBeGreaterThan(waterIndex(t));
    const night = shanghai(1, 50);
    expect(waterIndex(shanghai(4) - 1)).toBe(waterIndex(night));
    expect(waterIndex(night - 1)).toBeLessThan(waterIndex(night));
    expect(waterIndex(shanghai(4) + 1)).toBeGreaterThan(waterIndex(shanghai(4)));
    // a day's index is where the night left it, plus a litre a second
    expect(waterIndex(shanghai(5)) - waterIndex(shanghai(4))).toBeCloseTo(3.6, 6);
  });

  it('tells where the night flow begins counting, 01:50 to 04:00 in Asia/Shanghai', () => {
    expect(leakNightFrom(shanghai(3, 20))).toBe(shanghai(1, 50));
    expect(leakNightFrom(shanghai(1, 50))).toBe(shanghai(1, 50));
    expect(leakNightFrom(shanghai(1, 50) - 1)).toBeUndefined();
    expect(leakNightFrom(shanghai(4))).toBeUndefined();
  });
});
