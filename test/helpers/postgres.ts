/**
 * A real PostgreSQL 15 (Debian's) on a free port in a temp dir. initdb and postgres refuse to
 * run as root (FACTS.md), so both run as the `postgres` OS user when the tests run as root;
 * the data dir is owned by that user. Trust authentication on 127.0.0.1 only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';

const PG_BIN = (() => {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin/postgres'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
})();

export interface Postgres {
  url: string;
  port: number;
  dir: string;
  /** a fresh database on this server, for one test file */
  createDatabase: (name: string) => Promise<string>;
  kill: () => Promise<void>;
  start: () => Promise<void>;
  stop: () => Promise<void>;
}


/** whether a process still has this server's socket dir open (a backend that outlived a killed postmaster) */
function backendsOf(port: number): boolean {
  return spawnSync('sh', ['-c', `ss -Hxp 2>/dev/null | grep -q '.s.PGSQL.${port}'`]).status === 0;
}

export async function startPostgres(): Promise<Postgres> {
  if (!PG_BIN) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql (.ci/run does); these tests need a real server');
  const dir = mkdtempSync(join(tmpdir(), 'pg-'));
  const data = join(dir, 'data');
  const root = userInfo().uid === 0;
  const pgUid = root ? Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()) : userInfo().uid;
  const pgGid = root ? Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()) : userInfo().gid;
  if (root) chownSync(dir, pgUid, pgGid);
  // spawned with the postgres user's uid/gid (not through runuser), so this process is the
  // postmaster's parent and reaps it: a killed postmaster must not linger as a zombie whose
  // pid the next start takes for a running server
  const as = root ? { uid: pgUid, gid: pgGid } : {};
  const init = spawnSync(join(PG_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'], { encoding: 'utf8', cwd: dir, ...as });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let proc: ChildProcess | undefined;
  const exited = (p: ChildProcess) => new Promise<void>((res) => { if (p.exitCode !== null || p.signalCode !== null) res(); else p.once('exit', () => res()); });

  const handle: Postgres = {
    url, port, dir,
    start: async () => {
      // fsync stays on: the durability tests rely on what PostgreSQL promises
      const spawnPostmaster = () => spawn(join(PG_BIN!, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
        '-c', 'max_connections=200', '-c', 'shared_buffers=64MB', '-c', 'log_min_messages=fatal'],
      { cwd: dir, ...as, stdio: ['ignore', 'ignore', process.env.PG_DEBUG ? 'inherit' : 'ignore'] });
      proc = spawnPostmaster();
      const { default: pg } = await import('pg');
      // after a kill, on a loaded machine, a backend of the killed postmaster may still hold
      // the shared memory: the new postmaster then exits at once, and is started again
      const deadline = Date.now() + 40_000;
      while (Date.now() < deadline) {
        if (proc.exitCode !== null || proc.signalCode !== null) proc = spawnPostmaster();
        const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 500 });
        try {
          await client.connect();
          await client.end();
          return;
        } catch {
          await client.end().catch(() => undefined);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw new Error(`postgres did not accept connections on ${port} within 40 s`);
    },
    kill: async () => {
      const p = proc;
      if (!p) return;
      // the postmaster runs under runuser: kill the whole group so no backend survives
      p.kill('SIGKILL');
      await exited(p);
      // backends notice their postmaster's death and exit; a restart waits for them (shared memory)
      for (let i = 0; i < 300 && backendsOf(port); i++) await new Promise((r) => setTimeout(r, 50));
      proc = undefined;
    },
    stop: async () => {
      const p = proc;
      if (p) {
        p.kill('SIGINT'); // "fast" shutdown
        await Promise.race([exited(p), new Promise((r) => setTimeout(r, 10_000))]);
        p.kill('SIGKILL');
      }
      proc = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
    createDatabase: async (name) => {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      await client.end();
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
  };
  await handle.start();
  return handle;
}
