/**
 * The table of device models in docs/devices.md, made from the model files themselves, so it
 * cannot drift: `npm run docs:models` rewrites the part between the markers, and
 * test/devices/models-table.test.ts fails when the committed table is not what this prints.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MODELS } from '../devices/index.js';

const ROOT = resolve(import.meta.dirname, '..');
export const BEGIN = '<!-- models-table:begin (npm run docs:models) -->';
export const END = '<!-- models-table:end -->';
const DIRS = [join(ROOT, '../shared/corpus/vendor-vectors'), join(ROOT, 'test/vendor-vectors')];

function vectorCount(file: string): number | null {
  const dir = DIRS.find((d) => existsSync(join(d, file)));
  if (!dir) return null;
  return readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l.trim() !== '').length;
}

export function modelsTable(): string {
  const rows = [...MODELS].sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id)).map((m) => {
    const ref = m.vendorCodec;
    const vectors = ref ? ref.vectors.map((f) => vectorCount(f) ?? 0).reduce((a, b) => a + b, 0) : null;
    const named = (m.deviations ?? []).filter((d) => !/^note-\d+$/.test(d.id)).map((d) => `\`${d.id}\``);
    const notes = (m.deviations ?? []).length - named.length;
    const devs = [...named, ...(notes ? [`${notes} note${notes > 1 ? 's' : ''}`] : [])].join(', ');
    return `| \`${m.id}\` | ${m.vendor} | ${m.kind} | ${m.format} | ${ref ? `${vectors} (${ref.codec.replace(/^vendor\//, '')} @ ${ref.commit})` : '—'} | ${devs || '—'} |`;
  });
  const kinds = new Set(MODELS.map((m) => m.kind));
  const vendorModels = MODELS.filter((m) => !m.id.startsWith('generic.') && m.id !== 'senml');
  return [
    BEGIN,
    `${MODELS.length} models (${vendorModels.length} vendor models) across ${kinds.size} kinds. Vectors: payloads checked against the vendor's own codec`,
    '(test/devices/vendor-vectors.test.ts); deviations: ids of the differences each model declares, with their reasons in the model file',
    'and in `GET /api/v1/models`.',
    '',
    '| model | vendor | kind | format | vendor vectors (codec @ commit) | deviations |',
    '|---|---|---|---|---|---|',
    ...rows,
    END,
  ].join('\n');
}

export function withTable(doc: string): string {
  const i = doc.indexOf(BEGIN);
  const j = doc.indexOf(END);
  if (i < 0 || j < 0) return `${doc.replace(/\n*$/, '')}\n\n## Models\n\n${modelsTable()}\n`;
  return doc.slice(0, i) + modelsTable() + doc.slice(j + END.length);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const file = join(ROOT, 'docs/devices.md');
  writeFileSync(file, withTable(readFileSync(file, 'utf8')));
  process.stdout.write(`docs/devices.md: table of ${MODELS.length} models written\n`);
}
