/**
 * The committer path under hostile neighbours: batches that mix valid entries with entries
 * no store can keep (fractional or out-of-range times, NaN, objects as values, bigints,
 * oversized strings) and entries the store itself refuses (a SQLite trigger standing in for
 * any constraint that checkEntry cannot know). Whatever the mix, every valid entry is stored
 * and acknowledged, every hostile one becomes exactly one acknowledged dead letter, and the
 * store stays ready. Real SQLite file, real writer thread. Seeded (FUZZ_SEED).
 */
import fc from 'fast-check';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/storage/database.js';
import { SqliteTelemetryStore } from '../../src/storage/sqlite-telemetry.js';
import { GroupCommitter, type Entry } from '../../src/ingest/committer.js';
import type { Reading } from '../../src/core/types.js';
import { tempDir } from '../helpers/gateway.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
/** a value the store refuses by trigger: "decodes, cannot be stored" */
const REFUSED_VALUE = 666.25;

let dir: string;
let db: Db;
let store: SqliteTelemetryStore;
let committer: GroupCommitter;
let seq = 0;

beforeAll(async () => {
  dir = tempDir('gw-committer-fuzz-');
  db = openDatabase({ dataDir: dir, synchronous: 'normal' });
  db.exec(`CREATE TRIGGER refuse_poison BEFORE INSERT ON readings_recent WHEN NEW.value = ${REFUSED_VALUE}
    BEGIN SELECT RAISE(ABORT, 'value refused by a store constraint'); END`);
  store = new SqliteTelemetryStore(db, { file: join(dir, 'gateway.db'), synchronous: 'normal' });
  await store.start();
  committer = new GroupCommitter(store, { maxDelayMs: 2, maxMessages: 64 });
});
afterAll(async () => {
  await committer.flush();
  await store.stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.parse('2026-11-01T00:00:00Z');

function reading(deviceId: string, ts: number, value: unknown): Reading {
  return { deviceId, metric: 'battery_v', value: value as number, unit: 'V', ts, receivedAt: T0, quality: 'ok' };
}

type Kind = 'valid' | 'fractional_ts' | 'huge_ts' | 'negative_ts' | 'nan' | 'infinity' | 'object' | 'bigint' | 'long_string' | 'bad_quality' | 'event_fraction' | 'event_bigint' | 'store_refused';
const HOSTILE: Kind[] = ['fractional_ts', 'huge_ts', 'negative_ts', 'nan', 'infinity', 'object', 'bigint', 'long_string', 'bad_quality', 'event_fraction', 'event_bigint', 'store_refused'];

function entryOf(kind: Kind, id: string, n: number): Entry {
  const ts = T0 + n;
  const base = { deviceId: id, receivedAt: T0, source: { topic: `devices/${id}/up`, clientId: id, payload: Buffer.from(`${kind}-${n}`) } };
  const one = (r: Reading): Entry => ({ ...base, readings: [reading(id, ts - 1, 3.3), r], events: [] });
  switch (kind) {
    case 'valid': return { ...base, readings: [reading(id, ts, 3.6)], events: [{ deviceId: id, type: 'tamper', ts, data: { n } }] };
    case 'fractional_ts': return one(reading(id, ts + 0.5, 3.6));
    case 'huge_ts': return one(reading(id, 8.64e15, 3.6));
    case 'negative_ts': return one(reading(id, -5, 3.6));
    case 'nan': return one(reading(id, ts, Number.NaN));
    case 'infinity': return one(reading(id, ts, Number.POSITIVE_INFINITY));
    case 'object': return one(reading(id, ts, { v: 1 }));
    case 'bigint': return one(reading(id, ts, 10n));
    case 'long_string': return one(reading(id, ts, 'x'.repeat(10_000)));
    case 'bad_quality': return one({ ...reading(id, ts, 3.6), quality: 'meh' as 'ok' });
    case 'event_fraction': return { ...base, readings: [], events: [{ deviceId: id, type: 'tamper', ts: ts + 0.25, data: {} }] };
    case 'event_bigint': return { ...base, readings: [], events: [{ deviceId: id, type: 'tamper', ts, data: { big: 1n } }] };
    case 'store_refused': return one(reading(id, ts, REFUSED_VALUE));
  }
}

describe('group commit with hostile neighbours', () => {
  it('stores and acknowledges every valid entry, dead-letters every hostile one once', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof({ weight: 3, arbitrary: fc.constant<Kind>('valid') }, { weight: 2, arbitrary: fc.constantFrom(...HOSTILE) }), { minLength: 1, maxLength: 150 }),
      async (kinds) => {
        const run = ++seq;
        const deadBefore = db.prepare('SELECT count(*) AS n FROM dead_letters').pluck().get() as number;
        const acks = new Map<number, number>();
        const failures: Error[] = [];
        await Promise.all(kinds.map((kind, i) => new Promise<void>((resolve) => {
          committer.submitCb(entryOf(kind, `fz-${run}-${i}`, i), (err) => {
            if (err) failures.push(err);
            acks.set(i, (acks.get(i) ?? 0) + 1);
            resolve();
          });
        })));
        expect(failures).toEqual([]);
        expect([...acks.values()].every((n) => n === 1)).toBe(true);
        expect(acks.size).toBe(kinds.length);
        for (const [i, kind] of kinds.entries()) {
          const id = `fz-${run}-${i}`;
          const stored = db.prepare('SELECT ts, value FROM readings_all WHERE device_id = ? ORDER BY ts').all(id) as Array<{ ts: number; value: number }>;
          const events = db.prepare('SELECT ts FROM events WHERE device_id = ?').all(id);
          const dead = db.prepare('SELECT reason, payload FROM dead_letters WHERE device_id = ?').all(id) as Array<{ reason: string; payload: Buffer }>;
          if (kind === 'valid') {
            expect(stored, `${kind} ${id}`).toEqual([{ ts: T0 + i, value: 3.6 }]);
            expect(events).toHaveLength(1);
            expect(dead).toHaveLength(0);
          } else {
            // nothing of a refused message is stored: its neighbour reading goes with it into the dead letter
            expect(stored, `${kind} ${id}`).toEqual([]);
            expect(events).toHaveLength(0);
            expect(dead, `${kind} ${id}`).toHaveLength(1);
            expect(dead[0]!.reason).toMatch(/^not storable: /);
            expect(Buffer.from(dead[0]!.payload).toString()).toBe(`${kind}-${i}`);
          }
        }
        const deadAfter = db.prepare('SELECT count(*) AS n FROM dead_letters').pluck().get() as number;
        expect(deadAfter - deadBefore).toBe(kinds.filter((k) => k !== 'valid').length);
        expect(store.readiness().ok).toBe(true);
      },
    ), { numRuns: RUNS, seed: SEED });
  }, 120_000);

  it('refuses rather than lies when the store cannot write at all', async () => {
    // a read-only store: not the data's fault, so no bisection and no dead letter
    const ro = new SqliteTelemetryStore(db);
    db.pragma('query_only = ON');
    const c = new GroupCommitter(ro, { maxDelayMs: 1, maxMessages: 10 });
    const results = await Promise.all([0, 1, 2].map((i) => c.submit(entryOf('valid', `ro-${i}`, i)).then(() => 'acked', (e: Error) => e.message)));
    db.pragma('query_only = OFF');
    expect(results.every((r) => r !== 'acked')).toBe(true);
    expect(ro.readiness().ok).toBe(false);
    expect(db.prepare("SELECT count(*) FROM dead_letters WHERE device_id LIKE 'ro-%'").pluck().get()).toBe(0);
  });
});
