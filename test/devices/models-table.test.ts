import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { modelsTable, BEGIN, END } from '../../scripts/models-table.js';
import { ROOT } from '../helpers/gateway.js';

it('docs/devices.md carries the current table of models, vector counts and deviations (npm run docs:models)', () => {
  const doc = readFileSync(join(ROOT, 'docs/devices.md'), 'utf8');
  const i = doc.indexOf(BEGIN);
  const j = doc.indexOf(END);
  expect(i, 'table markers missing: run npm run docs:models').toBeGreaterThanOrEqual(0);
  expect(doc.slice(i, j + END.length)).toBe(modelsTable());
});
