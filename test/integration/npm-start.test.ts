/**
 * CONTRACT "Starting": SIGTERM shuts down gracefully. Supervisors and `docker stop` signal
 * the process they started, which for `npm start` is npm: the gateway must not outlive it
 * holding 1883/8080 (npm forwards the signal to its child; a shell between them would eat it).
 */
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, freePort, tempDir } from '../helpers/gateway.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const canListen = (port: number) => new Promise<boolean>((resolve) => {
  const s = createServer();
  s.once('error', () => resolve(false));
  s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
});

/** every descendant pid of `pid` (ps, not a guess by name) */
function descendants(pid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  const rows = out.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const walk = (p: number) => { for (const [c, pp] of rows) if (pp === p) { found.push(c); walk(c); } };
  walk(pid);
  return found;
}
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

describe('npm start', () => {
  it('SIGTERM to the npm process stops the gateway: exit 0, ports free, no node left behind', async () => {
    const dataDir = tempDir('gw-npm-');
    dirs.push(dataDir);
    // the ports are free when picked, but another test's server may take one before this
    // gateway binds (seconds of start-up later): a start refused with EADDRINUSE is retried
    // on new ports, once the refused gateway has exited
    const launch = async () => {
      const http = await freePort();
      const mqtt = await freePort();
      const npm = spawn('npm', ['start', '--silent'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, GATEWAY_DATA_DIR: dataDir, GATEWAY_HTTP_PORT: String(http), GATEWAY_MQTT_PORT: String(mqtt),
          GATEWAY_HOST: '127.0.0.1', GATEWAY_LOG_LEVEL: 'warn', GATEWAY_ADMIN_TOKEN: 'npm-start-admin-token-0123' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      type End = { code: number | null; signal: string | null };
      const run = { npm, http, mqtt, err: '', end: undefined as End | undefined, exited: undefined as unknown as Promise<End> };
      npm.stderr!.on('data', (d) => (run.err += d));
      run.exited = new Promise<End>((r) => npm.on('exit', (code, signal) => r((run.end = { code, signal }))));
      return run;
    };
    let run = await launch();
    const deadline = Date.now() + 60_000;
    for (let attempt = 1; ; ) {
      try { if ((await fetch(`http://127.0.0.1:${run.http}/readyz`)).status === 200) break; } catch { /* starting */ }
      if (run.end && /EADDRINUSE/.test(run.err) && attempt < 3) { attempt++; run = await launch(); continue; }
      if (run.end || Date.now() > deadline) throw new Error(`not ready: ${run.err}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const { npm, http, mqtt, exited } = run;
    const children = descendants(npm.pid!);
    expect(children.length).toBeGreaterThan(0);
    expect(await canListen(http)).toBe(false);

    npm.kill('SIGTERM');
    const end = await exited;
    expect(end, run.err).toEqual({ code: 0, signal: null });
    // the gateway closes before npm exits: nothing of it is left
    for (let i = 0; i < 50 && children.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(children.filter(alive)).toEqual([]);
    expect(await canListen(http)).toBe(true);
    expect(await canListen(mqtt)).toBe(true);
  }, 90_000);
});
