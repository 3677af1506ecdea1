/**
 * tsx bench/alerts-micro.ts [devices] [messages]: what rule evaluation after a group commit
 * costs the main thread per message (AlertService.onCommitted), for one-reading messages of
 * the bench's six kinds spread over `devices` devices, reading times following the clock as
 * in `npm run bench`. Prints µs per message after a warm-up; no sockets, no writer thread
 * (the rule states are handed to a no-op saveStates, as to the writer thread).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../src/ingest/committer.js';
import { fleetAlerts, fleetEntry } from './fleet-alerts.js';

const DEVICES = Number(process.argv[2] ?? 500);
const MESSAGES = Number(process.argv[3] ?? 400_000);
const BATCH = 1000;
const dir = mkdtempSync(join(tmpdir(), 'gw-alerts-micro-'));
const { alerts, ids } = fleetAlerts({ devices: DEVICES, dataDir: dir, clock: () => Date.now() });
const seq = new Array<number>(DEVICES).fill(0);
const lastTs = new Array<number>(DEVICES).fill(0);
let next = 0;
function batch(): Entry[] {
  const out: Entry[] = [];
  const t = Date.now();
  for (let b = 0; b < BATCH; b++) {
    const d = next++ % DEVICES;
    const ts = (lastTs[d] = Math.max(t, lastTs[d]! + 1));
    out.push(fleetEntry(ids, d, seq[d]!++, ts, t));
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
