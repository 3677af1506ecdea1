/**
 * npm run bench -- [--json] [--duration 15] [--devices 500] [--window 10] [--runs 5]
 *                    [--rate <msgs/s>] [--open-duration <s>] [--sweep [--sweep-duration 10] [--sweep-out docs/latency-vs-load.svg]]
 *                    [--capacity [--capacity-step-duration 6]] [--closed-only] [--cpu-prof <dir>]
 *                    [--gateway-config '<json>']   (merged over the bench's gateway config, e.g. to A/B a setting)
 * npm run bench -- --cluster <nodes> [--pg-url <url>] [--redis-url <url>] ...   (bench/cluster.ts)
 *
 * End-to-end benchmark on one machine: the gateway on embedded defaults in a child process,
 * `--devices` simulated devices publishing QoS 1 readings of mixed kinds as fast as PUBACKs
 * allow (closed loop), and plain aedes (no hooks, a no-op subscriber) under the same load in
 * the same run; `--runs N` repeats that pair N times, alternating, and reports the ratio's
 * min / median / max. Then an open loop at 50 % of the gateway's measured maximum (or
 * `--rate`): messages on a fixed schedule, latencies from the scheduled send time (no
 * coordinated omission). `--sweep` adds open-loop steps from 10 % to 100 % and draws the
 * latency-vs-load curve. `--capacity` ramps the open loop to the highest rate the gateway keeps
 * up with (its open-loop capacity) and measures the latencies at half of that too (JSON
 * `openLoopCapacity`). With --json the last line is the CONTRACT's benchmark object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { connectAll, median, percentile, runLoad, type Generator, type LoadClient, type LoadDevice, type LoadResult } from './load.js';
import { histogram, onSchedule, percentiles, recordMs, runOpenLoop, type Histogram, type OpenLoopResult } from './open-loop.js';
import { sweepSvg, type SweepPoint } from './chart.js';
import { gcOver, gcTotals } from './gc.js';
import { scrapeMetrics } from './metrics.js';
import { readSse } from './sse.js';
import { closeAll, ensureFileLimit, scaleConnections, waitExit, type ConnectionsOptions } from './connections.js';
import { KINDS, TOKEN, api, provision } from './fleet.js';

const ROOT = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    duration: { type: 'string', default: '15' },
    devices: { type: 'string', default: '500' },
    window: { type: 'string', default: '10' },
    'keep-data': { type: 'boolean', default: false },
    /** only the closed-loop series (no open loop): for profiling and ratio series */
    'closed-only': { type: 'boolean', default: false },
    /** write a V8 CPU profile of the gateway process into this directory */
    'cpu-prof': { type: 'string' },
    /** connection-scale mode: this many devices connecting at --rate/s, publishing every --interval s */
    connections: { type: 'string' },
    /** open loop: offered msgs/s (default 50 % of the measured maximum); connections mode: connects/s (default 200) */
    rate: { type: 'string' },
    /** repeat the closed-loop pair (gateway, plain aedes) this many times, interleaved; the ratio is their median */
    runs: { type: 'string', default: '1' },
    /** seconds of the open-loop phase (default: --duration) */
    'open-duration': { type: 'string' },
    /** latency-vs-load sweep: open loop at 10 % .. 100 % of the measured maximum, chart to --sweep-out */
    sweep: { type: 'boolean', default: false },
    'sweep-duration': { type: 'string', default: '10' },
    'sweep-out': { type: 'string', default: 'docs/latency-vs-load.svg' },
    /** also find the open-loop capacity (the highest offered rate the gateway keeps up with) and measure at half of it */
    capacity: { type: 'boolean', default: false },
    'capacity-step-duration': { type: 'string', default: '6' },
    interval: { type: 'string', default: '10' },
    hold: { type: 'string', default: '20' },
    /** cluster mode (bench/cluster.ts): this many gateway nodes on PostgreSQL and Redis, then one SQLite node and plain aedes */
    cluster: { type: 'string' },
    'pg-url': { type: 'string' },
    'redis-url': { type: 'string' },
    /**
     * JSON merged, key by key, over the gateway's config in this bench (rate limits off), to
     * measure a setting: '{"store":{"sqlite":{"synchronous":"normal"}}}'
     */
    'gateway-config': { type: 'string' },
    /** the load generator: lean (bench/lean-client.ts, default) or mqttjs (MQTT.js, as before 2026-12-02) */
    generator: { type: 'string', default: 'lean' },
  },
});

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

let GATEWAY_CONFIG: Record<string, unknown> = {};
if (args['gateway-config'] !== undefined) {
  try {
    const parsed: unknown = JSON.parse(args['gateway-config']);
    if (!isObject(parsed)) throw new Error('not a JSON object');
    GATEWAY_CONFIG = parsed;
  } catch (err) {
    process.stderr.write(`bench: --gateway-config: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

/** `over` merged into `base`, objects key by key, anything else replaced */
function merged(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? merged(b, v) : v;
  }
  return out;
}

const DURATION = Number(args.duration);
const DEVICES = Number(args.devices);
const WINDOW = Number(args.window);
const RUNS = Number(args.runs);
const OPEN_DURATION = Number(args['open-duration'] ?? args.duration);
const SWEEP_DURATION = Number(args['sweep-duration']);
if (![DURATION, DEVICES, WINDOW, RUNS, OPEN_DURATION, SWEEP_DURATION].every((n) => n > 0) || (args.rate !== undefined && !(Number(args.rate) > 0))) {
  process.stderr.write('bench: --duration, --devices, --window, --runs, --open-duration, --sweep-duration and --rate must be positive numbers\n');
  process.exit(2);
}
/** node flags of the start script, so the bench runs the gateway as `npm start` does */
const GATEWAY_NODE_FLAGS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start as string)
  .split(' ').filter((a) => a.startsWith('--') && a !== '--import');
/** how often a queryable probe polls /telemetry until its reading is there (the resolution of publish -> queryable) */
const PROBE_POLL_MS = Number(process.env.PROBE_POLL_MS ?? 5);
const GENERATOR = args.generator as Generator;
if (GENERATOR !== 'lean' && GENERATOR !== 'mqttjs') {
  process.stderr.write('bench: --generator is lean or mqttjs\n');
  process.exit(2);
}
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
  });
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

/** one scrape of the gateway's /metrics: a lookup of unlabelled (or fully spelled) sample lines */
const scrape = scrapeMetrics;

async function batchTotals(http: string): Promise<{ count: number; messages: number; seconds: number; upTo5ms: number; upTo10ms: number; upTo25ms: number; upTo100ms: number; upTo250ms: number }> {
  const m = await scrape(http);
  return { count: m('gateway_write_batch_messages_count'), messages: m('gateway_write_batch_messages_sum'), seconds: m('gateway_write_batch_seconds_sum'),
    upTo5ms: m('gateway_write_batch_seconds_bucket{le="0.005"}'), upTo10ms: m('gateway_write_batch_seconds_bucket{le="0.01"}'), upTo25ms: m('gateway_write_batch_seconds_bucket{le="0.025"}'),
    upTo100ms: m('gateway_write_batch_seconds_bucket{le="0.1"}'), upTo250ms: m('gateway_write_batch_seconds_bucket{le="0.25"}') };
}

/** user + system CPU seconds so far of a process (/proc/<pid>/stat) or one of its threads (/proc/<pid>/task/<tid>/stat), in clock ticks of 1/100 s */
function statCpuSeconds(statFile: string): number {
  const f = readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
const procCpuSeconds = (pid: number): number => statCpuSeconds(`/proc/${pid}/stat`);

/**
 * user + system CPU seconds of a process's main thread so far (/proc/<pid>/task/<pid>/stat):
 * the thread that reads every socket, decodes, evaluates rules and writes every PUBACK. Near
 * 100 % of one core it is the bottleneck whatever the other threads and cores do.
 */
const mainThreadCpuSeconds = (pid: number): number => statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);

/** busy and total jiffies of the whole machine (first line of /proc/stat): every core, every process */
function machineJiffies(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}
const machinePct = (a: { busy: number; total: number }, b: { busy: number; total: number }) => Math.round(100 * (b.busy - a.busy) / Math.max(1, b.total - a.total));

async function gatewayCpuSeconds(http: string): Promise<number> {
  return (await scrape(http))('gateway_process_cpu_seconds_total');
}

/** Nagle off while a generator keeps a schedule (a small PUBLISH must not wait for the ACK of the last), back on after */
function noDelay(clients: LoadClient[], on: boolean): void {
  for (const c of clients) (c.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(on);
}

async function startGateway(dataDir: string): Promise<{ proc: ChildProcess; http: string; mqttPort: number }> {
  const httpPort = await freePort();
  const mqttPort = await freePort();
  // embedded defaults, except the per-device publish rate limit (the load is devices publishing
  // as fast as PUBACKs allow, which the limit exists to stop) and the REST rate limit per API
  // key (1 200/min): the queryable probes poll /telemetry every few ms, and over the limit every
  // poll got 429 for the rest of the minute, so they measured the limiter's window
  mkdirSync(dataDir, { recursive: true });
  const configFile = join(dataDir, 'bench-config.json');
  writeFileSync(configFile, JSON.stringify(merged({ mqtt: { rateLimit: { devicePerSecond: 0 } }, http: { rateLimitPerMinute: 0 } }, GATEWAY_CONFIG)));
  // profiles of the load phase only (bench/profile-hook.mjs, toggled by SIGUSR2 around the first gateway run)
  const profDir = args['cpu-prof'] ? resolve(args['cpu-prof']) : undefined;
  if (profDir) mkdirSync(profDir, { recursive: true });
  const prof = profDir ? ['--import', join(ROOT, 'bench/profile-hook.mjs')] : [];
  // the node flags of `npm start` (package.json): a 64 MB young generation
  const proc = spawn(process.execPath, [...prof, ...GATEWAY_NODE_FLAGS, '--import', 'tsx', join(ROOT, 'src/main.ts')], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, GATEWAY_DATA_DIR: dataDir, GATEWAY_CONFIG: configFile, GATEWAY_HTTP_PORT: String(httpPort), GATEWAY_MQTT_PORT: String(mqttPort), GATEWAY_HOST: '127.0.0.1', GATEWAY_ADMIN_TOKEN: TOKEN, GATEWAY_LOG_LEVEL: 'warn', ...(profDir ? { BENCH_CPU_PROF_DIR: profDir } : {}) },
  });
  const http = `http://127.0.0.1:${httpPort}`;
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(`${http}/readyz`)).status === 200) return { proc, http, mqttPort }; } catch { /* starting */ }
    // e.g. a --gateway-config key it refused (its one line is on stderr above)
    if (proc.exitCode !== null) { if (!args['keep-data']) rmSync(dataDir, { recursive: true, force: true }); throw new Error(`gateway exited with code ${proc.exitCode} before it was ready`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error('gateway did not start');
}

/** publish -> queryable: a sampler device publishes a unique reading and polls the REST API until it is there. */
async function sampleQueryable(http: string, mqttPort: number, secret: string, stop: () => boolean): Promise<number[]> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: 'bench-q', password: secret, reconnectPeriod: 0 });
  const out: number[] = [];
  let lastQ = 0;
  while (!stop()) {
    // the time now (unique per probe): a reading older than retention.rawDays goes to the
    // rollups only (storage/backfill.ts) and is never queryable as a raw point
    const ts = (lastQ = Math.max(Date.now(), lastQ + 1));
    const t0 = performance.now();
    c.publish('devices/bench-q/up', JSON.stringify({ ts, turbidity_ntu: 0.2 }), { qos: 0 });
    for (;;) {
      const r = await fetch(`${http}/api/v1/telemetry?device=bench-q&metric=turbidity_ntu&from=${ts}&to=${ts + 1}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = (await r.json()) as { points: unknown[] };
      if (body.points.length > 0) break;
      if (performance.now() - t0 > 10_000) break;
      await new Promise((r2) => setTimeout(r2, 2));
    }
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 200));
  }
  await c.endAsync();
  return out;
}

/**
 * Alert latency: a bin alternates 86 % (opens bin_full) and 5 % (resolves it). Measured from
 * the triggering PUBACK to the SSE event (the issue's definition), and from sending the
 * publish (which includes the wait in the ingest queue behind the load). The gateway
 * evaluates rules right after the group commit and writes the SSE event in the same turn as
 * the PUBACK, just before it, so PUBACK -> SSE is clamped at 0 when the event wins the race.
 */
async function sampleAlerts(http: string, mqttPort: number, secret: string, stop: () => boolean): Promise<{ fromAck: number[]; fromPublish: number[] } | null> {
  const waiters: Array<(e: { event: string; data: any }) => void> = [];
  let stream: { close: () => void };
  try {
    stream = await readSse(`${http}/api/v1/alerts/stream?token=${TOKEN}`, (e) => { for (const w of waiters.splice(0)) w(e); });
  } catch { return null; }
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: 'bench-bin', password: secret, reconnectPeriod: 0 });
  const fromAck: number[] = [];
  const fromPublish: number[] = [];
  let high = true;
  while (!stop()) {
    const want = high ? 'alert.opened' : 'alert.resolved';
    const got = new Promise<number>((resolveWait) => {
      const w = (e: { event: string; data: any }) => {
        if (e.event === want && e.data.deviceId === 'bench-bin') resolveWait(performance.now());
        else waiters.push(w);
      };
      waiters.push(w);
    });
    const sent = performance.now();
    await c.publishAsync('devices/bench-bin/up', JSON.stringify({ fill_pct: high ? 86 : 5 }), { qos: 1 });
    const acked = performance.now();
    const at = await Promise.race([got, new Promise<number>((r) => setTimeout(() => r(NaN), 5000))]);
    if (Number.isFinite(at)) {
      fromAck.push(Math.max(0, at - acked));
      fromPublish.push(at - sent);
    }
    high = !high;
    await new Promise((r) => setTimeout(r, 300));
  }
  await c.endAsync();
  stream.close();
  return { fromAck, fromPublish };
}

const PROBES = [{ id: 'bench-q', model: 'generic.water-quality', site: 'bench/estate/pump' }, { id: 'bench-bin', model: 'generic.bin-fill', site: 'bench/estate/b0' }];

/** closed loop on the gateway, then on plain aedes, `runs` times in turn (interleaved, so drift hits both) */
/** starts (first call) or stops and writes (second call) the gateway's load-phase CPU profiles */
function toggleProfile(gw: { proc: ChildProcess }, label: string): void {
  const dir = args['cpu-prof'];
  if (!dir) return;
  writeFileSync(join(resolve(dir), 'label'), label);
  gw.proc.kill('SIGUSR2');
}

async function closedLoopSeries(gw: { http: string; proc: ChildProcess }, clients: LoadClient[], devices: LoadDevice[], rawClients: LoadClient[], rawDevices: LoadDevice[], runs: number, first = 0, rawProc?: ChildProcess) {
  const series: Array<{ gateway: LoadResult; raw: LoadResult; cpuS: number }> = [];
  for (let r = first; r < first + runs; r++) {
    const cpuBefore = await gatewayCpuSeconds(gw.http);
    log(`run ${r + 1}/${RUNS}: gateway, ${devices.length} devices x ${WINDOW} in flight for ${DURATION} s`);
    if (r === 0) toggleProfile(gw, `closed-${devices.length}x${WINDOW}`);
    const gateway = await runLoad(clients, devices, { seconds: DURATION, window: WINDOW });
    if (r === 0) toggleProfile(gw, `closed-${devices.length}x${WINDOW}`);
    const cpuS = (await gatewayCpuSeconds(gw.http)) - cpuBefore;
    log(`run ${r + 1}/${RUNS}: plain aedes, the same load`);
    if (r === 0 && rawProc) toggleProfile({ proc: rawProc }, `aedes-${devices.length}x${WINDOW}`);
    const rawCpu0 = rawProc ? procCpuSeconds(rawProc.pid!) : 0;
    const raw = await runLoad(rawClients, rawDevices, { seconds: DURATION, window: WINDOW });
    const rawCpu = rawProc ? procCpuSeconds(rawProc.pid!) - rawCpu0 : NaN;
    if (r === 0 && rawProc) toggleProfile({ proc: rawProc }, `aedes-${devices.length}x${WINDOW}`);
    log(`run ${r + 1}/${RUNS}: gateway ${Math.round(gateway.acked / gateway.seconds)}/s, aedes ${Math.round(raw.acked / raw.seconds)}/s, ratio ${(gateway.acked / gateway.seconds / (raw.acked / raw.seconds)).toFixed(3)}; CPU per message: gateway ${(1e6 * cpuS / gateway.acked).toFixed(1)} µs, aedes ${(1e6 * rawCpu / raw.acked).toFixed(1)} µs`);
    series.push({ gateway, raw, cpuS });
  }
  return series;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const r3 = (v: number) => Math.round(v * 1000) / 1000;
  return { min: r3(s[0]!), median: r3(median(s)), max: r3(s[s.length - 1]!) };
};

/**
 * Open loop at `rate` msgs/s over the load devices, with the probes on fixed schedules too:
 * a water-quality probe every 100 ms (publish -> readable through REST) and a bin every
 * 250 ms alternating 86 % / 5 % (publish -> alert.opened / alert.resolved on SSE). Every
 * latency counts from the scheduled send time.
 */
async function openLoopPhase(gw: { http: string; mqttPort: number; dataDir: string; proc: ChildProcess }, clients: LoadClient[], devices: LoadDevice[], creds: Map<string, string>, rate: number, seconds: number) {
  const queryable = histogram();
  const alert = histogram();
  let stop = false;
  const q = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { username: 'bench-q', password: creds.get('bench-q')!, reconnectPeriod: 0 });
  const bin = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { username: 'bench-bin', password: creds.get('bench-bin')!, reconnectPeriod: 0 });
  // the bin's state before the phase: start from "resolved" so the first 86 % opens
  await bin.publishAsync('devices/bench-bin/up', JSON.stringify({ fill_pct: 5 }), { qos: 1 });
  await new Promise((r) => setTimeout(r, 300));
  // alert.opened carries the fill level that opened it (a distinct one per cycle, 81..99), so
  // each is matched to its own publish even if one went missing; resolutions in order
  const opened = new Map<number, number>();
  const resolved: number[] = [];
  let probeErrors = 0;
  let missed = 0;
  // the bin's events as received (event, value, occurrences), printed when one was not seen
  const trace: string[] = [];
  const sse = await readSse(`${gw.http}/api/v1/alerts/stream?token=${TOKEN}`, (e) => {
    if (e.data?.deviceId !== 'bench-bin') return;
    trace.push(`${e.event.slice(6)} ${e.data.value} #${e.data.occurrences}`);
    const at = e.event === 'alert.opened' ? opened.get(e.data.value) : e.event === 'alert.resolved' ? resolved.shift() : undefined;
    if (e.event === 'alert.opened') opened.delete(e.data.value);
    if (at !== undefined) recordMs(alert, performance.now() - at);
  }).catch(() => null);
  const polls: Array<Promise<void>> = [];
  let lastQ = 0;
  const probes = onSchedule(100, () => stop, (at) => {
    // now, not a fixed 2026-02 base: older than retention.rawDays it went to the rollups only
    const ts = (lastQ = Math.max(Date.now(), lastQ + 1));
    q.publish('devices/bench-q/up', JSON.stringify({ ts, turbidity_ntu: 0.3 }), { qos: 0 });
    polls.push((async () => {
      for (;;) {
        const r = await fetch(`${gw.http}/api/v1/telemetry?device=bench-q&metric=turbidity_ntu&from=${ts}&to=${ts + 1}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        const body = (await r.json()) as { points?: unknown[] };
        if (r.status !== 200) probeErrors++;
        if ((body.points?.length ?? 0) > 0) { recordMs(queryable, performance.now() - at); return; }
        // never dropped: a probe that did not become queryable counts with the time it waited
        if (performance.now() - at > 30_000) { recordMs(queryable, performance.now() - at); missed++; return; }
        await new Promise((r2) => setTimeout(r2, PROBE_POLL_MS));
      }
    })());
  });
  let high = true;
  let cycle = 0;
  const bins = onSchedule(250, () => stop, (at) => {
    const fill = 81 + (cycle++ % 19);
    if (high) opened.set(fill, at); else resolved.push(at);
    bin.publish('devices/bench-bin/up', JSON.stringify({ fill_pct: high ? fill : 5 }), { qos: 1 });
    high = !high;
  });
  log(`open loop: ${rate} msgs/s offered on a fixed schedule for ${seconds} s`);
  const gwCpu0 = await gatewayCpuSeconds(gw.http);
  const main0 = mainThreadCpuSeconds(gw.proc.pid!);
  const machine0 = machineJiffies();
  const batch0 = await batchTotals(gw.http);
  const gc0 = gcTotals(await scrape(gw.http));
  // prom-client resets its event-loop delay histogram at every scrape: the next one covers the phase
  await fetch(`${gw.http}/metrics`).then((r) => r.text());
  const wall0 = performance.now();
  // the generator's own sockets without Nagle while it keeps a schedule: a small PUBLISH must
  // not wait for the ACK of the previous one (both brokers see the same generator)
  noDelay(clients, true);
  const genCpu = process.cpuUsage();
  const genWall = performance.now();
  const load = await runOpenLoop(clients, devices, { rate, seconds });
  const gc = process.cpuUsage(genCpu);
  const mainThreadPct = Math.round(100 * (mainThreadCpuSeconds(gw.proc.pid!) - main0) / ((performance.now() - wall0) / 1000));
  const machineCpuPct = machinePct(machine0, machineJiffies());
  log(`open loop: the bench process (generator, probes) used ${((gc.user + gc.system) / 10 / (performance.now() - genWall)).toFixed(0)} % of one core; the machine's ${cpus().length} cores were ${machineCpuPct} % busy`);
  noDelay(clients, false);
  let gcPhase: ReturnType<typeof gcOver>;
  {
    const wal = (() => { try { return statSync(join(gw.dataDir, 'gateway.db-wal')).size; } catch { return 0; } })();
    // one scrape: each resets the event-loop delay histogram
    const m = await scrape(gw.http);
    gcPhase = gcOver(gc0, gcTotals(m), (performance.now() - wall0) / 1000);
    const lag = (q: string) => Math.round(1000 * m(`gateway_nodejs_eventloop_lag_${q}_seconds`));
    const cpu = (await gatewayCpuSeconds(gw.http)) - gwCpu0;
    const b = await batchTotals(gw.http);
    const n = b.count - batch0.count;
    log(`open loop: gateway CPU ${(100 * cpu / ((performance.now() - wall0) / 1000)).toFixed(0)} % of one core (its main thread ${mainThreadPct} %), ${(1e6 * cpu / load.acked).toFixed(0)} µs per message; event-loop delay p50 ${lag('p50')} / p99 ${lag('p99')} / max ${lag('max')} ms; ${n} group commits of ${((b.messages - batch0.messages) / n).toFixed(1)} messages, ${(1000 * (b.seconds - batch0.seconds) / n).toFixed(2)} ms each, ${n - (b.upTo5ms - batch0.upTo5ms)} over 5 ms, ${n - (b.upTo10ms - batch0.upTo10ms)} over 10, ${n - (b.upTo25ms - batch0.upTo25ms)} over 25, ${n - (b.upTo100ms - batch0.upTo100ms)} over 100, ${n - (b.upTo250ms - batch0.upTo250ms)} over 250; WAL ${(wal / 1048576).toFixed(1)} MB`);
    log(`open loop: the gateway's main thread in GC pauses ${gcPhase.pausePct} % of the phase: ${gcPhase.scavenges} scavenges of ${gcPhase.scavengeMeanMs} ms on average (${gcPhase.scavengesOver10ms} over 10 ms), ${gcPhase.majorCount} major GCs (${gcPhase.majorMs} ms in all)`);
  }
  stop = true;
  await Promise.all([probes, bins]);
  await Promise.all(polls);
  // the last alerts of the phase: waited for like the last PUBACKs (a fixed 500 ms counted a
  // slow one as never seen, with the time until then)
  const deadline = performance.now() + 30_000;
  while ((opened.size > 0 || resolved.length > 0) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  sse?.close();
  await Promise.all([q.endAsync(), bin.endAsync()]);
  // alerts that never arrived count with the time waited, so a lost one is not a fast one
  const end = performance.now();
  for (const at of [...opened.values(), ...resolved]) { recordMs(alert, end - at); missed++; }
  if (opened.size > 0 || resolved.length > 0) log(`open loop: the bin's events as received: ${trace.join(', ')}`);
  if (opened.size > 0 || resolved.length > 0) log(`open loop: alert events not seen: opened for fill ${[...opened.keys()].join(', ') || '-'}; ${resolved.length} resolutions`);
  if (probeErrors > 0 || missed > 0) log(`open loop probes: ${probeErrors} REST errors, ${missed} probes never seen (counted with the time waited)`);
  return { load, queryable, alert, missed, mainThreadPct, machineCpuPct, gc: gcPhase };
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  log(`gateway on embedded defaults, data in ${dataDir}`);
  const gw = await startGateway(dataDir);
  const rows = Array.from({ length: DEVICES }, (_, i) => ({ id: `bench-${String(i).padStart(5, '0')}`, model: KINDS[i % KINDS.length]!.model, site: `bench/estate/b${i % 10}` }));
  rows.push(...PROBES);
  log(`provisioning ${rows.length} devices`);
  const creds = await provision(gw.http, rows);
  // reading times follow the clock, strictly increasing per device (max(now, previous + 1 ms)),
  // so every acknowledged reading is a new row and the time-based rules see what a real estate
  // shows them. (Until 2026-12 they counted from 2025-01-01 in 1 s steps: every door whose last
  // reading said open had been "held open" for a year, so door_held_open opened and resolved
  // for each such door at every sweep, an alert storm that grew with the number of devices.)
  const lastTs = new Array<number>(DEVICES).fill(0);
  const seqs = new Array<number>(DEVICES).fill(0);
  const devices: LoadDevice[] = rows.slice(0, DEVICES).map((r, i) => ({
    username: r.id, password: creds.get(r.id)!, topic: `devices/${r.id}/up`,
    payload: () => Buffer.from(JSON.stringify(KINDS[i % KINDS.length]!.payload((lastTs[i] = Math.max(Date.now(), lastTs[i]! + 1)), seqs[i]!++))),
  }));
  log(`connecting ${DEVICES} devices`);
  const clients = await connectAll(`mqtt://127.0.0.1:${gw.mqttPort}`, devices, { generator: GENERATOR });

  log('plain aedes beside it (idle while the gateway is under load)');
  const rawPort = await freePort();
  const profDir = args['cpu-prof'] ? resolve(args['cpu-prof']) : undefined;
  const raw = spawn(process.execPath, [...(profDir ? ['--import', join(ROOT, 'bench/profile-hook.mjs')] : []), '--import', 'tsx', join(ROOT, 'bench/plain-aedes.ts'), String(rawPort)], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...(profDir ? { BENCH_CPU_PROF_DIR: profDir } : {}) },
  });
  await new Promise<void>((r) => raw.stdout!.once('data', () => r()));
  const rawDevices: LoadDevice[] = devices.map((d, i) => ({ topic: d.topic, payload: (seq) => Buffer.from(JSON.stringify(KINDS[i % KINDS.length]!.payload(Date.now(), seq))) }));
  const rawClients = await connectAll(`mqtt://127.0.0.1:${rawPort}`, rawDevices, { generator: GENERATOR });

  // closed loop (the v1 figures), with the v1 probes during the first run
  let done = false;
  const queryable = sampleQueryable(gw.http, gw.mqttPort, creds.get('bench-q')!, () => done);
  const alerts = sampleAlerts(gw.http, gw.mqttPort, creds.get('bench-bin')!, () => done);
  const first = await closedLoopSeries(gw, clients, devices, rawClients, rawDevices, 1, 0, raw);
  done = true;
  const [qLat, aLat] = await Promise.all([queryable, alerts]);
  const series = [...first, ...(RUNS > 1 ? await closedLoopSeries(gw, clients, devices, rawClients, rawDevices, RUNS - 1, 1, raw) : [])];
  const ratios = series.map((s) => (s.gateway.acked / s.gateway.seconds) / (s.raw.acked / s.raw.seconds));
  const gatewayRates = series.map((s) => s.gateway.acked / s.gateway.seconds);
  const maxRate = stats(gatewayRates).median;

  const perDeviceAcked = new Array<number>(DEVICES).fill(0);
  for (const s of series) s.gateway.perDeviceAcked.forEach((n, i) => { perDeviceAcked[i]! += n; });
  // open loop at 50 % of the measured maximum (or --rate), then the sweep
  const olRate = args.rate !== undefined && !args.sweep ? Number(args.rate) : Math.round(maxRate / 2);
  if (!args['closed-only']) toggleProfile(gw, `open-${devices.length}-${olRate}`);
  const ol = args['closed-only'] ? undefined : await openLoopPhase({ ...gw, dataDir }, clients, devices, creds, olRate, OPEN_DURATION);
  if (!args['closed-only']) toggleProfile(gw, `open-${devices.length}-${olRate}`);
  ol?.load.perDeviceAcked.forEach((n, i) => { perDeviceAcked[i]! += n; });
  const olSummary = ol ? summarise(ol) : undefined;
  // the same schedule on plain aedes: what the machine and the generator cost a PUBACK at this rate
  const rawOl = args['closed-only'] ? undefined : await aedesOpenLoop(rawClients, rawDevices, raw, olRate, OPEN_DURATION);
  if (rawOl) log(`open loop ${olRate}/s on plain aedes: PUBACK p50 ${rawOl.ack.p50Ms} p99 ${rawOl.ack.p99Ms} p99.9 ${rawOl.ack.p999Ms} ms; generator lag p99 ${rawOl.sendLag.p99Ms} ms`);
  if (ol && olSummary) log(`open loop ${olRate}/s: PUBACK p50 ${olSummary.ack.p50Ms} p99 ${olSummary.ack.p99Ms} p99.9 ${olSummary.ack.p999Ms} ms; queryable p99 ${olSummary.queryable.p99Ms} ms; alert p99 ${olSummary.alert.p99Ms} ms; generator lag p99 ${olSummary.sendLag.p99Ms} ms`);

  let sweep: SweepPoint[] | undefined;
  if (args.sweep && !args['closed-only']) {
    sweep = [];
    for (const pct of [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]) {
      const rate = Math.round((maxRate * pct) / 100);
      const step = await openLoopPhase({ ...gw, dataDir }, clients, devices, creds, rate, SWEEP_DURATION);
      step.load.perDeviceAcked.forEach((n, i) => { perDeviceAcked[i]! += n; });
      const sm = summarise(step);
      sweep.push({ pctOfMax: pct, rate, achieved: Math.round(step.load.acked / step.load.seconds), ackP50Ms: sm.ack.p50Ms, ackP99Ms: sm.ack.p99Ms, ackP999Ms: sm.ack.p999Ms, queryableP99Ms: sm.queryable.count ? sm.queryable.p99Ms : null, alertP99Ms: sm.alert.count ? sm.alert.p99Ms : null, mainThreadPct: step.mainThreadPct, machineCpuPct: step.machineCpuPct, gcPausePct: step.gc.pausePct });
      log(`sweep ${pct} % (${rate}/s): PUBACK p99 ${sm.ack.p99Ms} ms, p99.9 ${sm.ack.p999Ms} ms; queryable p99 ${sm.queryable.p99Ms} ms; alert p99 ${sm.alert.p99Ms} ms; main thread ${step.mainThreadPct} % of one core, machine ${step.machineCpuPct} % busy`);
    }
    const file = resolve(String(args['sweep-out']));
    writeFileSync(file, sweepSvg(sweep, `Gateway latency vs offered load (${DEVICES} devices, max ${Math.round(maxRate)} msgs/s closed loop)`));
    writeFileSync(file.replace(/\.svg$/, '.json'), `${JSON.stringify({ devices: DEVICES, maxRate: Math.round(maxRate), points: sweep }, null, 2)}\n`);
    log(`sweep chart written to ${file}`);
  }

  let capacity: Record<string, unknown> | undefined;
  if (args.capacity && !args['closed-only']) {
    const found = await openLoopCapacity(clients, devices, maxRate, Number(args['capacity-step-duration']));
    const half = Math.round(found.capacity / 2);
    if (half > 0) {
      log(`open-loop capacity ${found.capacity}/s (${(100 * found.capacity / maxRate).toFixed(0)} % of the closed-loop maximum; the next step was limited by the ${found.limitedBy}); latencies at half of it, ${half}/s`);
      const ph = await openLoopPhase({ ...gw, dataDir }, clients, devices, creds, half, OPEN_DURATION);
      ph.load.perDeviceAcked.forEach((n, i) => { perDeviceAcked[i]! += n; });
      const sm = summarise(ph);
      const rawHalf = await aedesOpenLoop(rawClients, rawDevices, raw, half, OPEN_DURATION);
      log(`open loop at half the capacity, ${half}/s: PUBACK p50 ${sm.ack.p50Ms} p99 ${sm.ack.p99Ms} p99.9 ${sm.ack.p999Ms} ms; queryable p99 ${sm.queryable.p99Ms} ms; alert p99 ${sm.alert.p99Ms} ms; plain aedes PUBACK p99 ${rawHalf.ack.p99Ms} ms`);
      capacity = {
        capacity: found.capacity, limitedBy: found.limitedBy, closedLoopMax: Math.round(maxRate), rate: half,
        ackP50Ms: sm.ack.p50Ms, ackP99Ms: sm.ack.p99Ms, ackP999Ms: sm.ack.p999Ms,
        queryableP99Ms: sm.queryable.p99Ms, alertP99Ms: sm.alert.p99Ms, senderLagP99Ms: sm.sendLag.p99Ms,
        mainThreadPct: ph.mainThreadPct, machineCpuPct: ph.machineCpuPct, gc: ph.gc,
        plainAedes: { ackP50Ms: rawHalf.ack.p50Ms, ackP99Ms: rawHalf.ack.p99Ms, ackP999Ms: rawHalf.ack.p999Ms, cpuPct: rawHalf.cpuPct, machineCpuPct: rawHalf.machineCpuPct },
        steps: found.steps,
      };
    } else {
      capacity = { capacity: 0, limitedBy: found.limitedBy, closedLoopMax: Math.round(maxRate), steps: found.steps };
    }
  }

  const rssMb = peakRssMb(gw.proc.pid!);
  const metric = await scrape(gw.http);
  const batches = metric('gateway_write_batch_messages_count');
  const s0 = series[0]!;
  log(`gateway CPU during the first closed loop: ${s0.cpuS.toFixed(1)} s for ${s0.gateway.acked} messages in ${s0.gateway.seconds.toFixed(1)} s (${(1e6 * s0.cpuS / s0.gateway.acked).toFixed(0)} µs per message, ${(100 * s0.cpuS / s0.gateway.seconds).toFixed(0)} % of one core)`);
  const limited = metric('gateway_http_refusals_total{reason="rate_limited"}') || 0;
  if (limited > 0) log(`WARNING: ${limited} REST probe requests were refused by the HTTP rate limit: the queryable latencies are the limiter's`);
  log(`group commit: ${batches} batches, ${(metric('gateway_write_batch_messages_sum') / batches).toFixed(1)} messages and ${(1000 * metric('gateway_write_batch_seconds_sum') / batches).toFixed(2)} ms per batch`);
  await Promise.all([...clients, ...rawClients].map((c) => c.endAsync()));
  raw.kill('SIGTERM');
  gw.proc.kill('SIGTERM');
  await new Promise((r) => gw.proc.once('exit', r));

  const db = new Database(join(dataDir, 'gateway.db'), { readonly: true });
  const stored = new Map<string, number>((db.prepare("SELECT device_id, count(*) AS n FROM readings_all WHERE device_id LIKE 'bench-0%' GROUP BY device_id").all() as Array<{ device_id: string; n: number }>).map((r) => [r.device_id, r.n]));
  db.close();
  let lost = 0;
  devices.forEach((d, i) => { lost += Math.max(0, perDeviceAcked[i]! - (stored.get(d.username!) ?? 0)); });
  if (!args['keep-data']) rmSync(dataDir, { recursive: true, force: true });

  const load = s0.gateway;
  const readingsPerSec = Math.round(load.acked / load.seconds);
  const rawBrokerPerSec = Math.round(s0.raw.acked / s0.raw.seconds);
  const r2 = (v: number) => Math.round(v * 100) / 100;
  const result = {
    generator: GENERATOR,
    readingsPerSec,
    rawBrokerPerSec,
    ratio: Math.round((RUNS > 1 ? stats(ratios).median : readingsPerSec / rawBrokerPerSec) * 1000) / 1000,
    publishToAckP50Ms: r2(percentile(load.ackLatenciesMs, 50)),
    publishToAckP99Ms: r2(percentile(load.ackLatenciesMs, 99)),
    publishToQueryableP99Ms: r2(percentile(qLat, 99)),
    alertLatencyP99Ms: aLat && aLat.fromAck.length ? r2(percentile(aLat.fromAck, 99)) : null,
    alertFromPublishP99Ms: aLat && aLat.fromPublish.length ? r2(percentile(aLat.fromPublish, 99)) : null,
    devices: DEVICES,
    durationSec: DURATION,
    lost,
    rssMb,
    openLoop: ol && olSummary ? {
      rate: olRate,
      achievedPerSec: Math.round(ol.load.acked / ol.load.seconds),
      unacked: ol.load.unacked,
      ackP50Ms: olSummary.ack.p50Ms, ackP99Ms: olSummary.ack.p99Ms, ackP999Ms: olSummary.ack.p999Ms,
      queryableP50Ms: olSummary.queryable.p50Ms, queryableP99Ms: olSummary.queryable.p99Ms, queryableP999Ms: olSummary.queryable.p999Ms,
      alertP50Ms: olSummary.alert.p50Ms, alertP99Ms: olSummary.alert.p99Ms, alertP999Ms: olSummary.alert.p999Ms,
      senderLagP99Ms: olSummary.sendLag.p99Ms,
      // % of one core the gateway's main thread used: near 100 the latencies are its queue
      mainThreadPct: ol.mainThreadPct,
      // % of all the machine's cores busy (gateway, generator, everything): near 100 every thread queues for a core
      machineCpuPct: ol.machineCpuPct,
      // the gateway main thread's garbage-collection pauses over the phase (bench/gc.ts gcOver)
      gc: ol.gc,
      // the same schedule on plain aedes, after the gateway's phase (cpuPct: its one thread)
      plainAedes: rawOl ? { ackP50Ms: rawOl.ack.p50Ms, ackP99Ms: rawOl.ack.p99Ms, ackP999Ms: rawOl.ack.p999Ms, senderLagP99Ms: rawOl.sendLag.p99Ms, cpuPct: rawOl.cpuPct, machineCpuPct: rawOl.machineCpuPct } : null,
    } : null,
    series: {
      runs: RUNS,
      ratio: stats(ratios),
      readingsPerSec: stats(gatewayRates.map(Math.round)),
      rawBrokerPerSec: stats(series.map((s) => Math.round(s.raw.acked / s.raw.seconds))),
    },
    ...(sweep ? { sweep } : {}),
    ...(capacity ? { openLoopCapacity: capacity } : {}),
  };
  if (!args.json) {
    const rowsOut: Array<[string, string]> = [
      ['gateway readings/s (durable PUBACK)', String(result.readingsPerSec)],
      ['plain aedes msgs/s', String(result.rawBrokerPerSec)],
      [`ratio (${RUNS > 1 ? `median of ${RUNS}, min ${result.series.ratio.min}, max ${result.series.ratio.max}` : 'one run'})`, String(result.ratio)],
      ['closed loop publish -> PUBACK p50 / p99 (ms)', `${result.publishToAckP50Ms} / ${result.publishToAckP99Ms}`],
      [`closed loop publish -> queryable p99 (ms, ${qLat.length})`, String(result.publishToQueryableP99Ms)],
      [`alert PUBACK -> SSE p99 (ms, ${aLat?.fromAck.length ?? 0} samples)`, String(result.alertLatencyP99Ms ?? 'n/a (no alert stream)')],
      ...(olSummary ? [
        [`open loop at ${olRate}/s: PUBACK p50/p99/p99.9`, `${olSummary.ack.p50Ms} / ${olSummary.ack.p99Ms} / ${olSummary.ack.p999Ms}`],
        [`open loop: queryable p50/p99/p99.9 (${olSummary.queryable.count})`, `${olSummary.queryable.p50Ms} / ${olSummary.queryable.p99Ms} / ${olSummary.queryable.p999Ms}`],
        [`open loop: alert on SSE p50/p99/p99.9 (${olSummary.alert.count})`, `${olSummary.alert.p50Ms} / ${olSummary.alert.p99Ms} / ${olSummary.alert.p999Ms}`],
        ...(rawOl ? [[`open loop on plain aedes: PUBACK p50/p99/p99.9`, `${rawOl.ack.p50Ms} / ${rawOl.ack.p99Ms} / ${rawOl.ack.p999Ms}`]] : []),
      ] as Array<[string, string]> : []),
      ...(capacity && capacity.rate ? [
        ['open-loop capacity (msgs/s kept up with)', String(capacity.capacity)],
        [`at half of it, ${capacity.rate}/s: PUBACK p50/p99/p99.9`, `${capacity.ackP50Ms} / ${capacity.ackP99Ms} / ${capacity.ackP999Ms}`],
        ['  queryable p99 / alert on SSE p99 (ms)', `${capacity.queryableP99Ms} / ${capacity.alertP99Ms}`],
      ] as Array<[string, string]> : []),
      ['load generator', GENERATOR],
      ['acknowledged but not stored', String(result.lost)],
      ['gateway peak RSS (MB)', String(result.rssMb)],
      ['devices / duration (s)', `${DEVICES} / ${DURATION}`],
    ];
    for (const [k, v] of rowsOut) process.stdout.write(`${k.padEnd(48)} ${v}\n`);
    if (sweep) {
      process.stdout.write('\n% of max  offered/s  achieved/s  PUBACK p50/p99/p99.9 (ms)  queryable p99  alert p99\n');
      for (const p of sweep) process.stdout.write(`${String(p.pctOfMax).padStart(8)}  ${String(p.rate).padStart(9)}  ${String(p.achieved).padStart(10)}  ${`${p.ackP50Ms} / ${p.ackP99Ms} / ${p.ackP999Ms}`.padEnd(26)} ${String(p.queryableP99Ms).padStart(13)}  ${String(p.alertP99Ms).padStart(9)}\n`);
    }
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

/** the same schedule on plain aedes: what the machine and the generator cost a PUBACK at this rate */
async function aedesOpenLoop(rawClients: LoadClient[], rawDevices: LoadDevice[], raw: ChildProcess, rate: number, seconds: number) {
  log(`open loop on plain aedes: ${rate} msgs/s for ${seconds} s`);
  noDelay(rawClients, true);
  const genCpu = process.cpuUsage();
  const genWall = performance.now();
  const aedesCpu = procCpuSeconds(raw.pid!);
  const machine0 = machineJiffies();
  const r = await runOpenLoop(rawClients, rawDevices, { rate, seconds });
  const gc = process.cpuUsage(genCpu);
  const wall = (performance.now() - genWall) / 1000;
  const ac = procCpuSeconds(raw.pid!) - aedesCpu;
  const cpuPct = Math.round(100 * ac / wall);
  const machineCpuPct = machinePct(machine0, machineJiffies());
  log(`open loop on plain aedes: aedes CPU ${cpuPct} % of one core, ${(1e6 * ac / r.acked).toFixed(0)} µs per message; the bench process used ${((gc.user + gc.system) / 10000 / wall).toFixed(0)} % of one core; the machine's cores were ${machineCpuPct} % busy`);
  noDelay(rawClients, false);
  return { ack: percentiles(r.ack), sendLag: percentiles(r.sendLag), cpuPct, machineCpuPct };
}

/** one step of the capacity ramp: did the gateway keep up with this offered rate? */
interface CapacityStep { rate: number; ackP50Ms: number; ackP99Ms: number; senderLagP99Ms: number; drainMs: number; keptUp: boolean }

/**
 * The open-loop capacity: the highest offered rate the gateway keeps up with. The closed
 * loop's maximum is not it: there each socket read carries several publishes and each write
 * several PUBACKs, while messages offered evenly over the devices cost a read and a write
 * each. Ramps from 15 % of the closed-loop maximum in steps of 15 %; a step keeps up when the
 * generator held its schedule (send lag p99 <= 50 ms), the PUBACK p99 stayed under 1 s and
 * the last acknowledgement came within 500 ms of the schedule's end (a gateway that falls x %
 * behind over a 6 s step ends ~x % × 6 s behind). The capacity is the last step that kept up;
 * `limitedBy` says whether the next one failed on the gateway, on the generator (which shares
 * the cores: the capacity is then a lower bound) or was past the ramp's end (120 %).
 */
async function openLoopCapacity(clients: LoadClient[], devices: LoadDevice[], closedMax: number, seconds: number): Promise<{ capacity: number; limitedBy: 'gateway' | 'generator' | 'ramp'; steps: CapacityStep[] }> {
  const steps: CapacityStep[] = [];
  let capacity = 0;
  let limitedBy: 'gateway' | 'generator' | 'ramp' = 'ramp';
  noDelay(clients, true);
  for (let rate = Math.round(closedMax * 0.15); rate <= closedMax * 1.2; rate = Math.round(rate * 1.15)) {
    const r = await runOpenLoop(clients, devices, { rate, seconds });
    const ack = percentiles(r.ack);
    const lag = percentiles(r.sendLag);
    const generatorOk = lag.p99Ms <= 50;
    const keptUp = generatorOk && ack.p99Ms < 1000 && r.drainMs <= 500 && r.unacked === 0 && r.failed === 0;
    steps.push({ rate, ackP50Ms: ack.p50Ms, ackP99Ms: ack.p99Ms, senderLagP99Ms: lag.p99Ms, drainMs: Math.round(r.drainMs), keptUp });
    log(`capacity: ${rate}/s: PUBACK p50 ${ack.p50Ms} p99 ${ack.p99Ms} ms, generator lag p99 ${lag.p99Ms} ms, last PUBACK ${Math.round(r.drainMs)} ms after the schedule: ${keptUp ? 'kept up' : generatorOk ? 'fell behind' : 'the generator could not keep its schedule (the capacity is at least the last rate that kept up)'}`);
    if (!keptUp) { limitedBy = generatorOk ? 'gateway' : 'generator'; break; }
    capacity = rate;
    // the next step starts on an idle gateway, not on the tail of this one
    await new Promise((res) => setTimeout(res, 1000));
  }
  noDelay(clients, false);
  return { capacity, limitedBy, steps };
}

function summarise(p: { load: OpenLoopResult; queryable: Histogram; alert: Histogram }) {
  return { ack: percentiles(p.load.ack), queryable: percentiles(p.queryable), alert: percentiles(p.alert), sendLag: percentiles(p.load.sendLag) };
}

async function connectionsMode(o: ConnectionsOptions) {
  if (ensureFileLimit(o.connections + 4096) === 'reexec') return;
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-bench-conn-'));
  log(`connection scale: ${o.connections} devices at ${o.rate}/s, one QoS 1 reading every ${o.interval} s each`);
  const gw = await startGateway(dataDir);
  const rows = Array.from({ length: o.connections }, (_, i) => ({ id: `conn-${String(i).padStart(6, '0')}`, model: KINDS[i % KINDS.length]!.model, site: `bench/estate/b${i % 50}` }));
  const probe = await provision(gw.http, PROBES);
  const t0 = performance.now();
  const secrets = await provision(gw.http, rows);
  const creds = rows.map((r) => ({ username: r.id, password: secrets.get(r.id)!, topic: `devices/${r.id}/up` }));
  log(`provisioned ${creds.length} devices in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // reading times follow the clock (see main()), strictly increasing per device
  const lastTs = new Map<number, number>();
  const payload = (i: number, seq: number) => {
    const ts = Math.max(Date.now(), (lastTs.get(i) ?? 0) + 1);
    lastTs.set(i, ts);
    return JSON.stringify(KINDS[i % KINDS.length]!.payload(ts, seq));
  };
  // publish -> queryable and alert latency while the devices connect and publish
  let scaled = false;
  const queryable = sampleQueryable(gw.http, gw.mqttPort, probe.get('bench-q')!, () => scaled);
  const alerts = sampleAlerts(gw.http, gw.mqttPort, probe.get('bench-bin')!, () => scaled);
  const heap = async () => {
    const m = await scrape(gw.http);
    const mb = (name: string) => m(name) / 1024 / 1024;
    return { used: mb('gateway_nodejs_heap_size_used_bytes'), total: mb('gateway_nodejs_heap_size_total_bytes'), external: mb('gateway_nodejs_external_memory_bytes') };
  };
  const g = await scaleConnections(`mqtt://127.0.0.1:${gw.mqttPort}`, gw.proc.pid!, creds, o, payload, heap);
  scaled = true;
  const [qLat, aLat] = await Promise.all([queryable, alerts]);
  const latencies = {
    publishToQueryableP99Ms: Math.round(percentile(qLat, 99) * 100) / 100,
    alertLatencyP99Ms: aLat && aLat.fromAck.length ? Math.round(percentile(aLat.fromAck, 99) * 100) / 100 : null,
    alertFromPublishP99Ms: aLat && aLat.fromPublish.length ? Math.round(percentile(aLat.fromPublish, 99) * 100) / 100 : null,
    samples: qLat.length,
  };
  log(`gateway: ${g.connected} connected, ${g.connectErrors} errors${g.firstError ? ` (first: ${g.firstError})` : ''}, RSS ${g.rssBeforeMb} -> ${g.rssAfterMb} MB (median of ${g.rssSamples} samples), ${g.kbPerConnectionMin}-${g.kbPerConnectionMax} kB per connection; V8 heap used / reserved ${g.heapKbPerConnection?.used} / ${g.heapKbPerConnection?.total}, external ${g.heapKbPerConnection?.external} kB per connection`);
  await closeAll(g.clients);
  gw.proc.kill('SIGTERM');
  await waitExit(gw.proc);
  const db = new Database(join(dataDir, 'gateway.db'), { readonly: true });
  const stored = (db.prepare("SELECT count(*) AS n FROM readings_all WHERE device_id LIKE 'conn-%'").get() as { n: number }).n;
  db.close();
  rmSync(dataDir, { recursive: true, force: true });

  log('plain aedes, the same connections');
  const rawPort = await freePort();
  const raw = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/plain-aedes.ts'), String(rawPort)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((r) => raw.stdout!.once('data', () => r()));
  const a = await scaleConnections(`mqtt://127.0.0.1:${rawPort}`, raw.pid!, creds.map((c) => ({ topic: c.topic })), o, payload);
  await closeAll(a.clients);
  raw.kill('SIGTERM');
  await waitExit(raw);

  const strip = ({ clients: _c, ...r }: typeof g) => r;
  const result = {
    mode: 'connections', connections: o.connections, connectRatePerSec: o.rate, publishIntervalSec: o.interval,
    gateway: { ...strip(g), stored, lost: Math.max(0, g.acked - stored), ...latencies },
    plainAedes: strip(a),
  };
  if (!o.json) {
    const rowsOut: Array<[string, string, string]> = [
      ['connected', String(g.connected), String(a.connected)],
      ['connect errors', String(g.connectErrors), String(a.connectErrors)],
      ['connect p50 / p99 (ms)', `${g.connectP50Ms} / ${g.connectP99Ms}`, `${a.connectP50Ms} / ${a.connectP99Ms}`],
      ['seconds to connect all', String(g.secondsToConnect), String(a.secondsToConnect)],
      ['RSS before -> after (MB)', `${g.rssBeforeMb} -> ${g.rssAfterMb}`, `${a.rssBeforeMb} -> ${a.rssAfterMb}`],
      [`RSS per connection (KB, median of ${g.rssSamples})`, String(g.kbPerConnection), String(a.kbPerConnection)],
      ['  lowest / highest sample', `${g.kbPerConnectionMin} / ${g.kbPerConnectionMax}`, `${a.kbPerConnectionMin} / ${a.kbPerConnectionMax}`],
      ['  V8 heap used / reserved, external (KB)', g.heapKbPerConnection ? `${g.heapKbPerConnection.used} / ${g.heapKbPerConnection.total}, ${g.heapKbPerConnection.external}` : '-', '-'],
      ['QoS 1 published / acked', `${g.published} / ${g.acked}`, `${a.published} / ${a.acked}`],
      ['acked but not stored', String(result.gateway.lost), '-'],
      [`publish -> queryable p99 (ms, ${latencies.samples})`, String(latencies.publishToQueryableP99Ms), '-'],
      ['alert PUBACK / publish -> SSE p99 (ms)', `${latencies.alertLatencyP99Ms} / ${latencies.alertFromPublishP99Ms}`, '-'],
    ];
    process.stdout.write(`${''.padEnd(28)} ${'gateway'.padEnd(16)} plain aedes\n`);
    for (const [k, v, w] of rowsOut) process.stdout.write(`${k.padEnd(28)} ${v.padEnd(16)} ${w}\n`);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

const run = args.cluster !== undefined
  ? async () => {
    const nodes = Number(args.cluster);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16) {
      process.stderr.write('bench: --cluster must be a whole number of nodes from 1 to 16\n');
      process.exit(2);
    }
    const { clusterBench } = await import('./cluster.js');
    const ended = await clusterBench({ nodes, devices: DEVICES, duration: DURATION, window: WINDOW, json: args.json, cpuProf: args['cpu-prof'], pgUrl: args['pg-url'], redisUrl: args['redis-url'] });
    if (ended === 'done') process.exit(0); // 'reexec': a child with a higher open-file limit runs it
  }
  : args.connections !== undefined
  ? () => {
    const o = { connections: Number(args.connections), rate: Number(args.rate ?? 200), interval: Number(args.interval), hold: Number(args.hold), json: args.json };
    if (![o.connections, o.rate, o.interval].every((n) => n > 0) || !(o.hold >= 0)) {
      process.stderr.write('bench: --connections, --rate and --interval must be positive numbers\n');
      process.exit(2);
    }
    return connectionsMode(o);
  }
  : main;

run().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
