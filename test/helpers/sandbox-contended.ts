/**
 * Run by test/unit/codecs/sandbox.test.ts pinned to one core (`taskset -c <core>`): a codec that uses about
 * `cpuMs` of CPU per call, called while three busy processes share this process's core, so
 * each call takes several times its CPU time in wall time. Prints one JSON line:
 * {calibratedMs, calls: [{ok, reason?}], wallMsPerCall, over: [{ok, reason?}]} (`over`: the same
 * codec under a 1 ms limit).
 */
import { spawn } from 'node:child_process';
import pino from 'pino';
import { CodecLimitsSchema, CodecSandbox } from '../../src/codecs/sandbox.js';

const limitMs = Number(process.argv[2] ?? 30);
const cpuMs = Number(process.argv[3] ?? 10);
const log = pino({ level: 'silent' });
const codec = (n: number) => `function decodeUplink(i) { var x = 0; for (var k = 0; k < ${n}; k++) x += k % 7; return { data: { t: x > 0 ? 1 : 0 } }; }`;
const input = { bytes: [1], recvTime: 0 };
/** the gateway's defaults but the time limit, and a watchdog that never fires here */
const sandbox = (timeMs: number) => new CodecSandbox(CodecLimitsSchema.parse({ timeMs, queuePerCodec: 100, watchdogMs: 60_000 }), log);
const outcome = (p: Promise<unknown>): Promise<{ ok: boolean; reason?: string }> => p.then(() => ({ ok: true }), (e: Error) => ({ ok: false, reason: e.message }));

/** wall ms per call of `n` iterations, the sandbox alone on its core */
async function timed(sb: CodecSandbox, n: number, calls: number): Promise<number> {
  const before = sb.stats.busyMs;
  for (let k = 0; k < calls; k++) await sb.run('cal', codec(n), input);
  return (sb.stats.busyMs - before) / calls;
}

const calibrating = sandbox(10_000);
let n = 20_000;
let ms = await timed(calibrating, n, 3);
while (ms < cpuMs / 2) { n *= 2; ms = await timed(calibrating, n, 3); }
n = Math.round((n * cpuMs) / ms);
const calibratedMs = await timed(calibrating, n, 5);
await calibrating.stop();

const sb = sandbox(limitMs);
await sb.run('warm', codec(10), input);
const busy = Array.from({ length: 3 }, () => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
await new Promise((r) => setTimeout(r, 200));
const calls: Array<{ ok: boolean; reason?: string }> = [];
const before = sb.stats.busyMs;
for (let k = 0; k < 10; k++) {
  calls.push(await outcome(sb.run('contended', codec(n), input)));
}
const wallMsPerCall = (sb.stats.busyMs - before) / 10;
await sb.stop();
// and a limit below the codec's CPU time still stops it, contended or not (1 ms: below it
// even when the calibration itself ran on a contended core)
const tight = sandbox(1);
const over: Array<{ ok: boolean; reason?: string }> = [];
for (let k = 0; k < 3; k++) {
  over.push(await outcome(tight.run('over', codec(n), input)));
}
for (const b of busy) b.kill('SIGKILL');
await tight.stop();
process.stdout.write(`${JSON.stringify({ calibratedMs, calls, wallMsPerCall, over })}\n`);
