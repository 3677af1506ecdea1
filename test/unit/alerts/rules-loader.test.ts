/** config/rules.yaml loader: a rule that could never fire, or a misspelled key, stops start-up naming the key and the value. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRules } from '../../../src/alerts/rules.js';
import { MODELS } from '../../../devices/index.js';
import { tempDir } from '../../helpers/net.js';

const dir = tempDir('rules-');
const load = (condition: string, extra = '', kinds = 'water_quality') => {
  const file = join(dir, `r-${Math.random()}.yaml`);
  writeFileSync(file, `rules:\n  - id: r1\n    kinds: [${kinds}]\n    severity: major\n    message: m\n    conditions:\n      - ${condition}\n${extra}`);
  return () => loadRules(file, true, { models: MODELS });
};

describe('loadRules', () => {
  it('accepts the bundled rules', () => {
    expect(loadRules(join(import.meta.dirname, '../../../config/rules.yaml'), true, { models: MODELS }).rules.length).toBeGreaterThan(10);
  });

  it.each([
    ['{ type: above, metric: turbidity_ntu, thresold: 1, clear: 0.8 }', 'rule r1: conditions.0.thresold: unknown key thresold'],
    ['{ type: above, metric: ph_value, threshold: 1, clear: 0.8 }', 'rule r1: conditions.0.metric: unknown metric ph_value'],
    ['{ type: flag, metrics: [leak, ph] }', 'rule r1: conditions.0.metrics.1: ph is not a flag'],
    ['{ type: event, event: door_exploded }', 'rule r1: conditions.0.event: unknown event type "door_exploded"'],
    ['{ type: stuck, metrics: [ph], count: 1, minSpanS: 0 }', 'rule r1: conditions.0.count'],
    ['{ type: abve, metric: ph, threshold: 1, clear: 0.8 }', 'rule r1: conditions.0.type'],
  ])('%s', (condition, message) => {
    expect(load(condition)).toThrow(message);
  });

  it('refuses a metric no model of the rule\'s kinds emits', () => {
    expect(load('{ type: above, metric: turbidity_ntu, threshold: 1, clear: 0.8 }', '', 'parking')).toThrow('rule r1: conditions.0.metric: no model of kind parking emits turbidity_ntu');
  });

  it('names an unknown metric in a site override', () => {
    expect(load('{ type: above, metric: turbidity_ntu, threshold: 1, clear: 0.8 }', 'sites:\n  jiangnan:\n    turbidty_ntu: 2\n')).toThrow('sites.jiangnan.turbidty_ntu: unknown metric');
  });
});
