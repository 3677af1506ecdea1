/** Test harness: a real gateway on free ports in a temp data dir, in-process or as a child process. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import pino from 'pino';
import { ConfigSchema, type Config } from '../../src/config.js';
import { Gateway } from '../../src/gateway.js';
import { clockEnv } from './clock.js';
import { freePort, tempDir } from './net.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export { freePort, tempDir } from './net.js';

export interface TestGateway {
  gateway: Gateway;
  http: string;
  mqttPort: number;
  dataDir: string;
  api: (path: string, init?: RequestInit & { token?: string | null; json?: unknown }) => Promise<{ status: number; body: any; text: string; headers: Headers }>;
  stop: () => Promise<void>;
}

/** Test defaults: free ports, no publish rate limit and no failed-auth limit (tests that check a limit set their own). */
export function testConfig(dataDir: string, extra: Record<string, unknown> = {}): Config {
  return ConfigSchema.parse({
    dataDir,
    adminToken: ADMIN_TOKEN,
    logLevel: 'silent',
    http: { host: '127.0.0.1', port: 0, authFailuresPerMinute: 0 },
    mqtt: { host: '127.0.0.1', port: 0, rateLimit: { devicePerSecond: 0, integrationPerSecond: 0 } },
    rulesFile: join(ROOT, 'config/rules.yaml'),
    // tests publish readings at fixed dates; with the default 90 raw days those dates would
    // turn into history (rollups only, storage/backfill.ts) as the calendar moves on. Tests of
    // the raw retention and of backfill set their own.
    retention: { rawDays: 36_500, ...(extra.retention as object | undefined) },
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'retention')),
  });
}

export function apiClient(base: string) {
  return async (path: string, init: RequestInit & { token?: string | null; json?: unknown } = {}) => {
    const headers = new Headers(init.headers);
    const token = init.token === undefined ? ADMIN_TOKEN : init.token;
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    const res = await fetch(base + path, { ...init, headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, body: parsed as any, text, headers: res.headers };
  };
}

export async function startGateway(opts: { dataDir?: string; config?: Record<string, unknown>; clock?: () => number } = {}): Promise<TestGateway> {
  const dataDir = opts.dataDir ?? tempDir();
  const gateway = new Gateway(testConfig(dataDir, opts.config), { log: pino({ level: process.env.TEST_LOG ?? 'silent' }), clock: opts.clock });
  const ports = await gateway.start();
  const http = `http://127.0.0.1:${ports.http}`;
  return {
    gateway, http, mqttPort: ports.mqtt, dataDir,
    api: apiClient(http),
    stop: async () => {
      await gateway.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ChildGateway {
  proc: ChildProcess;
  http: string;
  mqttPort: number;
  httpPort: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The real entry point (src/main.ts) in its own process, as `npm start` runs it. */
export async function spawnGateway(env: Record<string, string>, opts: { waitReady?: boolean; config?: Record<string, unknown> } = {}): Promise<ChildGateway> {
  if (opts.config) {
    const file = join(env.GATEWAY_DATA_DIR ?? tempDir(), `test-config-${Date.now()}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(opts.config));
    env = { ...env, GATEWAY_CONFIG: file };
  }
  const httpPort = Number(env.GATEWAY_HTTP_PORT ?? (await freePort()));
  const mqttPort = Number(env.GATEWAY_MQTT_PORT ?? (await freePort()));
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...clockEnv(), GATEWAY_HOST: '127.0.0.1', GATEWAY_LOG_LEVEL: 'warn', ...env, GATEWAY_HTTP_PORT: String(httpPort), GATEWAY_MQTT_PORT: String(mqttPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.on('exit', (code, signal) => res({ code, signal })));
  const child: ChildGateway = { proc, http: `http://127.0.0.1:${httpPort}`, httpPort, mqttPort, stdout: () => out, stderr: () => err, exited };
  if (opts.waitReady !== false) {
    const deadline = Date.now() + 30_000;
    let done = false;
    exited.then(() => (done = true));
    while (!done && Date.now() < deadline) {
      try {
        const r = await fetch(`${child.http}/readyz`);
        if (r.status === 200) return child;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    proc.kill('SIGKILL');
    throw new Error(`gateway did not become ready: ${err.slice(-2000)}`);
  }
  return child;
}

/** every item of a v2 list, following `next` (the lists answer at most 1000 a page) */
export async function listAll<T = any>(api: TestGateway['api'], path: string, token?: string | null): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await api(`${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, token === undefined ? {} : { token });
    if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status} ${r.text}`);
    out.push(...(r.body.items as T[]));
    cursor = r.body.next;
    if (!cursor) return out;
  }
  throw new Error(`${path}: more than 1000 pages`);
}
