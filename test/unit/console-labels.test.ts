/** The console names every metric of the vocabulary and every rule of config/rules.yaml in both languages (no raw battery_low on the board). */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VOCABULARY, DEVICE_KINDS } from '../../src/core/vocabulary.js';
import { loadRules } from '../../src/alerts/rules.js';

// plain browser modules without type declarations
const strings = (lang: string) => import(`../../web/js/strings/${lang}.js`).then((m: { default: Record<string, string> }) => m.default);
const en = await strings('en');
const zh = await strings('zh');

const rules = loadRules(join(import.meta.dirname, '../../config/rules.yaml'), true).rules.map((r) => r.id);

describe.each([['en', en], ['zh', zh]] as const)('console strings (%s)', (_lang, table) => {
  const strings = table as Record<string, string>;
  it('label every metric', () => {
    expect(Object.keys(VOCABULARY).filter((m) => !strings[`metric.${m}`])).toEqual([]);
  });
  it('label every rule', () => {
    expect(rules.filter((r) => !strings[`rule.${r}`])).toEqual([]);
  });
  it('label every device kind', () => {
    expect(DEVICE_KINDS.filter((k) => !strings[`kind.${k}`])).toEqual([]);
  });
});
