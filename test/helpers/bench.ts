/**
 * For the bench's own tests: `bench/run.ts` as a child process, and a plain aedes on a
 * real socket for the bench's clients and measures to run against.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Aedes, type AedesOptions } from 'aedes';
import { ROOT } from './gateway.js';

/** `npm run bench -- ...args`, with its exit code, output and wall time */
export function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((res) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/run.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => res({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

/** plain aedes on 127.0.0.1 and a free port; close() stops the server, then the broker */
export async function plainAedes(opts: Partial<AedesOptions> = {}): Promise<{ broker: Aedes; port: number; close: () => Promise<void> }> {
  const broker = await Aedes.createBroker(opts);
  const server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const close = async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => broker.close(() => r()));
  };
  return { broker, port, close };
}
