/**
 * tsx bench/heap-per-device.ts [from=1000] [to=3000] [--aedes]: what the broker keeps per
 * connected device, from two heap snapshots (each after a full GC, so live objects only):
 * `from` devices connected, each having published one QoS 1 reading, then `to`. Prints the
 * growth per device by object type and constructor (self size, bytes), largest first, and
 * in total. The gateway runs on embedded defaults with the node flags of `npm start`;
 * `--aedes` measures plain aedes (bench/plain-aedes.ts) the same way; `--keep` keeps the snapshots.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { TOKEN, provision } from './fleet.js';

const ROOT = resolve(import.meta.dirname, '..');
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const FROM = Number(positional[0] ?? 1000);
const TO = Number(positional[1] ?? 3000);
const AEDES = process.argv.includes('--aedes');
const FLAGS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start as string).split(' ').filter((a) => a.startsWith('--') && a !== '--import');
const log = (m: string) => process.stderr.write(`heap: ${m}\n`);

const freePort = () => new Promise<number>((res) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); }); });

const dir = mkdtempSync(join(tmpdir(), 'gw-heap-'));
const snaps = join(dir, 'snapshots');
mkdirSync(snaps);
const httpPort = await freePort();
const mqttPort = await freePort();
const configFile = join(dir, 'bench-config.json');
writeFileSync(configFile, JSON.stringify({ mqtt: { rateLimit: { devicePerSecond: 0 } }, http: { rateLimitPerMinute: 0 } }));
const heapFlags = ['--heapsnapshot-signal=SIGUSR1', `--diagnostic-dir=${snaps}`];
const proc = AEDES
  ? spawn(process.execPath, [...heapFlags, '--import', 'tsx', join(ROOT, 'bench/plain-aedes.ts'), String(mqttPort)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  : spawn(process.execPath, [...FLAGS, ...heapFlags, '--import', 'tsx', join(ROOT, 'src/main.ts')], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, GATEWAY_DATA_DIR: join(dir, 'data'), GATEWAY_CONFIG: configFile, GATEWAY_HTTP_PORT: String(httpPort), GATEWAY_MQTT_PORT: String(mqttPort), GATEWAY_HOST: '127.0.0.1', GATEWAY_ADMIN_TOKEN: TOKEN, GATEWAY_LOG_LEVEL: 'warn' },
  });
const http = `http://127.0.0.1:${httpPort}`;
async function ready(): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      if (AEDES) { await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 }).then((c) => c.endAsync()); return; }
      if ((await fetch(`${http}/readyz`)).status === 200) return;
    } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('broker did not start');
}
await ready();
const ids = Array.from({ length: TO }, (_, i) => `heap-${String(i).padStart(6, '0')}`);
const creds = AEDES ? new Map<string, string>()
  : await provision(http, ids.map((id, k) => ({ id, model: k % 2 ? 'generic.bin-fill' : 'generic.water-quality', site: `heap/b${k % 10}` })));
const clients: MqttClient[] = [];
async function connect(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 100) {
    await Promise.all(ids.slice(i, Math.min(to, i + 100)).map(async (id, k) => {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: id, username: AEDES ? undefined : id, password: AEDES ? undefined : creds.get(id), reconnectPeriod: 0, keepalive: 600 });
      clients.push(c);
      const n = i + k;
      await c.publishAsync(AEDES ? `devices/${id}/up` : `devices/${id}/up`, JSON.stringify(n % 2 ? { fill_pct: 40 } : { ph: 7.1 }), { qos: 1 });
    }));
  }
}
async function snapshot(): Promise<string> {
  const before = new Set(readdirSync(snaps));
  await new Promise((r) => setTimeout(r, 3000));
  proc.kill('SIGUSR1');
  for (let i = 0; i < 1200; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const fresh = readdirSync(snaps).filter((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    // written when its size stops changing
    if (fresh.length) {
      const f = join(snaps, fresh[0]!);
      const a = readFileSync(f).length;
      await new Promise((r) => setTimeout(r, 1000));
      if (readFileSync(f).length === a && a > 0) return f;
    }
  }
  throw new Error('no heap snapshot');
}

/** self size per "type:constructor" */
function summarise(file: string): Map<string, { size: number; count: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const f = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size')];
  const out = new Map<string, { size: number; count: number }>();
  for (let o = 0; o < s.nodes.length; o += f.length) {
    const type = types[s.nodes[o + iType]!]!;
    const name = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden' ? s.strings[s.nodes[o + iName]!]! : '';
    const k = `${type}:${name.slice(0, 60)}`;
    const e = out.get(k) ?? { size: 0, count: 0 };
    e.size += s.nodes[o + iSize]!;
    e.count++;
    out.set(k, e);
  }
  return out;
}

log(`${AEDES ? 'plain aedes' : 'gateway'}: connecting ${FROM} devices`);
await connect(0, FROM);
const a = await snapshot();
log(`connecting ${TO - FROM} more`);
await connect(FROM, TO);
const b = await snapshot();
const sa = summarise(a);
const sb = summarise(b);
const n = TO - FROM;
const rows = [...sb].map(([k, v]) => ({ k, bytes: (v.size - (sa.get(k)?.size ?? 0)) / n, count: (v.count - (sa.get(k)?.count ?? 0)) / n }))
  .sort((x, y) => y.bytes - x.bytes);
const total = rows.reduce((t, r) => t + r.bytes, 0);
process.stdout.write(`${AEDES ? 'plain aedes' : 'gateway'}: live heap per device ${(total / 1024).toFixed(2)} kB (${FROM} -> ${TO} devices)\n`);
for (const r of rows.slice(0, 30)) process.stdout.write(`${r.bytes.toFixed(0).padStart(7)} B ${r.count.toFixed(2).padStart(7)} objects  ${r.k}\n`);
await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)));
proc.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 500));
// --keep: the two snapshots stay (for a retainer analysis in DevTools)
if (process.argv.includes('--keep')) log(`snapshots kept: ${a} ${b}`);
else rmSync(dir, { recursive: true, force: true });
process.exit(0);
