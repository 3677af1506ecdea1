/**
 * GET /api/v1/alerts/stats (CONTRACT v2 "Response times"): time to acknowledge and to
 * resolve, counted from openedAt, by site, rule or kind; and the escalation policies in force
 * (for the console's policy view). Kept apart from routes/alerts.ts so the two change alone.
 */
import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from '../context.js';
import { CREW, READERS, TimeParam, badRequest, AUTH_ERRORS, errorResponses } from '../common.js';
import type { AlertService } from '../../alerts/service.js';
import { GROUP_BY, responseStats } from '../../alerts/stats.js';

const Seconds = z.string().max(200).transform((s, c) => {
  const parts = s.split(',').map((p) => p.trim()).filter(Boolean);
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,9}$/.test(p)) { c.addIssue({ code: 'custom', message: `not a number of seconds: ${p}` }); return z.NEVER; }
    out.push(Number(p));
  }
  return [...new Set(out)].sort((a, b) => a - b);
});

const StatsGroupSchema = z.object({
  key: z.string(), opened: z.number().int(), acknowledged: z.number().int(), resolved: z.number().int(),
  mttaS: z.number().nullable(), mttrS: z.number().nullable(), p90AckS: z.number().nullable(), unacknowledgedOverS: z.record(z.string(), z.number().int()),
});
const PolicySchema = z.object({
  id: z.string(), match: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  steps: z.array(z.object({ step: z.number().int(), afterMs: z.number(), unless: z.enum(['acknowledged', 'resolved']).nullable(), notify: z.array(z.string()) })),
});

export const alertStatsRoutes = (ctx: ApiContext, alerts: AlertService): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/alerts/stats', {
    config: { roles: READERS },
    schema: {
      tags: ['alerts'],
      summary: 'Response times of the alerts opened in [from, to): opened, acknowledged, resolved, mean time to acknowledge (mttaS) and to resolve (mttrS), p90 time to acknowledge, and how many waited more than each `over` seconds unacknowledged (default 900,3600), grouped by site (default), rule or kind',
      querystring: z.strictObject({
        site: z.string().max(300).optional(), rule: z.string().max(500).optional(), from: TimeParam.optional(), to: TimeParam.optional(),
        groupBy: z.enum(GROUP_BY).default('site'), over: Seconds.default([900, 3600]),
      }),
      response: { 200: z.object({ groupBy: z.enum(GROUP_BY), groups: z.array(StatsGroupSchema) }), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const q = req.query;
    if (q.from !== undefined && q.to !== undefined && q.from >= q.to) throw badRequest('querystring.to', 'must be after from');
    const rule = q.rule?.split(',').map((s) => s.trim()).filter(Boolean);
    const known = new Set(alerts.activeRules.map((x) => x.id));
    for (const id of rule ?? []) if (!known.has(id)) throw badRequest('querystring.rule', `unknown rule ${id}`);
    const rows = alerts.statsAlerts({ site: q.site, rule, from: q.from, to: q.to });
    return { groupBy: q.groupBy, groups: responseStats(rows, { groupBy: q.groupBy, overS: q.over, now: ctx.clock() }) };
  });

  r.get('/notify/policies', {
    config: { roles: READERS },
    schema: {
      tags: ['alerts'], summary: 'The escalation policies in force (notify.policies): match, and ordered steps with after (ms), unless and channel ids',
      response: { 200: z.object({ items: z.array(PolicySchema), next: z.null() }), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async () => ({ items: alerts.policies.map((p) => ({ id: p.id, match: p.match, steps: p.steps.map((s, i) => ({ step: i, afterMs: s.after, unless: s.unless ?? null, notify: s.notify })) })), next: null }));

  r.get('/crews', {
    config: { roles: CREW },
    schema: {
      tags: ['alerts'], summary: 'Who alerts can be assigned to: the names of the crew API keys (names only, never tokens)',
      response: { 200: z.object({ items: z.array(z.object({ name: z.string() })), next: z.null() }), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async () => ({ items: ctx.apiKeys.list().filter((k) => k.role === 'crew').map((k) => ({ name: k.name })).sort((a, b) => a.name.localeCompare(b.name)), next: null }));
};
