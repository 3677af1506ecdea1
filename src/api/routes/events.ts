import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from '../context.js';
import { AUTH_ERRORS, READERS, TimeParam, cursorScope, decodeCursor, errorResponses, iso, listQuery, listResponse, orderQuery, page } from '../common.js';
import { EVENT_TYPES } from '../../core/vocabulary.js';
import { sitePrefixMatches } from './devices.js';

export const EventSchema = z.object({
  id: z.string(), deviceId: z.string(), type: z.enum(EVENT_TYPES), ts: z.string(), data: z.record(z.string(), z.json()),
});

export const eventRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/events', {
    config: { roles: READERS },
    schema: {
      tags: ['telemetry'],
      summary: 'Door and parking events (and device_info frames), newest first unless order=asc',
      querystring: z.strictObject({
        device: z.string().max(200).optional(),
        type: z.enum(EVENT_TYPES, { error: `unknown event type (one of ${EVENT_TYPES.join(', ')})` }).optional(),
        site: z.string().max(300).optional(),
        from: TimeParam.optional(), to: TimeParam.optional(), ...listQuery, ...orderQuery,
      }),
      response: { 200: listResponse(EventSchema), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const q = req.query;
    const scope = cursorScope(q);
    const c = decodeCursor(q.cursor, scope);
    const deviceIds = q.site === undefined ? undefined : [...ctx.registry.all()].filter((d) => sitePrefixMatches(d.site, q.site!)).map((d) => d.id);
    const events = await ctx.store.events({
      deviceId: q.device, deviceIds, type: q.type, from: q.from ?? 0, to: q.to ?? 8.64e15, limit: q.limit + 1,
      order: q.order, ...(c ? { after: { ts: Number(c[0]), id: String(c[1]) } } : {}),
    });
    return page(events, q.limit, (e) => [e.ts, e.id], scope, (e) => ({ id: e.id, deviceId: e.deviceId, type: e.type as z.infer<typeof EventSchema>['type'], ts: iso(e.ts)!, data: e.data as Record<string, never> }));
  });
};
