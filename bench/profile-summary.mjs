// node bench/profile-summary.mjs <file.cpuprofile> [top] [fn,fn,...]
// Self time per function (top N, % of the thread's busy time) and the inclusive time of the
// named functions (each sample counted once per stack, so recursion is not counted twice).
// For comparing the load-phase profiles that `npm run bench -- --cpu-prof <dir>` writes.
import { readFileSync } from 'node:fs';

const [file, topArg, namesArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/profile-summary.mjs <file.cpuprofile> [top] [fn,fn,...]\n');
  process.exit(2);
}
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n) => {
  const cf = n.callFrame;
  const where = cf.url.replace(/.*node_modules\//, 'nm/').replace(/^file:\/\/.*?\/(src|devices|bench)\//, '$1/');
  return `${cf.functionName || '(anon)'} ${where}${where ? `:${cf.lineNumber + 1}` : ''}`;
};
const selfUs = new Map();
const inclUs = new Map();
const names = new Set((namesArg ?? '').split(',').filter(Boolean));
let total = 0;
let idle = 0;
for (let i = 0; i < p.samples.length; i++) {
  const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time is the delta to the next one
  const n = byId.get(p.samples[i]);
  total += dt;
  if (n.callFrame.functionName === '(idle)') { idle += dt; continue; }
  const k = label(n);
  selfUs.set(k, (selfUs.get(k) ?? 0) + dt);
  if (names.size) {
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const fn = byId.get(id).callFrame.functionName;
      if (names.has(fn) && !seen.has(fn)) { seen.add(fn); inclUs.set(fn, (inclUs.get(fn) ?? 0) + dt); }
    }
  }
}
const busy = total - idle;
const ms = (us) => (us / 1000).toFixed(0).padStart(6);
const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
process.stdout.write(`${file}: ${ms(total).trim()} ms sampled, ${ms(busy).trim()} ms busy (${((100 * busy) / total).toFixed(0)} %)\n`);
for (const [k, v] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg) || 30)) process.stdout.write(`${ms(v)} ${pct(v)}  ${k}\n`);
if (names.size) {
  process.stdout.write('inclusive:\n');
  for (const n of names) process.stdout.write(`${ms(inclUs.get(n) ?? 0)} ${pct(inclUs.get(n) ?? 0)}  ${n}\n`);
}
