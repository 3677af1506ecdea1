/**
 * Cluster mode's dead letters (issue 15 item 1): the group committer's store, with the
 * batch's dead letters written to the shared repository (PostgreSQL) instead of this node's
 * embedded file, so every node lists the same dead letters.
 *
 * commit() resolves only when both the readings (the telemetry store, whatever its engine)
 * and the dead letters (one multi-row INSERT and the eviction, one PostgreSQL transaction)
 * are durable: a dead letter's PUBACK waits for it as on SQLite, where it is in the group
 * commit's own transaction. Readings go first: they are idempotent (the duplicate rule), so
 * when the dead letters then fail the batch is not acknowledged, the devices redeliver, and
 * the readings are stored once; the other order would store the dead letters twice.
 */
import type { DeadLetterRepository } from './repositories/types.js';
import { deadLetterRow, type DeadLetterLimits } from './sqlite-telemetry.js';
import type { Readiness, TelemetryStore, WriteBatch } from './telemetry-store.js';
import type { DeadLetter } from '../core/types.js';

export interface SharedDeadLetterOptions {
  limits: DeadLetterLimits;
  onEvicted?: (n: number) => void;
}

export interface SharedDeadLetterStore extends TelemetryStore {
  /** not ready while the last dead-letter write failed */
  deadLetterReadiness(): Readiness;
}

/**
 * Writes dead letters to the shared repository: cut and hashed (deadLetterRow), one
 * multi-row INSERT and the eviction in one transaction; resolves once that is durable.
 */
export function sharedDeadLetterWriter(repo: DeadLetterRepository, opts: SharedDeadLetterOptions): (letters: readonly DeadLetter[]) => Promise<void> {
  return async (letters) => {
    if (letters.length === 0) return;
    const evicted = await repo.insert(letters.map((d) => deadLetterRow(d, opts.limits)), opts.limits.maxTotalBytes);
    if (evicted > 0) opts.onEvicted?.(evicted);
  };
}

/** Only commit() differs; everything else is the store's own. */
export function withSharedDeadLetters(store: TelemetryStore, write: (letters: readonly DeadLetter[]) => Promise<void>): SharedDeadLetterStore {
  let lastError: string | undefined;
  return {
    name: store.name,
    start: () => store.start(),
    async commit(batch: WriteBatch): Promise<void> {
      if (batch.deadLetters.length === 0) return store.commit(batch);
      await store.commit({ ...batch, deadLetters: [] });
      try {
        await write(batch.deadLetters);
        lastError = undefined;
      } catch (err) {
        lastError = (err as Error).message;
        throw err;
      }
    },
    series: (q) => store.series(q),
    scan: (q) => store.scan(q),
    previous: (deviceId, metric, before) => store.previous(deviceId, metric, before),
    latest: (deviceId) => store.latest(deviceId),
    latestMany: (deviceIds, metrics) => store.latestMany(deviceIds, metrics),
    events: (q) => store.events(q),
    rollups: (q) => store.rollups(q),
    readiness: () => store.readiness(),
    stop: () => store.stop(),
    deadLetterReadiness: () => (lastError === undefined ? { ok: true } : { ok: false, reason: `dead letters (PostgreSQL) write failed: ${lastError}` }),
  };
}
