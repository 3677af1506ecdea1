import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from '../context.js';
import { ADMIN, TimeParam, iso } from '../common.js';

export const auditRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/audit', {
    config: { roles: ADMIN },
    schema: {
      tags: ['operations'],
      summary: 'Who did what, when: provisioning, credential rotation, API key and integration changes, alert actions. Newest first; action accepts a trailing * (device.*).',
      querystring: z.strictObject({
        actor: z.string().max(100).optional(), action: z.string().max(100).optional(), target: z.string().max(200).optional(),
        from: TimeParam.optional(), to: TimeParam.optional(), limit: z.coerce.number().int().min(1).max(10_000).default(100),
      }),
    },
  }, async (req) => {
    const q = req.query;
    const items = await ctx.audit.query({ ...q, from: q.from ?? 0, to: q.to ?? 8.64e15 });
    return { items: items.map((e) => ({ ...e, id: String(e.id), ts: iso(e.ts) })) };
  });
};
