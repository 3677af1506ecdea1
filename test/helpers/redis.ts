/** A real Redis 7 (Debian's redis-server) on a free port, no persistence (FACTS.md). */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { withoutPreload } from './clock.js';
import { freePort, tempDir } from './net.js';

export const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/sbin/redis-server'].find((p) => existsSync(p));

export interface Redis { url: string; port: number; kill: () => Promise<void>; start: () => Promise<void>; stop: () => Promise<void> }

async function ping(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('error', () => res(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => { s.destroy(); res(d.toString().startsWith('+PONG')); });
    setTimeout(() => { s.destroy(); res(false); }, 500);
  });
}

export async function startRedis(): Promise<Redis> {
  if (!REDIS_SERVER) throw new Error('redis-server is not installed: apt-get install -y redis-server (.ci/run does)');
  const port = await freePort();
  const dir = tempDir('redis-');
  let proc: ChildProcess | undefined;
  const exited = (p: ChildProcess) => new Promise<void>((res) => { if (p.exitCode !== null || p.signalCode !== null) res(); else p.once('exit', () => res()); });
  const handle: Redis = {
    url: `redis://127.0.0.1:${port}`, port,
    start: async () => {
      proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore', env: withoutPreload() });
      for (let i = 0; i < 100; i++) {
        if (await ping(port)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`redis-server did not answer on ${port}`);
    },
    kill: async () => { const p = proc; if (p) { p.kill('SIGKILL'); await exited(p); } proc = undefined; },
    stop: async () => { const p = proc; if (p) { p.kill('SIGTERM'); await exited(p); } proc = undefined; },
  };
  await handle.start();
  return handle;
}
