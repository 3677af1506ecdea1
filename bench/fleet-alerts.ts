/**
 * The default rules over the bench's fleet, without sockets or a writer thread: what
 * `bench/alerts-micro.ts` times and `test/unit/bench/fleet.test.ts` checks for quiet.
 */
import { resolve } from 'node:path';
import pino from 'pino';
import { MODELS } from '../devices/index.js';
import { AlertService } from '../src/alerts/service.js';
import { loadRules } from '../src/alerts/rules.js';
import { ModelCatalogue } from '../src/core/catalogue.js';
import type { Reading } from '../src/core/types.js';
import type { Entry } from '../src/ingest/committer.js';
import { createMetrics } from '../src/metrics.js';
import type { Device, DeviceRegistry } from '../src/registry/devices.js';
import { openDatabase } from '../src/storage/database.js';
import { KINDS } from './fleet.js';

/**
 * `devices` devices of the bench's six kinds in turn (ids as `npm run bench` provisions them),
 * under config/rules.yaml; the rule states go to a no-op saveStates, as to the writer thread.
 */
export function fleetAlerts(o: { devices: number; dataDir: string; clock: () => number }): { alerts: AlertService; ids: string[] } {
  const catalogue = new ModelCatalogue(MODELS);
  const now = o.clock();
  const devices = new Map<string, Device>();
  for (let i = 0; i < o.devices; i++) {
    const model = catalogue.get(KINDS[i % KINDS.length]!.model)!;
    const id = `bench-${String(i).padStart(5, '0')}`;
    devices.set(id, { id, model: model.id, kind: model.kind, name: null, site: `bench/estate/b${i % 10}`, attributes: {}, lorawan: null, createdAt: now, updatedAt: now, lastSeen: now });
  }
  const registry = { get: (id: string) => devices.get(id), all: () => devices.values(), get size() { return devices.size; } } as unknown as DeviceRegistry;
  const alerts = new AlertService({
    db: openDatabase({ dataDir: o.dataDir }), registry, rules: loadRules(resolve(import.meta.dirname, '../config/rules.yaml'), true, { models: catalogue.all() }),
    getModel: (id) => catalogue.get(id), publish: () => {}, webhooks: [], retry: { initialMs: 1000, maxMs: 60_000, timeoutMs: 5000 },
    metrics: createMetrics(), log: pino({ level: 'silent' }), clock: o.clock, saveStates: async () => {},
  });
  return { alerts, ids: [...devices.keys()] };
}

/** device `d`'s message number `seq`, read at `ts`, as the group commit hands it to the rules */
export function fleetEntry(ids: string[], d: number, seq: number, ts: number, receivedAt: number): Entry {
  const { ts: _ts, ...values } = KINDS[d % KINDS.length]!.payload(ts, seq) as { ts: number } & Record<string, number | boolean>;
  const readings: Reading[] = Object.entries(values).map(([metric, value]) => ({ deviceId: ids[d]!, metric, value, unit: null, ts, receivedAt, quality: 'ok' }));
  return { readings, events: [], deviceId: ids[d]!, receivedAt };
}
