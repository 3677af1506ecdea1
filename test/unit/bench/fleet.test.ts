/**
 * The bench's load is meant to be quiet for the default rules at any hour: its alert probe
 * measures alerts, and a load that raises them measures something else (between 18:00 and
 * 20:00 UTC its water meters' night flow opened water_leak_suspected, and every later message
 * repeated it: a third less throughput).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { KINDS, waterIndex } from '../../../bench/fleet.js';
import { MODELS } from '../../../devices/index.js';
import { AlertService } from '../../../src/alerts/service.js';
import { loadRules } from '../../../src/alerts/rules.js';
import { ModelCatalogue } from '../../../src/core/catalogue.js';
import type { Reading } from '../../../src/core/types.js';
import type { Entry } from '../../../src/ingest/committer.js';
import { createMetrics } from '../../../src/metrics.js';
import type { Device, DeviceRegistry } from '../../../src/registry/devices.js';
import { openDatabase } from '../../../src/storage/database.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

/** the bench's six kinds, two devices each, `messages` each a millisecond apart from `start` */
async function openedUnder(start: number, messages: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-fleet-'));
  dirs.push(dir);
  const catalogue = new ModelCatalogue(MODELS);
  const devices = new Map<string, Device>();
  for (let i = 0; i < 2 * KINDS.length; i++) {
    const model = catalogue.get(KINDS[i % KINDS.length]!.model)!;
    const id = `bench-${i}`;
    devices.set(id, { id, model: model.id, kind: model.kind, name: null, site: 'bench/estate/b0', attributes: {}, lorawan: null, createdAt: start, updatedAt: start, lastSeen: start });
  }
  let now = start;
  const alerts = new AlertService({
    db: openDatabase({ dataDir: dir }),
    registry: { get: (id: string) => devices.get(id), all: () => devices.values(), get size() { return devices.size; } } as unknown as DeviceRegistry,
    rules: loadRules(join(ROOT, 'config/rules.yaml'), true, { models: catalogue.all() }),
    getModel: (id) => catalogue.get(id), publish: () => {}, webhooks: [], retry: { initialMs: 1000, maxMs: 60_000, timeoutMs: 5000 },
    metrics: createMetrics(), log: pino({ level: 'silent' }), clock: () => now, saveStates: async () => {},
  });
  try {
    const ids = [...devices.keys()];
    for (let seq = 0; seq < messages; seq += 10) {
      const batch: Entry[] = [];
      for (let k = seq; k < seq + 10; k++) {
        now = start + k;
        ids.forEach((id, i) => {
          const { ts, ...values } = KINDS[i % KINDS.length]!.payload(now, k) as { ts: number } & Record<string, number | boolean>;
          const readings: Reading[] = Object.entries(values).map(([metric, value]) => ({ deviceId: id, metric, value, unit: null, ts, receivedAt: now, quality: 'ok' }));
          batch.push({ readings, events: [], deviceId: id, receivedAt: now });
        });
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
});
