/**
 * npm run bench -- --cluster <nodes> [--devices 500] [--duration 15] [--window 10] [--json]
 *                  [--cpu-prof <dir>] [--pg-url postgres://…] [--redis-url redis://…]
 *
 * Cluster benchmark (issue 15): `nodes` gateway processes in cluster mode on one PostgreSQL
 * (store.type postgres, the shared registry) and one Redis — both started here on free ports
 * in temp dirs, as the tests start them, unless --pg-url / --redis-url name your own — with
 * the devices spread evenly over the nodes (device i connects to node i mod n, as behind
 * HAProxy), each publishing QoS 1 as fast as PUBACKs allow (the closed loop of the
 * single-node bench). Then one gateway on embedded defaults (SQLite) and plain aedes under the
 * same load, in the same run. Every PUBACK of a postgres-store node is sent after the
 * PostgreSQL commit; the loss check counts each device's distinct reading times in the store
 * against its PUBACKs.
 *
 * Publish → queryable: one probe device per node publishes a unique reading on its node and
 * polls GET /api/v1/telemetry on the *next* node until the reading is there, so the figure
 * includes the commit, the shared store and the other node's query path (with --cluster 1,
 * the same node).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { connectAll, percentile, runLoad, type LoadDevice, type LoadResult } from './load.js';
import { ensureFileLimit } from './connections.js';
import { freePort } from '../test/helpers/net.js';
import { startPostgres, type Postgres } from '../test/helpers/postgres.js';
import { startRedis, type Redis } from '../test/helpers/redis.js';
import { KINDS, TOKEN, api, provision } from './fleet.js';
import { scrapeMetrics } from './metrics.js';

export interface ClusterBenchOptions {
  nodes: number;
  devices: number;
  duration: number;
  window: number;
  json: boolean;
  cpuProf?: string;
  pgUrl?: string;
  redisUrl?: string;
}

const ROOT = resolve(import.meta.dirname, '..');
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
/** node flags of the start script, so every gateway runs as `npm start` runs it */
const GATEWAY_NODE_FLAGS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start as string)
  .split(' ').filter((a) => a.startsWith('--') && a !== '--import');

interface Node { name: string; proc: ChildProcess; http: string; mqttPort: number; dataDir: string; profDir?: string }

/** a gateway child process started like `npm start`, with this config; ready when /readyz answers 200 */
async function startNode(name: string, config: Record<string, unknown>, profRoot: string | undefined): Promise<Node> {
  const dataDir = mkdtempSync(join(tmpdir(), `gw-bench-${name}-`));
  const httpPort = await freePort();
  const mqttPort = await freePort();
  const configFile = join(dataDir, 'bench-config.json');
  writeFileSync(configFile, JSON.stringify(config));
  // load-phase profiles (bench/profile-hook.mjs, toggled by SIGUSR2), one directory per process
  const profDir = profRoot ? join(profRoot, name) : undefined;
  if (profDir) mkdirSync(profDir, { recursive: true });
  const proc = spawn(process.execPath, [...(profDir ? ['--import', join(ROOT, 'bench/profile-hook.mjs')] : []), ...GATEWAY_NODE_FLAGS, '--import', 'tsx', join(ROOT, 'src/main.ts')], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, GATEWAY_DATA_DIR: dataDir, GATEWAY_CONFIG: configFile, GATEWAY_HTTP_PORT: String(httpPort), GATEWAY_MQTT_PORT: String(mqttPort), GATEWAY_HOST: '127.0.0.1', GATEWAY_ADMIN_TOKEN: TOKEN, GATEWAY_LOG_LEVEL: 'warn', ...(profDir ? { BENCH_CPU_PROF_DIR: profDir } : {}) },
  });
  const http = `http://127.0.0.1:${httpPort}`;
  let exited = false;
  proc.once('exit', () => { exited = true; });
  // a cold tsx start of the whole gateway takes 5-20 s on this loaded machine
  for (let i = 0; i < 900 && !exited; i++) {
    try { if ((await fetch(`${http}/readyz`)).status === 200) return { name, proc, http, mqttPort, dataDir, profDir }; } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error(`gateway ${name} ${exited ? 'exited' : 'did not become ready'} during start-up`);
}

async function stopProc(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
  proc.kill('SIGKILL');
}

/** starts (first call) or stops and writes (second call) one process's load-phase profile */
function toggleProfile(p: { proc: ChildProcess; profDir?: string }, label: string): void {
  if (!p.profDir) return;
  writeFileSync(join(p.profDir, 'label'), label);
  p.proc.kill('SIGUSR2');
}

// ---- CPU of the servers (PostgreSQL backends, Redis), from /proc: the machine's split ----

function parentOf(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]); // fields from 3 (state) on; comm may hold spaces
  } catch { return 0; }
}

/** pids whose command line contains `needle`, and all their descendants */
function processTree(needle: string): number[] {
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const roots = all.filter((pid) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(needle); } catch { return false; } });
  const parents = new Map(all.map((pid) => [pid, parentOf(pid)]));
  const out = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents) if (!out.has(pid) && out.has(ppid)) { out.add(pid); grew = true; }
  }
  return [...out];
}

/**
 * CPU seconds run and seconds spent runnable but waiting for a core, summed over every thread
 * of these processes (/proc/<pid>/task/<tid>/schedstat: ns on the CPU, ns on a run queue).
 * The second says whether a process was idle or starved: on this shared 2-core machine a low
 * CPU figure alone does not tell them apart. Exited threads and backends take their time with
 * them (the pools keep their connections open through the run).
 */
function schedOf(pids: number[] | null): { cpuS: number; waitS: number } | null {
  if (!pids || pids.length === 0) return null;
  let cpu = 0;
  let wait = 0;
  for (const pid of pids) {
    let tids: string[] = [];
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) {
      try {
        const [run, queued] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
        cpu += run!;
        wait += queued!;
      } catch { /* exited */ }
    }
  }
  return { cpuS: cpu / 1e9, waitS: wait / 1e9 };
}

const diff = (a: { cpuS: number; waitS: number } | null, b: { cpuS: number; waitS: number } | null) =>
  (a && b ? { cpuS: Math.round((b.cpuS - a.cpuS) * 100) / 100, waitS: Math.round((b.waitS - a.waitS) * 100) / 100 } : null);

// ---- probes ----

/**
 * publish → queryable, closed loop: a probe device publishes a unique reading on `pub` and
 * polls the REST API of `read` until it is there (10 s at most, then counted with the time
 * waited), pausing 200 ms between probes.
 */
async function sampleQueryable(pub: Node, read: Node, id: string, secret: string, stop: () => boolean): Promise<{ ms: number[]; missed: number }> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${pub.mqttPort}`, { username: id, password: secret, reconnectPeriod: 0 });
  const ms: number[] = [];
  let missed = 0;
  let last = 0;
  while (!stop()) {
    const ts = (last = Math.max(Date.now(), last + 1));
    const t0 = performance.now();
    c.publish(`devices/${id}/up`, JSON.stringify({ ts, turbidity_ntu: 0.2 }), { qos: 0 });
    for (;;) {
      const r = await fetch(`${read.http}/api/v1/telemetry?device=${id}&metric=turbidity_ntu&from=${ts}&to=${ts + 1}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = (await r.json()) as { points?: unknown[] };
      if ((body.points?.length ?? 0) > 0) break;
      if (performance.now() - t0 > 10_000) { missed++; break; }
      await new Promise((r2) => setTimeout(r2, 2));
    }
    ms.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 200));
  }
  await c.endAsync();
  return { ms, missed };
}

// ---- one target under load ----

const r2 = (v: number) => (Number.isFinite(v) ? Math.round(v * 100) / 100 : null);

function loadDevices(ids: string[], creds: Map<string, string> | undefined): LoadDevice[] {
  // reading times follow the clock, strictly increasing per device, so every acknowledged
  // reading is a new row (bench/run.ts does the same, for the same reason)
  return ids.map((id, i) => {
    let last = 0;
    let seq = 0;
    return { username: creds ? id : undefined, password: creds?.get(id), topic: `devices/${id}/up`, payload: () => Buffer.from(JSON.stringify(KINDS[i % KINDS.length]!.payload((last = Math.max(Date.now(), last + 1)), seq++))) };
  });
}

const merged = (parts: LoadResult[]) => {
  const lat = new Float64Array(parts.reduce((n, p) => n + p.ackLatenciesMs.length, 0));
  let o = 0;
  for (const p of parts) { lat.set(p.ackLatenciesMs, o); o += p.ackLatenciesMs.length; }
  return { acked: parts.reduce((n, p) => n + p.acked, 0), failed: parts.reduce((n, p) => n + p.failed, 0), seconds: Math.max(...parts.map((p) => p.seconds)), lat };
};

// ---- the run ----

export async function clusterBench(o: ClusterBenchOptions): Promise<'done' | 'reexec'> {
  if (o.pgUrl !== undefined && !/^postgres(ql)?:\/\//.test(o.pgUrl)) throw new Error('--pg-url must be a postgres:// URL');
  if (o.redisUrl !== undefined && !/^rediss?:\/\//.test(o.redisUrl)) throw new Error('--redis-url must be a redis:// or rediss:// URL');
  // every device holds a connection to a cluster node, to the SQLite node and to plain aedes in turn
  if (ensureFileLimit(o.devices * 3 + 4096) === 'reexec') return 'reexec';
  const tag = `cb${Date.now().toString(36).slice(-6)}`; // device ids unique per run, so a --pg-url database may hold earlier runs
  const ids = Array.from({ length: o.devices }, (_, i) => `${tag}-${String(i).padStart(5, '0')}`);
  const rows = ids.map((id, i) => ({ id, model: KINDS[i % KINDS.length]!.model, site: `bench/estate/b${i % 10}` }));
  const profRoot = o.cpuProf ? resolve(o.cpuProf) : undefined;
  const cleanup: Array<() => Promise<void>> = [];
  const done = async () => { for (const f of cleanup.reverse()) await f().catch(() => undefined); };
  const uptime = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  log(`load average before: ${uptime()}`);
  try {
    // ---- servers ----
    let pgServer: Postgres | undefined;
    let redisServer: Redis | undefined;
    if (!o.pgUrl || !o.redisUrl) log(`starting ${[!o.pgUrl && 'PostgreSQL 15', !o.redisUrl && 'Redis'].filter(Boolean).join(' and ')} on free ports in temp dirs`);
    [pgServer, redisServer] = await Promise.all([o.pgUrl ? undefined : startPostgres(), o.redisUrl ? undefined : startRedis()]);
    if (pgServer) cleanup.push(() => pgServer!.stop());
    if (redisServer) cleanup.push(() => redisServer!.stop());
    const pgUrl = o.pgUrl ?? (await pgServer!.createDatabase('bench'));
    const redisUrl = o.redisUrl ?? redisServer!.url;
    const pgNeedle = pgServer ? `${pgServer.dir}/data` : undefined;
    const redisNeedle = redisServer ? `127.0.0.1:${redisServer.port}` : undefined; // redis-server's process title

    // ---- the cluster: the first node migrates, the others start together ----
    const nodeConfig = (nodeId: string) => ({
      store: { type: 'postgres' },
      cluster: { nodeId, postgres: { url: pgUrl }, redis: { url: redisUrl } },
      // the per-device publish limit off (FACTS.md: otherwise the bench measures the limiter),
      // and the REST limit per key: the queryable probes poll every few ms
      mqtt: { rateLimit: { devicePerSecond: 0 } },
      http: { rateLimitPerMinute: 0 },
    });
    log(`starting ${o.nodes} gateway nodes (store.type postgres, cluster on PostgreSQL and Redis)`);
    const nodes: Node[] = [];
    const addNode = (n: Node) => { nodes.push(n); cleanup.push(async () => { await stopProc(n.proc); rmSync(n.dataDir, { recursive: true, force: true }); }); return n; };
    addNode(await startNode('node1', nodeConfig('node1'), profRoot));
    // the SQLite node starts beside the other cluster nodes (start-up is most of a short run)
    // and idles, unprovisioned, until its turn
    const singleStarting = startNode('sqlite', { mqtt: { rateLimit: { devicePerSecond: 0 } }, http: { rateLimitPerMinute: 0 } }, profRoot);
    cleanup.push(async () => { const n = await singleStarting.catch(() => undefined); if (n) { await stopProc(n.proc); rmSync(n.dataDir, { recursive: true, force: true }); } });
    // each added as it comes up, so a failed start of one still stops the others
    await Promise.all(Array.from({ length: o.nodes - 1 }, (_, k) => startNode(`node${k + 2}`, nodeConfig(`node${k + 2}`), profRoot).then(addNode)));
    nodes.sort((x, y) => Number(x.name.slice(4)) - Number(y.name.slice(4)));

    const probeIds = nodes.map((_, k) => `${tag}-q${k + 1}`);
    log(`provisioning ${o.devices} devices and ${probeIds.length} probes through node1`);
    const creds = await provision(nodes[0]!.http, [...rows, ...probeIds.map((id) => ({ id, model: 'generic.water-quality', site: 'bench/estate/pump' }))]);
    // the registry change reaches the other nodes through LISTEN/NOTIFY (docs/cluster.md: within 1 s)
    for (const n of nodes) {
      for (let i = 0; ; i++) {
        const r = await fetch(`${n.http}/api/v1/devices/${probeIds.at(-1)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        if (r.status === 200) break;
        if (i > 300) throw new Error(`${n.name} did not see the provisioned devices within 30 s`);
        await new Promise((r2) => setTimeout(r2, 100));
      }
    }
    // PostgreSQL's side of the load phase: transactions committed in the bench database and
    // WAL fsyncs with their time (track_wal_io_timing, set here on our own server only)
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    cleanup.push(() => admin.end());
    if (pgServer) await admin.query('ALTER SYSTEM SET track_wal_io_timing = on').then(() => admin.query('SELECT pg_reload_conf()'));
    const pgStats = async () => {
      const r = await admin.query<{ commits: string; syncs: string; sync_ms: string }>('SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) AS commits, wal_sync AS syncs, wal_sync_time AS sync_ms FROM pg_stat_wal');
      return { commits: Number(r.rows[0]!.commits), syncs: Number(r.rows[0]!.syncs), syncMs: Number(r.rows[0]!.sync_ms) };
    };
    const devices = loadDevices(ids, creds);
    const home = (i: number) => i % o.nodes;
    const byNode = nodes.map((_, k) => devices.map((d, i) => ({ d, i })).filter(({ i }) => home(i) === k));
    log(`connecting ${o.devices} devices, ${byNode.map((b) => b.length).join(' / ')} per node`);
    const nodeClients = await Promise.all(nodes.map((n, k) => connectAll(`mqtt://127.0.0.1:${n.mqttPort}`, byNode[k]!.map((x) => x.d))));
    cleanup.push(() => Promise.all(nodeClients.flat().map((c) => c.endAsync())).then(() => undefined));

    // ---- cluster closed loop, with the cross-node probes ----
    const cpu0 = await Promise.all(nodes.map(async (n) => (await scrapeMetrics(n.http))('gateway_process_cpu_seconds_total')));
    // the PostgreSQL backends exist by now (the nodes' pools), so the process trees are taken once
    const groups = { nodes: nodes.map((n) => n.proc.pid!), postgres: pgNeedle ? processTree(pgNeedle) : null, redis: redisNeedle ? processTree(redisNeedle) : null, loadGenerator: [process.pid] };
    const sched0 = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, schedOf(pids)]));
    const pg0 = await pgStats();
    let stopProbes = false;
    const probes = nodes.map((n, k) => sampleQueryable(n, nodes[(k + 1) % nodes.length]!, probeIds[k]!, creds.get(probeIds[k]!)!, () => stopProbes));
    for (const n of nodes) toggleProfile(n, `cluster-${n.name}`);
    log(`cluster: ${o.devices} devices x ${o.window} in flight for ${o.duration} s over ${o.nodes} nodes`);
    const perNodeLoad = await Promise.all(nodes.map((_, k) => runLoad(nodeClients[k]!, byNode[k]!.map((x) => x.d), { seconds: o.duration, window: o.window })));
    for (const n of nodes) toggleProfile(n, `cluster-${n.name}`);
    stopProbes = true;
    const probeResults = await Promise.all(probes);
    const sched = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, diff(sched0[k] ?? null, schedOf(pids))]));
    // pg_stat_* are sent by the backends when idle, at most every 10 s (PGSTAT_MIN_INTERVAL): a short wait so the last ones are in
    await new Promise((r) => setTimeout(r, 1200));
    const pg1 = await pgStats();
    const nodeMetrics = await Promise.all(nodes.map((n) => scrapeMetrics(n.http)));
    const c = merged(perNodeLoad);
    const qMs = probeResults.flatMap((p) => p.ms);

    // loss: every device's PUBACKs against its distinct reading times in PostgreSQL
    const ackedBy = new Map<string, number>();
    byNode.forEach((b, k) => b.forEach(({ i }, j) => ackedBy.set(ids[i]!, perNodeLoad[k]!.perDeviceAcked[j]!)));
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    const res = await client.query<{ device_id: string; n: string }>('SELECT device_id, count(DISTINCT ts) AS n FROM readings WHERE device_id LIKE $1 GROUP BY device_id', [`${tag}-0%`]);
    await client.end();
    const storedBy = new Map(res.rows.map((r) => [r.device_id, Number(r.n)]));
    const lostOf = (list: string[]) => list.reduce((s, id) => s + Math.max(0, (ackedBy.get(id) ?? 0) - (storedBy.get(id) ?? 0)), 0);
    const clusterStored = [...storedBy.values()].reduce((a, b) => a + b, 0);

    const perNode = nodes.map((n, k) => {
      const l = perNodeLoad[k]!;
      const m = nodeMetrics[k]!;
      const cpuS = m('gateway_process_cpu_seconds_total') - cpu0[k]!;
      const batches = m('gateway_write_batch_messages_count');
      return {
        node: n.name,
        devices: byNode[k]!.length,
        msgsPerSec: Math.round(l.acked / l.seconds),
        ackP50Ms: r2(percentile(l.ackLatenciesMs, 50)),
        ackP99Ms: r2(percentile(l.ackLatenciesMs, 99)),
        queryableP99Ms: r2(percentile(probeResults[k]!.ms, 99)),
        cpuS: r2(cpuS),
        cpuUsPerMsg: l.acked ? Math.round((1e6 * cpuS) / l.acked) : null,
        // the group commit: messages and PostgreSQL milliseconds per commit (whole life of the node)
        batchMessages: r2(m('gateway_write_batch_messages_sum') / batches),
        batchMs: r2((1000 * m('gateway_write_batch_seconds_sum')) / batches),
        lost: lostOf(byNode[k]!.map(({ i }) => ids[i]!)),
      };
    });
    const cluster = {
      nodes: o.nodes,
      msgsPerSec: Math.round(c.acked / c.seconds),
      queryableP50Ms: r2(percentile(qMs, 50)),
      queryableP99Ms: r2(percentile(qMs, 99)),
      queryableSamples: qMs.length,
      queryableMissed: probeResults.reduce((s, p) => s + p.missed, 0),
      ackP50Ms: r2(percentile(c.lat, 50)),
      ackP99Ms: r2(percentile(c.lat, 99)),
      perNode,
      acked: c.acked,
      failed: c.failed,
      stored: clusterStored,
      lost: lostOf(ids),
      // the load phase by process group: seconds on a CPU and seconds runnable but waiting for
      // one (all threads), so the nodes', PostgreSQL's, Redis' and the load generator's share of
      // the machine, and whether they were idle or starved
      sched: { wallS: r2(c.seconds), ...sched },
      postgres: {
        transactions: pg1.commits - pg0.commits,
        walFsyncs: pg1.syncs - pg0.syncs,
        walFsyncMs: pgServer ? r2(pg1.syncMs - pg0.syncMs) : null,
      },
    };
    log(`cluster: ${cluster.msgsPerSec}/s (${perNode.map((p) => `${p.node} ${p.msgsPerSec}`).join(', ')}), PUBACK p99 ${cluster.ackP99Ms} ms, queryable on another node p99 ${cluster.queryableP99Ms} ms (${qMs.length} probes), lost ${cluster.lost}`);
    await Promise.all(nodeClients.flat().map((cl) => cl.endAsync()));
    cleanup.pop();
    if (profRoot) await new Promise((r) => setTimeout(r, 1500)); // the profiles are written asynchronously
    // the cluster idles through the other two runs: stopped, so its heartbeats and the servers do not compete
    await Promise.all(nodes.map((n) => stopProc(n.proc)));

    // ---- one node on embedded defaults (SQLite) ----
    log('one gateway on embedded defaults (SQLite), the same load');
    const single = await singleStarting;
    const sProbe = `${tag}-q0`;
    const sCreds = await provision(single.http, [...rows, { id: sProbe, model: 'generic.water-quality', site: 'bench/estate/pump' }]);
    const sDevices = loadDevices(ids, sCreds);
    const sClients = await connectAll(`mqtt://127.0.0.1:${single.mqttPort}`, sDevices);
    const sCpu0 = (await scrapeMetrics(single.http))('gateway_process_cpu_seconds_total');
    const sSched0 = { node: schedOf([single.proc.pid!]), loadGenerator: schedOf([process.pid]) };
    let stopS = false;
    const sProbeRun = sampleQueryable(single, single, sProbe, sCreds.get(sProbe)!, () => stopS);
    toggleProfile(single, 'single-sqlite');
    const sLoad = await runLoad(sClients, sDevices, { seconds: o.duration, window: o.window });
    toggleProfile(single, 'single-sqlite');
    const sSched = { wallS: r2(sLoad.seconds), node: diff(sSched0.node, schedOf([single.proc.pid!])), loadGenerator: diff(sSched0.loadGenerator, schedOf([process.pid])) };
    stopS = true;
    const sQ = await sProbeRun;
    const sM = await scrapeMetrics(single.http);
    const sCpu = sM('gateway_process_cpu_seconds_total') - sCpu0;
    await Promise.all(sClients.map((cl) => cl.endAsync()));
    if (profRoot) await new Promise((r) => setTimeout(r, 1500));
    await stopProc(single.proc);
    const db = new Database(join(single.dataDir, 'gateway.db'), { readonly: true });
    const sStored = new Map((db.prepare('SELECT device_id, count(DISTINCT ts) AS n FROM readings_all WHERE device_id LIKE ? GROUP BY device_id').all(`${tag}-0%`) as Array<{ device_id: string; n: number }>).map((r) => [r.device_id, r.n]));
    db.close();
    const singleNode = {
      store: 'sqlite',
      msgsPerSec: Math.round(sLoad.acked / sLoad.seconds),
      queryableP50Ms: r2(percentile(sQ.ms, 50)),
      queryableP99Ms: r2(percentile(sQ.ms, 99)),
      queryableSamples: sQ.ms.length,
      ackP50Ms: r2(percentile(sLoad.ackLatenciesMs, 50)),
      ackP99Ms: r2(percentile(sLoad.ackLatenciesMs, 99)),
      cpuS: r2(sCpu),
      cpuUsPerMsg: sLoad.acked ? Math.round((1e6 * sCpu) / sLoad.acked) : null,
      sched: sSched,
      batchMessages: r2(sM('gateway_write_batch_messages_sum') / sM('gateway_write_batch_messages_count')),
      batchMs: r2((1000 * sM('gateway_write_batch_seconds_sum')) / sM('gateway_write_batch_messages_count')),
      acked: sLoad.acked,
      lost: ids.reduce((s, id, i) => s + Math.max(0, sLoad.perDeviceAcked[i]! - (sStored.get(id) ?? 0)), 0),
    };
    log(`single SQLite node: ${singleNode.msgsPerSec}/s, PUBACK p99 ${singleNode.ackP99Ms} ms, queryable p99 ${singleNode.queryableP99Ms} ms, lost ${singleNode.lost}`);

    // ---- plain aedes ----
    log('plain aedes (no hooks, a no-op subscriber), the same load');
    const rawPort = await freePort();
    const rawProfDir = profRoot ? join(profRoot, 'aedes') : undefined;
    if (rawProfDir) mkdirSync(rawProfDir, { recursive: true });
    const raw = spawn(process.execPath, [...(rawProfDir ? ['--import', join(ROOT, 'bench/profile-hook.mjs')] : []), '--import', 'tsx', join(ROOT, 'bench/plain-aedes.ts'), String(rawPort)], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...(rawProfDir ? { BENCH_CPU_PROF_DIR: rawProfDir } : {}) },
    });
    cleanup.push(() => stopProc(raw));
    await new Promise<void>((r) => raw.stdout!.once('data', () => r()));
    const rawDevices = loadDevices(ids, undefined);
    const rawClients = await connectAll(`mqtt://127.0.0.1:${rawPort}`, rawDevices);
    toggleProfile({ proc: raw, profDir: rawProfDir }, 'aedes');
    const rLoad = await runLoad(rawClients, rawDevices, { seconds: o.duration, window: o.window });
    toggleProfile({ proc: raw, profDir: rawProfDir }, 'aedes');
    await Promise.all(rawClients.map((cl) => cl.endAsync()));
    if (profRoot) await new Promise((r) => setTimeout(r, 1500));
    const plainAedes = {
      msgsPerSec: Math.round(rLoad.acked / rLoad.seconds),
      ackP50Ms: r2(percentile(rLoad.ackLatenciesMs, 50)),
      ackP99Ms: r2(percentile(rLoad.ackLatenciesMs, 99)),
    };
    log(`plain aedes: ${plainAedes.msgsPerSec}/s`);
    log(`load average after: ${uptime()}`);

    const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : null);
    const result = {
      mode: 'cluster',
      devices: o.devices,
      durationSec: o.duration,
      window: o.window,
      cluster,
      singleNode,
      plainAedes,
      ratios: {
        clusterToSingleNode: ratio(cluster.msgsPerSec, singleNode.msgsPerSec),
        clusterToPlainAedes: ratio(cluster.msgsPerSec, plainAedes.msgsPerSec),
        singleNodeToPlainAedes: ratio(singleNode.msgsPerSec, plainAedes.msgsPerSec),
      },
    };
    if (!o.json) printTable(result);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 'done';
  } finally {
    await done();
  }
}

function printTable(r: {
  cluster: { nodes: number; msgsPerSec: number; ackP50Ms: number | null; ackP99Ms: number | null; queryableP50Ms: number | null; queryableP99Ms: number | null; queryableSamples: number; acked: number; lost: number; sched: Record<string, number | null | { cpuS: number; waitS: number }>; postgres: { transactions: number; walFsyncs: number; walFsyncMs: number | null }; perNode: Array<{ node: string; devices: number; msgsPerSec: number; ackP99Ms: number | null; queryableP99Ms: number | null; cpuUsPerMsg: number | null; batchMessages: number | null; batchMs: number | null; lost: number }> };
  singleNode: { batchMessages: number | null; batchMs: number | null; msgsPerSec: number; ackP50Ms: number | null; ackP99Ms: number | null; queryableP50Ms: number | null; queryableP99Ms: number | null; queryableSamples: number; acked: number; lost: number; cpuUsPerMsg: number | null };
  plainAedes: { msgsPerSec: number; ackP50Ms: number | null; ackP99Ms: number | null };
  devices: number; durationSec: number;
}): void {
  const { cluster: c, singleNode: s, plainAedes: a } = r;
  const rows: Array<[string, string, string, string]> = [
    ['QoS 1 msgs/s (durable PUBACK for the gateways)', String(c.msgsPerSec), String(s.msgsPerSec), String(a.msgsPerSec)],
    ['publish -> PUBACK p50 / p99 (ms)', `${c.ackP50Ms} / ${c.ackP99Ms}`, `${s.ackP50Ms} / ${s.ackP99Ms}`, `${a.ackP50Ms} / ${a.ackP99Ms}`],
    ['publish -> queryable p50 / p99 (ms)', `${c.queryableP50Ms} / ${c.queryableP99Ms} (${c.queryableSamples}, other node)`, `${s.queryableP50Ms} / ${s.queryableP99Ms} (${s.queryableSamples})`, '-'],
    ['acknowledged / lost', `${c.acked} / ${c.lost}`, `${s.acked} / ${s.lost}`, '-'],
    ['gateway CPU per message (µs, all threads)', String(c.perNode.map((p) => p.cpuUsPerMsg).join(' / ')), String(s.cpuUsPerMsg), '-'],
    ['group commit: messages / ms per commit', c.perNode.map((p) => `${p.batchMessages} / ${p.batchMs}`).join(', '), `${s.batchMessages} / ${s.batchMs}`, '-'],
  ];
  process.stdout.write(`${''.padEnd(48)} ${`cluster (${c.nodes} nodes)`.padEnd(34)} ${'one SQLite node'.padEnd(22)} plain aedes\n`);
  for (const [k, v, w, x] of rows) process.stdout.write(`${k.padEnd(48)} ${v.padEnd(34)} ${w.padEnd(22)} ${x}\n`);
  process.stdout.write('\nnode     devices  msgs/s  PUBACK p99  queryable p99  µs/msg  msgs/commit  ms/commit  lost\n');
  for (const p of c.perNode) {
    process.stdout.write(`${p.node.padEnd(8)} ${String(p.devices).padStart(7)} ${String(p.msgsPerSec).padStart(7)} ${String(p.ackP99Ms).padStart(11)} ${String(p.queryableP99Ms).padStart(14)} ${String(p.cpuUsPerMsg).padStart(7)} ${String(p.batchMessages).padStart(12)} ${String(p.batchMs).padStart(10)} ${String(p.lost).padStart(5)}\n`);
  }
  const g = (k: string) => { const v = c.sched[k] as { cpuS: number; waitS: number } | null; return v ? `${k} ${v.cpuS} (${v.waitS} waiting)` : `${k} n/a`; };
  process.stdout.write(`\nCPU seconds (and seconds runnable, waiting for a core) in the cluster's ${c.sched.wallS} s on ${cpus().length} cores: ${['nodes', 'postgres', 'redis', 'loadGenerator'].map(g).join(', ')}\n`);
  process.stdout.write(`PostgreSQL during the cluster's load: ${c.postgres.transactions} transactions, ${c.postgres.walFsyncs} WAL fsyncs taking ${c.postgres.walFsyncMs ?? 'n/a'} ms\n`);
  process.stdout.write(`devices / duration (s): ${r.devices} / ${r.durationSec}\n`);
}
