/** GET /api/v1/connectors (CONTRACT v2 "Field connectors"): each connector's link and its devices' last poll. */
import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from '../context.js';
import { ErrorSchema, READERS, iso } from '../common.js';

const ConnectorJson = z.object({
  name: z.string(),
  type: z.enum(['modbus-tcp', 'modbus-rtu-tcp', 'dlt645-tcp', 'cjt188-tcp']),
  status: z.enum(['connecting', 'connected', 'disconnected', 'stopped']),
  lastPollAt: z.string().nullable(),
  devices: z.array(z.object({ id: z.string(), lastOkAt: z.string().nullable(), lastError: z.string().nullable() })),
});

export const connectorRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/connectors', {
    config: { roles: READERS },
    schema: {
      tags: ['operations'],
      summary: 'Field connectors (config `connectors`): link status, last poll, and per device the last good poll and the last error',
      querystring: z.strictObject({
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        /** the `next` of the previous page: the name of its last connector */
        cursor: z.string().max(200).optional(),
      }),
      response: { 200: z.object({ items: z.array(ConnectorJson), next: z.string().nullable() }), 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema },
    },
  }, async (req) => {
    const all = ctx.connectors?.snapshot() ?? [];
    let start = 0;
    if (req.query.cursor !== undefined) {
      const cursor = Buffer.from(req.query.cursor, 'base64url').toString('utf8');
      start = all.findIndex((c) => c.name > cursor);
      if (start < 0) start = all.length;
    }
    const page = all.slice(start, start + req.query.limit);
    const more = start + page.length < all.length;
    return {
      items: page.map((c) => ({
        name: c.name, type: c.type, status: c.status, lastPollAt: iso(c.lastPollAt),
        devices: c.devices.map((d) => ({ id: d.id, lastOkAt: iso(d.lastOkAt), lastError: d.lastError })),
      })),
      next: more ? Buffer.from(page[page.length - 1]!.name).toString('base64url') : null,
    };
  });
};
