import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from '../context.js';
import { READERS, TimeParam, iso } from '../common.js';
import { sitePrefixMatches } from './devices.js';

export const eventRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/events', {
    config: { roles: READERS },
    schema: {
      tags: ['telemetry'],
      summary: 'Door and parking events, oldest first',
      querystring: z.strictObject({
        device: z.string().max(200).optional(), type: z.string().max(64).optional(), site: z.string().max(300).optional(),
        from: TimeParam.optional(), to: TimeParam.optional(), limit: z.coerce.number().int().min(1).max(10_000).default(1000),
      }),
    },
  }, async (req) => {
    const q = req.query;
    const deviceIds = q.site === undefined ? undefined : [...ctx.registry.all()].filter((d) => sitePrefixMatches(d.site, q.site!)).map((d) => d.id);
    const events = await ctx.store.events({ deviceId: q.device, deviceIds, type: q.type, from: q.from ?? 0, to: q.to ?? 8.64e15, limit: q.limit });
    return { events: events.map((e) => ({ id: e.id, deviceId: e.deviceId, type: e.type, ts: iso(e.ts), data: e.data })) };
  });
};
