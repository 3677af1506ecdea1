/**
 * Free ports and temp dirs, without the gateway: the server helpers (postgres.ts, redis.ts)
 * import this, so the cluster bench (bench/cluster.ts) can start the same servers without
 * loading the whole gateway into its load-generator process. gateway.ts re-exports both.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

export function tempDir(prefix = 'gw-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
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
