/**
 * npm run simulate -- --site jiangnan/sim-garden --devices 200 --rate 50 [--duration 60] [--count 5000]
 *   [--faults ph,turbidity,stuck,silent,garbage] [--lorawan 0.5] [--url http://127.0.0.1:8080]
 *   [--mqtt mqtt://127.0.0.1:1883] [--token <admin token>] [--seed 1] [--prefix sim]
 *   [--wired <port>]  also a Modbus TCP slave on <port>, DL/T 645 and CJ/T 188 DTUs on <port>+1, +2
 * The admin token defaults to GATEWAY_ADMIN_TOKEN, then ./data/admin.token.
 * Runs until --duration seconds or --count messages (whichever first; neither: until
 * Ctrl-C), then closes the doors it left open and prints the totals as one JSON line.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FAULTS, runFleet, type Fault } from './fleet.js';
import { startWired } from './wired-fleet.js';

function fail(msg: string): never {
  process.stderr.write(`simulate: ${msg}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    site: { type: 'string', default: 'jiangnan/sim-garden' },
    devices: { type: 'string', default: '60' },
    rate: { type: 'string', default: '20' },
    duration: { type: 'string', default: '0' },
    count: { type: 'string', default: '0' },
    faults: { type: 'string', default: '' },
    lorawan: { type: 'string', default: '0.5' },
    url: { type: 'string', default: `http://127.0.0.1:${process.env.GATEWAY_HTTP_PORT ?? 8080}` },
    mqtt: { type: 'string', default: `mqtt://127.0.0.1:${process.env.GATEWAY_MQTT_PORT ?? 1883}` },
    token: { type: 'string' },
    seed: { type: 'string', default: '1' },
    prefix: { type: 'string', default: 'sim' },
    json: { type: 'boolean', default: false },
    wired: { type: 'string', default: '0' },
  },
});

const num = (name: string, v: string, min: number, max: number) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) fail(`--${name} must be a number in ${min}..${max}`);
  return n;
};
const faults = values.faults ? values.faults.split(',').map((f) => f.trim()) : [];
for (const f of faults) if (!FAULTS.includes(f as Fault)) fail(`--faults: unknown fault ${f} (one of ${FAULTS.join(', ')})`);
let token = values.token ?? process.env.GATEWAY_ADMIN_TOKEN;
if (!token) {
  try { token = readFileSync('data/admin.token', 'utf8').trim(); } catch { fail('no admin token: pass --token, set GATEWAY_ADMIN_TOKEN, or run where data/admin.token is'); }
}
const duration = num('duration', values.duration!, 0, 7 * 86400);
const count = num('count', values.count!, 0, 1e9);
if (!Number.isInteger(count)) fail('--count must be a whole number');
// one line rewritten in place on a terminal; a line every 10 s in a log file
const tty = process.stderr.isTTY;
let lastLine = 0;
const progress = (s: { elapsedS: number; devices: number; sent: number; acked: number; failed: number; garbage: number }) => {
  if (!tty && Date.now() - lastLine < 10_000) return;
  lastLine = Date.now();
  const goal = [duration > 0 ? `${Math.min(100, (100 * s.elapsedS) / duration).toFixed(0)}% of ${duration} s` : '', count > 0 ? `${s.sent}/${count} messages` : ''].filter(Boolean).join(', ');
  const line = `simulate: ${s.elapsedS.toFixed(0)} s  devices ${s.devices}  sent ${s.sent}  acked ${s.acked}  failed ${s.failed}  garbage ${s.garbage}${goal ? `  (${goal})` : ''}`;
  process.stderr.write(tty ? `\r${line}   ` : `${line}\n`);
};
const controller = new AbortController();
process.on('SIGINT', () => controller.abort());
process.on('SIGTERM', () => controller.abort());

const wiredPort = num('wired', values.wired!, 0, 65533);
const wired = wiredPort > 0
  ? await startWired({
    http: values.url!, token: token!, prefix: values.prefix!, site: values.site!, host: '127.0.0.1', basePort: wiredPort,
    faults: faults as Fault[], seed: num('seed', values.seed!, 0, 2 ** 31), log: (line) => process.stderr.write(`simulate: ${line}\n`),
  }).catch((err: Error) => fail(`--wired: ${err.message}`))
  : undefined;

const stats = await runFleet({
  http: values.url!, mqtt: values.mqtt!, token: token!, site: values.site!, prefix: values.prefix!,
  devices: num('devices', values.devices!, 1, 100_000), rate: num('rate', values.rate!, 0.1, 100_000),
  durationS: duration === 0 ? Number.POSITIVE_INFINITY : duration, count: count === 0 ? undefined : count, faults: faults as Fault[],
  lorawanShare: num('lorawan', values.lorawan!, 0, 1), seed: num('seed', values.seed!, 0, 2 ** 31), signal: controller.signal,
  onProgress: progress,
}).catch((err: Error) => fail(err.message));
lastLine = 0;
progress(stats);
if (tty) process.stderr.write('\n');
await wired?.stop();
process.stderr.write(`simulate: done; ${stats.doorsClosed} door(s) left open were closed\n`);
process.stdout.write(`${JSON.stringify(wired ? { ...stats, wiredDevices: wired.devices } : stats)}\n`);
process.exit(stats.failed > 0 ? 1 : 0);
