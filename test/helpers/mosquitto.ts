/** A real Mosquitto broker on a free port in a temp dir, for upstream-source tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir } from './gateway.js';
import { mosquitto } from './mqtt.js';

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));

export interface Mosquitto { port: number; proc: ChildProcess; stop: () => Promise<void> }

export async function startMosquitto(fixedPort?: number): Promise<Mosquitto> {
  if (!MOSQUITTO) throw new Error('mosquitto is not installed: apt-get install -y mosquitto (.ci/run does)');
  const dir = tempDir('mosq-');
  const port = fixedPort ?? (await freePort());
  // Mosquitto 2.0 listens on localhost only and refuses anonymous clients unless told
  writeFileSync(join(dir, 'mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 10000\n`);
  const proc = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const r = await mosquitto('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'ping', '-m', 'x'], undefined, 2000);
    if (r.code === 0) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    port, proc,
    stop: () => new Promise<void>((res) => { proc.once('exit', () => res()); proc.kill('SIGTERM'); }),
  };
}
