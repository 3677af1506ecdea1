/**
 * Escalation policies (CONTRACT v2 "Notification channels and escalation"): matched like
 * webhooks (site prefix, severity, kind, rule), the first that fits an alert wins; ordered
 * steps, each `after` a duration counted from the alert's openedAt, optionally `unless`
 * the alert is acknowledged or resolved by then, notifying a list of channel ids.
 */
import { z } from 'zod';
import { siteWithin } from '../core/sites.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `0s`, `1.5s`, `15m`, `4h`, `2d` (or a number of seconds) → milliseconds */
export const DurationSchema = z.union([z.number().min(0), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return Math.round(v * 1000);
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(v);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `not a duration: ${v} (e.g. 0s, 90s, 15m, 4h, 1d)` });
    return z.NEVER;
  }
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
});

const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const MatchSchema = z.strictObject({
  severity: oneOrMany.optional(),
  kind: oneOrMany.optional(),
  site: z.string().optional(),
  rule: oneOrMany.optional(),
});
export type Match = z.infer<typeof MatchSchema>;

export const StepSchema = z.strictObject({
  after: DurationSchema.default(0),
  unless: z.enum(['acknowledged', 'resolved']).optional(),
  notify: z.array(z.string().min(1)).min(1),
});
export type Step = z.infer<typeof StepSchema>;

export const PolicySchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, _ . - (at most 64)').optional(),
  match: MatchSchema.default({}),
  steps: z.array(StepSchema).min(1),
});
export type PolicyConfig = z.infer<typeof PolicySchema>;
export interface Policy extends PolicyConfig { id: string }

const list = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

export function matches(m: Match, a: { severity: string; kind: string | null; site: string; rule: string }): boolean {
  const sev = list(m.severity);
  const kind = list(m.kind);
  const rule = list(m.rule);
  if (sev && !sev.includes(a.severity)) return false;
  if (kind && (a.kind === null || !kind.includes(a.kind))) return false;
  if (rule && !rule.includes(a.rule)) return false;
  if (m.site !== undefined && !siteWithin(a.site, m.site)) return false;
  return true;
}

/** policies with their ids: `id` when given, else the index (as a string) */
export function policiesOf(configs: PolicyConfig[]): Policy[] {
  return configs.map((p, i) => ({ ...p, id: p.id ?? String(i) }));
}

interface NotifyShape {
  channels: Array<{ id: string; type: string }>;
  smtp?: unknown;
  policies: PolicyConfig[];
}

/** cross-field checks of `notify`, each issue naming its key */
export function checkNotify(n: NotifyShape, ctx: z.RefinementCtx): void {
  const ids = new Set<string>();
  n.channels.forEach((c, i) => {
    if (ids.has(c.id)) ctx.addIssue({ code: 'custom', path: ['channels', i, 'id'], message: `duplicate channel id ${c.id}` });
    ids.add(c.id);
    if (c.type === 'email' && n.smtp === undefined) ctx.addIssue({ code: 'custom', path: ['channels', i], message: `channel ${c.id} is of type email: notify.smtp is required` });
  });
  const policyIds = new Set<string>();
  n.policies.forEach((p, i) => {
    const id = p.id ?? String(i);
    if (policyIds.has(id)) ctx.addIssue({ code: 'custom', path: ['policies', i, 'id'], message: `duplicate policy id ${id}` });
    policyIds.add(id);
    let last = -1;
    p.steps.forEach((s, j) => {
      if (s.after < last) ctx.addIssue({ code: 'custom', path: ['policies', i, 'steps', j, 'after'], message: 'steps must be in the order of their `after`' });
      last = Math.max(last, s.after);
      s.notify.forEach((c, k) => {
        if (!ids.has(c)) ctx.addIssue({ code: 'custom', path: ['policies', i, 'steps', j, 'notify', k], message: `unknown channel id ${c} (not in notify.channels)` });
      });
    });
  });
}
