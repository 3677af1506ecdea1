/**
 * A real SMTP server: Debian's aiosmtpd (`python3 -m aiosmtpd -n`, its Debugging handler
 * prints every message it accepts), under /usr/bin/python3 (FACTS.md: Debian's Python
 * packages import only there). Messages are parsed from its output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './gateway.js';

export interface SmtpMessage { headers: Record<string, string>; body: string }
export interface Smtp { port: number; messages: SmtpMessage[]; stop: () => Promise<void> }

export async function startSmtp(): Promise<Smtp> {
  const port = await freePort();
  const proc: ChildProcess = spawn('/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Debugging', 'stdout'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  const messages: SmtpMessage[] = [];
  let buf = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    buf += chunk;
    let end;
    while ((end = buf.indexOf('------------ END MESSAGE ------------')) >= 0) {
      const start = buf.indexOf('---------- MESSAGE FOLLOWS ----------');
      const raw = buf.slice(start + 38, end).replace(/^\n/, '');
      buf = buf.slice(end + 38);
      const [head, ...rest] = raw.split('\n\n');
      const headers: Record<string, string> = {};
      for (const line of (head ?? '').replace(/\n[ \t]+/g, ' ').split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      messages.push({ headers, body: rest.join('\n\n') });
    }
  });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('data', (d) => { s.end('QUIT\r\n'); res(d.toString().startsWith('220')); });
      s.once('error', () => res(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port, messages,
    stop: () => new Promise((r) => { if (proc.exitCode !== null) r(); else { proc.once('exit', () => r()); proc.kill('SIGTERM'); } }),
  };
}
