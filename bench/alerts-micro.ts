/**
 * tsx bench/alerts-micro.ts [devices] [messages]: what rule evaluation after a group commit
 * costs the main thread per message (AlertService.onCommitted), for one-reading messages of
 * the bench's six kinds spread over `devices` devices, reading times following the clock as
 * in `npm run bench`. Prints µs per message after a warm-up; no sockets, no writer thread
 * (the rule states are handed to a no-op saveStates, as to the writer thread).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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
import { waterIndex } from './fleet.js';

const DEVICES = Number(process.argv[2] ?? 500);
const MESSAGES = Number(process.argv[3] ?? 400_000);
const BATCH = 1000;
const KINDS: Array<{ model: string; metric: string; value: (seq: number, ts: number) => number | boolean }> = [
  { model: 'generic.water-quality', metric: 'ph', value: (seq) => 7 + (seq % 50) / 100 },
  { model: 'generic.bin-fill', metric: 'fill_pct', value: (seq) => 10 + (seq % 60) },
  { model: 'generic.parking', metric: 'occupied', value: (seq) => seq % 2 === 0 },
  { model: 'generic.water-meter', metric: 'water_volume_m3', value: (_seq, ts) => waterIndex(ts) },
  { model: 'generic.electricity-meter', metric: 'energy_import_kwh', value: (seq) => 5000 + seq * 0.01 },
  { model: 'generic.door-access', metric: 'door_open', value: (seq) => seq % 2 === 1 },
];
const dir = mkdtempSync(join(tmpdir(), 'gw-alerts-micro-'));
const catalogue = new ModelCatalogue(MODELS);
const now = Date.now();
const devices = new Map<string, Device>();
for (let i = 0; i < DEVICES; i++) {
  const k = KINDS[i % KINDS.length]!;
  const model = catalogue.get(k.model)!;
  const id = `bench-${String(i).padStart(5, '0')}`;
  devices.set(id, { id, model: model.id, kind: model.kind, name: null, site: `bench/estate/b${i % 10}`, attributes: {}, lorawan: null, createdAt: now, updatedAt: now, lastSeen: now });
}
const registry = { get: (id: string) => devices.get(id), all: () => devices.values(), get size() { return devices.size; } } as unknown as DeviceRegistry;
const alerts = new AlertService({
  db: openDatabase({ dataDir: dir }), registry, rules: loadRules(resolve(import.meta.dirname, '../config/rules.yaml'), true, { models: catalogue.all() }),
  getModel: (id) => catalogue.get(id), publish: () => {}, webhooks: [], retry: { initialMs: 1000, maxMs: 60_000, timeoutMs: 5000 },
  metrics: createMetrics(), log: pino({ level: 'silent' }), clock: () => Date.now(), saveStates: async () => {},
});
const ids = [...devices.keys()];
const seq = new Array<number>(DEVICES).fill(0);
const lastTs = new Array<number>(DEVICES).fill(0);
let next = 0;
function batch(): Entry[] {
  const out: Entry[] = [];
  const t = Date.now();
  for (let b = 0; b < BATCH; b++) {
    const d = next++ % DEVICES;
    const k = KINDS[d % KINDS.length]!;
    const s = seq[d]!++;
    const ts = (lastTs[d] = Math.max(t, lastTs[d]! + 1));
    const r: Reading = { deviceId: ids[d]!, metric: k.metric, value: k.value(s, ts), unit: null, ts, receivedAt: t, quality: 'ok' };
    out.push({ readings: [r], events: [], deviceId: ids[d]!, receivedAt: t });
  }
  return out;
}
const warm = Math.min(MESSAGES, 50 * DEVICES);
for (let n = 0; n < warm; n += BATCH) alerts.onCommitted(batch());
const batches = Array.from({ length: Math.ceil(MESSAGES / BATCH) }, batch);
const t0 = process.cpuUsage();
const w0 = performance.now();
for (const b of batches) alerts.onCommitted(b);
const cpu = process.cpuUsage(t0);
const ms = performance.now() - w0;
process.stdout.write(`${DEVICES} devices, ${batches.length * BATCH} messages: ${((1000 * ms) / (batches.length * BATCH)).toFixed(2)} µs per message (wall), ${((cpu.user + cpu.system) / (batches.length * BATCH)).toFixed(2)} µs CPU\n`);
void alerts.stop().finally(() => rmSync(dir, { recursive: true, force: true }));
