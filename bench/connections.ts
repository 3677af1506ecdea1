/**
 * Connection-scale mode: npm run bench -- --connections 10000 [--rate 200] [--interval 10] [--hold 20] [--json]
 *
 * Devices connect at --rate per second, each publishing one QoS 1 reading every --interval
 * seconds, to the gateway on embedded defaults (child process) and then, the same way, to
 * plain aedes. Reports connect errors, connect latency, RSS and RSS per connection (the
 * growth of the broker process's resident set from before the first connect to when all
 * are connected and publishing). Raises its own and its children's open-file limit.
 *
 * The resident set is sampled once a second through the hold, and what is reported is the
 * median sample (with the lowest and highest beside it): one sample at the end of the hold
 * read whatever V8's last collection had left, and swung by a quarter from run to run
 * (docs/performance.md, "Eleventh pass").
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { median, percentile } from './load.js';

export interface ConnectionsOptions { connections: number; rate: number; interval: number; hold: number; json: boolean }

/** The soft open-file limit, raised by re-running this process under `ulimit -n` when too low. */
export function ensureFileLimit(needed: number): 'ok' | 'reexec' {
  const soft = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  if (!(soft < needed) || process.env.BENCH_NOFILE_RAISED === '1') return 'ok';
  const hard = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  const target = hard === 'unlimited' ? needed : Math.min(needed, Number(hard));
  process.stderr.write(`bench: raising the open-file limit from ${soft} to ${target} (hard limit ${hard})\n`);
  const child = spawn('sh', ['-c', `ulimit -n ${target} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, BENCH_NOFILE_RAISED: '1' },
  });
  child.on('exit', (code) => process.exit(code ?? 1));
  return 'reexec';
}

export function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return kb / 1024;
}

export interface ScaleResult {
  connected: number;
  connectErrors: number;
  firstError?: string;
  connectP50Ms: number;
  connectP99Ms: number;
  secondsToConnect: number;
  published: number;
  acked: number;
  rssBeforeMb: number;
  /** the median of the samples taken through the hold */
  rssAfterMb: number;
  /** per connection, from the median sample */
  kbPerConnection: number;
  /** per connection, from the lowest and the highest sample */
  kbPerConnectionMin: number;
  kbPerConnectionMax: number;
  rssSamples: number;
  /**
   * where the growth is, when the broker reports it (the gateway's /metrics): the V8 heap in
   * use and reserved, and memory outside it (buffers), per connection, from the medians of
   * the same samples
   */
  heapKbPerConnection?: { used: number; total: number; external: number };
  clients: MqttClient[];
}

/**
 * Opens `creds.length` connections at `rate`/s; each publishes every `interval` s from its
 * connect on. Resolves `hold` seconds after the last connect attempt, with the broker's RSS.
 */
export interface HeapMb { used: number; total: number; external: number }

export async function scaleConnections(url: string, pid: number, creds: Array<{ username?: string; password?: string; topic: string }>, o: ConnectionsOptions, payload: (i: number, seq: number) => string, heap?: () => Promise<HeapMb>): Promise<ScaleResult> {
  const rssBeforeMb = rssMb(pid);
  const heapBefore = await heap?.();
  const clients: MqttClient[] = [];
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let published = 0;
  let acked = 0;
  const timers: NodeJS.Timeout[] = [];
  const started = performance.now();
  const attempts: Promise<void>[] = [];
  for (let i = 0; i < creds.length; i++) {
    const due = started + (i * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const c = creds[i]!;
    const t0 = performance.now();
    attempts.push(new Promise<void>((resolve) => {
      const client = mqtt.connect(url, { username: c.username, password: c.password, clientId: c.username ?? `raw-${i}`, reconnectPeriod: 0, connectTimeout: 30_000, keepalive: 60, clean: true });
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        errors++;
        firstError ??= why;
        client.end(true);
        resolve();
      };
      client.once('connect', () => {
        if (settled) return;
        settled = true;
        latencies.push(performance.now() - t0);
        clients.push(client);
        let seq = 0;
        const send = () => {
          published++;
          client.publish(c.topic, payload(i, seq++), { qos: 1 }, (err) => { if (!err) acked++; });
        };
        send();
        timers.push(setInterval(send, o.interval * 1000));
        resolve();
      });
      client.once('error', (e) => fail(e.message));
      client.once('close', () => fail('closed before CONNACK'));
    }));
  }
  await Promise.all(attempts);
  const secondsToConnect = (performance.now() - started) / 1000;
  const heapSamples: HeapMb[] = [];
  const samples = await sampleRss(pid, o.hold, heap && (async () => { heapSamples.push(await heap()); }));
  const rssAfterMb = median(samples);
  const perConnection = (mb: number, before = rssBeforeMb) => Math.round(((mb - before) * 1024) / Math.max(1, clients.length) * 10) / 10;
  const heapAfter = (k: keyof HeapMb) => median(heapSamples.map((h) => h[k]));
  for (const t of timers) clearInterval(t);
  return {
    connected: clients.length, connectErrors: errors, firstError,
    connectP50Ms: Math.round(percentile(latencies, 50)), connectP99Ms: Math.round(percentile(latencies, 99)),
    secondsToConnect: Math.round(secondsToConnect * 10) / 10, published, acked,
    rssBeforeMb: Math.round(rssBeforeMb), rssAfterMb: Math.round(rssAfterMb),
    kbPerConnection: perConnection(rssAfterMb),
    kbPerConnectionMin: perConnection(Math.min(...samples)), kbPerConnectionMax: perConnection(Math.max(...samples)),
    rssSamples: samples.length,
    heapKbPerConnection: heapBefore && heapSamples.length > 0
      ? { used: perConnection(heapAfter('used'), heapBefore.used), total: perConnection(heapAfter('total'), heapBefore.total), external: perConnection(heapAfter('external'), heapBefore.external) }
      : undefined,
    clients,
  };
}

/** the process's RSS (MB) once a second for `seconds`, the last sample at the end (at least one); `also` beside each */
async function sampleRss(pid: number, seconds: number, also?: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  const start = performance.now();
  const samples = Math.max(1, Math.ceil(seconds));
  for (let i = 1; i <= samples; i++) {
    const due = start + Math.min(i, seconds) * 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    out.push(rssMb(pid));
    await also?.();
  }
  return out;
}

export async function closeAll(clients: MqttClient[]): Promise<void> {
  for (let i = 0; i < clients.length; i += 500) await Promise.all(clients.slice(i, i + 500).map((c) => c.endAsync(true)));
}

export function waitExit(proc: ChildProcess): Promise<void> {
  return new Promise((r) => { if (proc.exitCode !== null) r(); else proc.once('exit', () => r()); });
}
