/**
 * Free ports and temp dirs, without the gateway: the server helpers (postgres.ts, redis.ts)
 * import this, so the cluster bench (bench/cluster.ts) can start the same servers without
 * loading the whole gateway into its load-generator process. gateway.ts re-exports both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

const made: string[] = [];

/**
 * A new directory under the OS temp dir, removed after the test file that made it
 * (test/setup.ts calls removeTempDirs in an afterAll of every file): a test that forgets
 * its own cleanup, or fails before it, leaves nothing behind in /tmp.
 */
export function tempDir(prefix = 'gw-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** removes every directory tempDir made in this test file */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}
