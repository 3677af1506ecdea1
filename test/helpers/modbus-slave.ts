/** A pymodbus 3.0 slave (test/helpers/modbus_slave.py) on a free port, driven over its stdin. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, ROOT } from './gateway.js';

export interface ModbusSlave {
  port: number;
  set(unit: number, table: 'holding' | 'input', address: number, values: number[]): Promise<void>;
  /** stop listening and drop connections (a dead slave); start() listens again on the same port */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startModbusSlave(units: Record<number, { holding?: number[]; input?: number[] }>, framer: 'socket' | 'rtu' = 'socket'): Promise<ModbusSlave> {
  const port = await freePort();
  // Debian's python3-pymodbus imports only under /usr/bin/python3 (FACTS.md)
  const proc: ChildProcess = spawn('/usr/bin/python3', [join(ROOT, 'test/helpers/modbus_slave.py'), '--port', String(port), '--framer', framer, '--units', JSON.stringify(units)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  proc.stdout!.on('data', (d) => {
    out += d;
    let i;
    while ((i = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      if (line.startsWith('READY') || line === 'OK') waiters.shift()?.();
    }
  });
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const reply = () => new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`pymodbus slave did not answer: ${err.slice(-1000)}`)), 10_000);
    waiters.push(() => { clearTimeout(t); resolve(); });
  });
  const send = async (msg: unknown) => {
    const r = reply();
    proc.stdin!.write(`${JSON.stringify(msg)}\n`);
    await r;
  };
  await reply();
  return {
    port,
    set: (unit, table, address, values) => send({ cmd: 'set', unit, table, address, values }),
    stop: () => send({ cmd: 'stop' }),
    start: () => send({ cmd: 'start' }),
    close: async () => {
      proc.stdin!.end();
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}
