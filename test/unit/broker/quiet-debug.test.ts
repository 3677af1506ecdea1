/**
 * src/broker/quiet-debug.ts: mqtt-packet's loggers are no-ops unless DEBUG turns them on, and
 * DEBUG still turns them on. Each case runs in its own node process, because which logger
 * mqtt-packet holds is decided once, when it loads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'gw-quiet-debug-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// loads the broker (and with it aedes and mqtt-packet) the way the gateway does, then turns
// every mqtt-packet logger on *after* mqtt-packet made its loggers: debug's own loggers read
// that at each call and would print; the quiet ones were made as no-ops and stay silent
const script = join(dir, 'probe.mts');
writeFileSync(script, `
import ${JSON.stringify(join(ROOT, 'src/broker/broker.ts'))};
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
const require = createRequire(${JSON.stringify(join(ROOT, 'package.json'))});
const packetDir = dirname(require.resolve('mqtt-packet/package.json'));
const debug = require(require.resolve('debug', { paths: [packetDir] }));
if (process.argv[2] === 'late') debug.enable('mqtt-packet:*');
const mqttPacket = require(packetDir);
const parser = mqttPacket.parser({ protocolVersion: 4 });
let packets = 0;
parser.on('packet', () => packets++);
parser.parse(mqttPacket.generate({ cmd: 'publish', topic: 'devices/d1/up', payload: Buffer.from('{}'), qos: 1, messageId: 7 }));
process.stdout.write(JSON.stringify({ packets, other: debug('gateway:probe').enabled }));
`);

function probe(env: Record<string, string>, arg = ''): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, arg], { cwd: ROOT, env: { ...process.env, DEBUG: '', ...env }, encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return { stdout: r.stdout, stderr: r.stderr };
}

describe('mqtt-packet debug loggers', () => {
  it('are no-ops when DEBUG leaves them off, even if debug.enable() is called later', () => {
    const { stdout, stderr } = probe({}, 'late');
    expect(JSON.parse(stdout)).toEqual({ packets: 1, other: false });
    expect(stderr).not.toContain('mqtt-packet:parser');
  });

  it('log as before when DEBUG turns them on at start-up', () => {
    const { stdout, stderr } = probe({ DEBUG: 'mqtt-packet:parser' });
    expect(JSON.parse(stdout).packets).toBe(1);
    expect(stderr).toContain('mqtt-packet:parser');
    expect(stderr).toContain('_parsePublish');
  });

  it('leave other namespaces to debug', () => {
    const { stdout } = probe({ DEBUG: 'gateway:*' });
    expect(JSON.parse(stdout).other).toBe(true);
  });
});
