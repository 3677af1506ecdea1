// Preloaded into the gateway by `npm run bench -- --cpu-prof <dir>` (node --import, so it runs
// in the main thread and in every worker thread): a V8 CPU profile of the load phase only.
// `--cpu-prof` would profile the whole process life, which start-up (module loading) and
// provisioning (scrypt) dominate. SIGUSR2 starts profiling every thread; the next SIGUSR2
// stops it and writes <dir>/<label>-<thread>.cpuprofile (label from the bench, via a file).
// Signals reach only the main thread, so it relays them to the workers on a BroadcastChannel.
import { Session } from 'node:inspector';
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const channel = new BroadcastChannel('bench-cpu-prof');
  channel.unref();
  const session = new Session();
  session.connect();
  let running = false;
  const toggle = (label) => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start')));
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, res) => {
      if (err) return;
      writeFileSync(join(dir, `${label}-${isMainThread ? 'main' : `thread${threadId}`}.cpuprofile`), JSON.stringify(res.profile));
    });
  };
  channel.onmessage = (e) => toggle(e.data);
  if (isMainThread) {
    process.on('SIGUSR2', () => {
      let label = 'load';
      try { label = readFileSync(join(dir, 'label'), 'utf8').trim() || label; } catch { /* default */ }
      channel.postMessage(label);
      toggle(label);
    });
  }
}
