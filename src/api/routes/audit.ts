import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from '../context.js';
import { ADMIN, AUTH_ERRORS, TimeParam, cursorScope, decodeCursor, errorResponses, iso, listQuery, listResponse, orderQuery, page } from '../common.js';

const AuditSchema = z.object({
  id: z.string(), ts: z.string(), actor: z.string(), action: z.string(), target: z.string(), details: z.record(z.string(), z.json()).optional(),
});

export const auditRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/audit', {
    config: { roles: ADMIN },
    schema: {
      tags: ['operations'],
      summary: 'Who did what, when: provisioning, credential rotation, API key and integration changes, alert actions. Newest first unless order=asc; action accepts a trailing * (device.*).',
      querystring: z.strictObject({
        actor: z.string().max(100).optional(), action: z.string().max(100).optional(), target: z.string().max(200).optional(),
        from: TimeParam.optional(), to: TimeParam.optional(), ...listQuery, ...orderQuery,
      }),
      response: { 200: listResponse(AuditSchema), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const q = req.query;
    const scope = cursorScope(q);
    const c = decodeCursor(q.cursor, scope);
    const items = await ctx.audit.query({ ...q, from: q.from ?? 0, to: q.to ?? 8.64e15, limit: q.limit + 1, order: q.order, afterId: c ? Number(c[0]) : undefined });
    return page(items, q.limit, (e) => [e.id], scope, (e) => ({ ...e, id: String(e.id), ts: iso(e.ts)!, ...(e.details ? { details: e.details as Record<string, never> } : {}) }));
  });
};
