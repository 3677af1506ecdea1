/**
 * Alert rules as data (config/rules.yaml, docs/alerts.md): the zod schema, the loader, and
 * the per-device / per-site threshold overrides. A bad rule stops start-up with one line
 * naming it.
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import { DEVICE_KINDS } from '../core/vocabulary.js';
import { ConditionSchema } from './conditions/index.js';

export const SEVERITIES = ['critical', 'major', 'minor', 'warning'] as const;
export type Severity = (typeof SEVERITIES)[number];

// each condition type is defined in alerts/conditions/<type>.ts
export { ConditionSchema, type Condition } from './conditions/index.js';
export { thresholdFor } from './thresholds.js';

export const RuleSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'lower-case letters, digits and _'),
  description: z.string().default(''),
  kinds: z.array(z.enum(DEVICE_KINDS)).min(1).optional(),
  severity: z.enum(SEVERITIES),
  /** the alert is active while any condition is active; it clears when all have cleared */
  conditions: z.array(ConditionSchema).min(1),
  /** {device}, {site}, {value}, {threshold}, {metric}, {unit} */
  message: z.string().min(1),
  /** false: the crew resolves it (events, counter regressions) */
  autoResolve: z.boolean().default(true),
  enabled: z.boolean().default(true),
});
export type Rule = z.infer<typeof RuleSchema>;

export const RulesFileSchema = z.strictObject({
  rules: z.array(RuleSchema),
  /** threshold overrides per site prefix: {"jiangnan/yuhua-garden": {"fill_pct": 90}} */
  sites: z.record(z.string(), z.record(z.string(), z.number())).default({}),
});
export type RulesFile = z.infer<typeof RulesFileSchema>;

export function loadRules(file: string, explicit: boolean): RulesFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) throw new ConfigError(`rulesFile: ${file} not found`);
    throw new ConfigError(`rulesFile: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`rules ${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const res = RulesFileSchema.safeParse(raw);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    const idx = issue.path[0] === 'rules' && typeof issue.path[1] === 'number' ? issue.path[1] : undefined;
    const id = idx !== undefined ? ((raw as { rules?: Array<{ id?: unknown }> }).rules?.[idx]?.id ?? `#${idx + 1}`) : undefined;
    const where = id !== undefined ? `rule ${String(id)}: ${issue.path.slice(2).join('.') || '(rule)'}` : issue.path.join('.') || '(root)';
    throw new ConfigError(`rules ${file}: ${where}: ${issue.message}`);
  }
  const seen = new Set<string>();
  for (const r of res.data.rules) {
    if (seen.has(r.id)) throw new ConfigError(`rules ${file}: rule ${r.id}: duplicate id`);
    seen.add(r.id);
  }
  return res.data;
}
