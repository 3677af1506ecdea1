// The user-codec sandbox thread: each call runs in a fresh QuickJS runtime (WebAssembly, a
// separate JS engine with its own heap) with a memory limit, a stack limit and a time budget
// (CPU time, checked by an interrupt handler), and nothing of the host inside it: no require,
// process, timers, I/O or host functions. The runtime is disposed after the call, so nothing
// a codec does (globals, prototype changes) survives into the next call. Plain .mjs: it runs
// without the TS loader.
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { getQuickJS } from 'quickjs-emscripten';

const QuickJS = await getQuickJS();
/** the key a non-finite number is sent as (src/codecs/mapping.ts NON_FINITE) */
const NON_FINITE = '\\u0000nonFinite';

/**
 * This thread's CPU time in ms (Linux: the first field of /proc/thread-self/schedstat, in ns),
 * or undefined where the kernel does not offer it. A codec's time limit is charged in CPU
 * time: on a busy machine the thread waits for a core, and that wait is not the codec's.
 * Read afresh each time: open, read and close cost about what one read of a descriptor kept
 * open does (~10 µs here, most of it the kernel formatting the file), and nothing is held
 * across the thread's life.
 */
function threadCpuMs() {
  try {
    const text = readFileSync('/proc/thread-self/schedstat', 'latin1');
    const ns = Number(text.slice(0, text.indexOf(' ')));
    return Number.isFinite(ns) && ns > 0 ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}
const CPU_CLOCK = threadCpuMs() !== undefined;

/**
 * A time budget for one phase of a call, checked by QuickJS's interrupt handler. The wall
 * clock is checked first (cheap); only once it has passed the budget is the thread's CPU
 * time read, and if the codec has used less than its budget the wall deadline moves on by
 * what is left. Without a CPU clock the budget is wall-clock time. The watchdog in
 * sandbox.ts bounds the wall time of a whole call in any case.
 */
class Budget {
  wallDeadline = Infinity;
  cpuStart = 0;
  ms = 0;
  start(ms) {
    this.ms = ms;
    this.wallDeadline = Date.now() + ms;
    if (CPU_CLOCK) this.cpuStart = threadCpuMs() ?? 0;
  }
  exceeded() {
    const now = Date.now();
    if (now <= this.wallDeadline) return false;
    if (!CPU_CLOCK) return true;
    const used = (threadCpuMs() ?? Infinity) - this.cpuStart;
    if (used >= this.ms) return true;
    this.wallDeadline = now + Math.max(1, this.ms - used);
    return false;
  }
}

function reasonOf(ctx, handle, limits) {
  let name = '';
  let message = '';
  try {
    const n = ctx.getProp(handle, 'name');
    const m = ctx.getProp(handle, 'message');
    if (ctx.typeof(n) === 'string') name = ctx.getString(n);
    if (ctx.typeof(m) === 'string') message = ctx.getString(m);
    n.dispose();
    m.dispose();
    if (!message && ctx.typeof(handle) === 'string') message = ctx.getString(handle);
  } catch {
    message = 'an exception that could not be read';
  }
  if (name === 'InternalError' && message === 'interrupted') return `codec exceeded its time limit (${limits.timeMs} ms)`;
  if (name === 'InternalError' && message === 'out of memory') return `codec exceeded its memory limit (${Math.round(limits.memoryBytes / 1048576)} MiB)`;
  if (name === 'InternalError' && message === 'stack overflow') return `codec exceeded its stack limit (${Math.round(limits.stackBytes / 1024)} KiB)`;
  return `codec threw ${name || 'an exception'}${message ? `: ${message.slice(0, 300)}` : ''}`;
}

/**
 * job: {id, op: 'run' | 'check', source, input?: {bytes, fPort, recvTime, json?}, limits}
 * reply: {id, ok: true, output?: string, ms} | {id, ok: false, reason, ms}
 */
function run(job) {
  const { limits } = job;
  const started = performance.now();
  const rt = QuickJS.newRuntime();
  let ctx;
  let serialize;
  try {
    rt.setMemoryLimit(limits.memoryBytes);
    rt.setMaxStackSize(limits.stackBytes);
    // a budget for loading the source and another for the call, both started once the
    // sandbox's own set-up (context, prelude) is done: that is not the codec's time, and on a
    // busy machine it can take longer than a codec's whole limit. The thread's watchdog
    // (sandbox.ts) bounds the set-up, and terminates the thread when QuickJS stays in C code
    // past its interrupt checks.
    const budget = new Budget();
    rt.setInterruptHandler(() => budget.exceeded());
    ctx = rt.newContext();
    // taken before the codec loads, so a codec replacing JSON.stringify does not change how
    // its output reaches the host; NaN and ±Infinity (null in JSON) are marked, so the host
    // can refuse them instead of reading "absent"
    const prelude = ctx.evalCode(`(function (stringify, isFinite) {
      function mark(k, x) { return typeof x === 'number' && !isFinite(x) ? { '${NON_FINITE}': String(x) } : x; }
      return function (v) { var t = stringify(v === undefined ? null : v, mark); return typeof t === 'string' ? t : 'null'; };
    })(JSON.stringify, isFinite)`, 'prelude.js');
    if (prelude.error) {
      const reason = reasonOf(ctx, prelude.error, limits);
      prelude.error.dispose();
      return { ok: false, reason: `sandbox failure: prelude: ${reason}` };
    }
    serialize = prelude.value;
    budget.start(limits.timeMs);
    const loaded = ctx.evalCode(job.source, 'codec.js');
    if (loaded.error) {
      const reason = reasonOf(ctx, loaded.error, limits);
      loaded.error.dispose();
      return { ok: false, reason: `codec failed to load: ${reason}` };
    }
    loaded.value.dispose();
    budget.start(limits.timeMs);
    const input = job.input
      // a JSON text is a JavaScript expression (ES2019); recvTime is a Date, as in The Things Stack
      ? `Object.assign(${JSON.stringify({ bytes: job.input.bytes, fPort: job.input.fPort, ...(job.input.json !== undefined ? { json: job.input.json } : {}) })}, { recvTime: new Date(${Number(job.input.recvTime)}) })`
      : 'undefined';
    const call = job.op === 'check'
      ? `typeof decodeUplink === 'function' ? '' : 'decodeUplink is not a function'`
      : `(function () { if (typeof decodeUplink !== 'function') throw new TypeError('decodeUplink is not a function'); return decodeUplink(${input}); })()`;
    let result = ctx.evalCode(call, 'call.js');
    if (!result.error && job.op === 'run') {
      const out = result.value;
      result = ctx.callFunction(serialize, ctx.undefined, out);
      out.dispose();
    }
    if (result.error) {
      // reading the exception may run the codec's getters: give it a moment of its own
      budget.start(10);
      const reason = reasonOf(ctx, result.error, limits);
      result.error.dispose();
      return { ok: false, reason };
    }
    const text = ctx.typeof(result.value) === 'string' ? ctx.getString(result.value) : '';
    result.value.dispose();
    if (job.op === 'check') return text ? { ok: false, reason: text } : { ok: true };
    if (text.length > limits.outputBytes) return { ok: false, reason: `codec output larger than ${limits.outputBytes} bytes` };
    return { ok: true, output: text };
  } catch (err) {
    return { ok: false, reason: `sandbox failure: ${err?.message ?? String(err)}` };
  } finally {
    try { serialize?.dispose(); } catch { /* see below */ }
    try { ctx?.dispose(); } catch { /* a runtime that ran out of memory may refuse; the runtime goes anyway */ }
    try { rt.dispose(); } catch { /* see above */ }
    job.ms = performance.now() - started;
  }
}

// V8 compiles WebAssembly lazily: the first calls of a fresh thread are several times
// slower. Warm the parser, interpreter and JSON paths before taking work, so a codec's
// first call is not timed against the compiler.
const WARM = { id: 0, op: 'run', source: 'function decodeUplink(i) { var o = {}; for (var k = 0; k < i.bytes.length; k++) o["b" + k] = i.bytes[k] / 2; return { data: o, warnings: [String(i.recvTime.getTime())] }; }', input: { bytes: [1, 2, 3, 4], fPort: 1, recvTime: 0 }, limits: { timeMs: 5000, memoryBytes: 16 << 20, stackBytes: 512 << 10, outputBytes: 65536 } };
for (let i = 0; i < 30; i++) run({ ...WARM });

parentPort.on('message', (job) => {
  const out = run(job);
  parentPort.postMessage({ id: job.id, ms: job.ms, ...out });
});
parentPort.postMessage({ ready: true });
