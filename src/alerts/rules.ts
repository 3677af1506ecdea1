/**
 * Alert rules as data (config/rules.yaml, docs/alerts.md): the zod schema, the loader, and
 * the per-device / per-site threshold overrides. A bad rule stops start-up with one line
 * naming it.
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError, yamlErrorText } from '../config.js';
import { DEVICE_KINDS, metricDef } from '../core/vocabulary.js';
import { ConditionSchema, type Condition } from './conditions/index.js';

/** what the loader checks rules against: the model catalogue (which kinds emit which metrics) */
export interface RuleCatalogue {
  models: ReadonlyArray<{ id: string; kind: string; metrics: readonly string[] }>;
}

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

export function loadRules(file: string, explicit: boolean, catalogue?: RuleCatalogue): RulesFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) throw new ConfigError(`rulesFile: ${file} not found`);
    throw new ConfigError(`rulesFile: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(`rules ${file}: ${yamlErrorText(err)}`);
  }
  const res = RulesFileSchema.safeParse(raw);
  if (!res.success) {
    // a misspelled key explains the "missing" one it was meant to be: name it first
    const issue = res.error.issues.find((i) => i.code === 'unrecognized_keys') ?? res.error.issues[0]!;
    const idx = issue.path[0] === 'rules' && typeof issue.path[1] === 'number' ? issue.path[1] : undefined;
    const id = idx !== undefined ? ((raw as { rules?: Array<{ id?: unknown }> }).rules?.[idx]?.id ?? `#${idx + 1}`) : undefined;
    const at = issue.path.slice(2).join('.');
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
    const where = id !== undefined ? `rule ${String(id)}: ${keys ? [at, ...keys].filter(Boolean).join('.') : at || '(rule)'}` : issue.path.join('.') || '(root)';
    const message = keys ? `unknown key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}` : issue.message;
    throw new ConfigError(`rules ${file}: ${where}: ${message}`);
  }
  const seen = new Set<string>();
  for (const r of res.data.rules) {
    if (seen.has(r.id)) throw new ConfigError(`rules ${file}: rule ${r.id}: duplicate id`);
    seen.add(r.id);
    const problem = checkMetrics(r, catalogue);
    if (problem) throw new ConfigError(`rules ${file}: rule ${r.id}: ${problem}`);
  }
  for (const [site, t] of Object.entries(res.data.sites)) {
    for (const m of Object.keys(t)) if (!metricDef(m)) throw new ConfigError(`rules ${file}: sites.${site}.${m}: unknown metric ${m} (not in the vocabulary)`);
  }
  return res.data;
}

/** the metrics a condition names, with the key that names them */
function namedMetrics(c: Condition, i: number): Array<[key: string, metric: string]> {
  const at = `conditions.${i}`;
  if ('metric' in c) return [[`${at}.metric`, c.metric]];
  if ('metrics' in c) return c.metrics.map((m, k) => [`${at}.metrics.${k}`, m] as [string, string]);
  if (c.type === 'out_of_range') return Object.keys(c.limits).map((m) => [`${at}.limits.${m}`, m] as [string, string]);
  return [];
}

/** A rule that names a metric nothing can emit can never fire: a typo (ph_value for ph), refused at start-up. */
function checkMetrics(rule: Rule, catalogue: RuleCatalogue | undefined): string | undefined {
  for (const [i, c] of rule.conditions.entries()) {
    for (const [key, m] of namedMetrics(c, i)) {
      const def = metricDef(m);
      if (!def) return `${key}: unknown metric ${m} (not in the vocabulary, docs/vocabulary.md)`;
      if ((c.type === 'range' || c.type === 'above' || c.type === 'below') && def.type !== 'number') return `${key}: ${m} is not numeric`;
      if ((c.type === 'flag') && def.type !== 'boolean') return `${key}: ${m} is not a flag (boolean)`;
      if (!catalogue) continue;
      const models = catalogue.models.filter((x) => !rule.kinds || rule.kinds.includes(x.kind as never));
      if (!models.some((x) => x.metrics.includes(m))) return `${key}: no model${rule.kinds ? ` of kind ${rule.kinds.join(', ')}` : ''} emits ${m}`;
    }
  }
  return undefined;
}
