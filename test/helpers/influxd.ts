/**
 * A real InfluxDB 1.x (Debian's influxd) on free ports in a temp dir, which a test can
 * kill and start again on the same port and data (FACTS.md: its own config file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir } from './gateway.js';

export const INFLUXD = ['/usr/bin/influxd', '/usr/sbin/influxd'].find((p) => existsSync(p));

export interface Influxd {
  url: string;
  port: number;
  dir: string;
  /** SIGKILL: no flush, no goodbye, as a crash or power cut */
  kill: () => Promise<void>;
  start: () => Promise<void>;
  stop: () => Promise<void>;
  /** InfluxQL through the HTTP API, epoch=ms */
  query: (q: string, db?: string) => Promise<any>;
}

export async function startInfluxd(): Promise<Influxd> {
  if (!INFLUXD) throw new Error('influxd is not installed: apt-get install -y influxdb (.ci/run does); these tests need a real InfluxDB');
  const dir = tempDir('influxd-');
  const port = await freePort();
  const rpc = await freePort();
  const conf = join(dir, 'influxdb.conf');
  writeFileSync(conf, [
    'reporting-disabled = true',
    `bind-address = "127.0.0.1:${rpc}"`,
    '[meta]', `  dir = "${join(dir, 'meta')}"`,
    '[data]', `  dir = "${join(dir, 'data')}"`, `  wal-dir = "${join(dir, 'wal')}"`, '  query-log-enabled = false',
    '[http]', `  bind-address = "127.0.0.1:${port}"`, '  log-enabled = false',
    '[continuous_queries]', '  enabled = true', '  log-enabled = false',
    '[monitor]', '  store-enabled = false',
    '',
  ].join('\n'));
  const url = `http://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;

  const waitUp = async () => {
    for (let i = 0; i < 200; i++) {
      try {
        const r = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(500) });
        if (r.status === 204) return;
      } catch { /* not yet */ }
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`influxd did not answer /ping on ${url} within 20 s`);
  };
  const exited = (p: ChildProcess) => new Promise<void>((res) => { if (p.exitCode !== null || p.signalCode !== null) res(); else p.once('exit', () => res()); });

  const handle: Influxd = {
    url, port, dir,
    start: async () => {
      proc = spawn(INFLUXD, ['-config', conf], { stdio: 'ignore' });
      await waitUp();
    },
    kill: async () => {
      const p = proc;
      if (!p) return;
      p.kill('SIGKILL');
      await exited(p);
      proc = undefined;
    },
    stop: async () => {
      const p = proc;
      if (p) { p.kill('SIGTERM'); await exited(p); }
      proc = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
    query: async (q, db) => {
      const u = new URL('/query', url);
      u.searchParams.set('q', q);
      u.searchParams.set('epoch', 'ms');
      if (db) u.searchParams.set('db', db);
      const r = await fetch(u, { method: 'POST' });
      return r.json();
    },
  };
  await handle.start();
  return handle;
}
