import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { VOCABULARY } from '../../src/core/vocabulary.js';
import { ROOT } from '../helpers/gateway.js';

it('docs/vocabulary.md lists every metric of src/core/vocabulary.ts with its unit', () => {
  const doc = readFileSync(join(ROOT, 'docs/vocabulary.md'), 'utf8');
  for (const [metric, def] of Object.entries(VOCABULARY)) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${metric}\` |`));
    expect(row, metric).toBeDefined();
    expect(row, metric).toContain(def.unit ? `\`${def.unit}\`` : '—');
  }
});
