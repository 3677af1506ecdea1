import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { INTEGRATION_TYPES } from '../../registry/integrations.js';
import { DeviceIdSchema } from '../../core/ids.js';
import type { ApiContext } from '../context.js';
import { ADMIN, AUTH_ERRORS, NoContent, actor, cursorScope, decodeCursor, errorResponses, iso, listQuery, listResponse, notFound, page } from '../common.js';

const IntegrationSchema = z.object({ id: z.string(), type: z.enum(INTEGRATION_TYPES), createdAt: z.string().nullable() });

export const integrationRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post('/integrations', {
    config: { roles: ADMIN },
    schema: {
      tags: ['integrations'], summary: 'MQTT credentials for a LoRaWAN network server; it may publish only to its format\'s uplink topics',
      body: z.strictObject({ id: DeviceIdSchema, type: z.enum(INTEGRATION_TYPES) }),
      response: {
        201: z.object({ integration: IntegrationSchema, credentials: z.object({ username: z.string(), password: z.string().describe('shown only here') }) }),
        ...errorResponses(400, 409, ...AUTH_ERRORS),
      },
    },
  }, async (req, reply) => {
    const { integration, username, password } = await ctx.integrations.create(req.body.id, req.body.type);
    ctx.audit.record(actor(req), 'integration.create', integration.id, { type: integration.type });
    return reply.code(201).send({ integration: { ...integration, createdAt: iso(integration.createdAt) }, credentials: { username, password } });
  });
  r.get('/integrations', {
    config: { roles: ADMIN },
    schema: {
      tags: ['integrations'], summary: 'Integrations by id', querystring: z.strictObject({ ...listQuery }),
      response: { 200: listResponse(IntegrationSchema), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const scope = cursorScope(req.query);
    const after = decodeCursor(req.query.cursor, scope)?.[0];
    const rows = ctx.integrations.list().filter((i) => after === undefined || i.id > String(after)).sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, req.query.limit + 1);
    return page(rows, req.query.limit, (i) => [i.id], scope, (i) => ({ ...i, createdAt: iso(i.createdAt) }));
  });
  r.delete('/integrations/:id', {
    config: { roles: ADMIN },
    schema: {
      tags: ['integrations'], summary: 'Delete an integration; its credentials stop working at once', params: z.object({ id: z.string().max(200) }),
      response: { 204: NoContent, ...errorResponses(400, 404, ...AUTH_ERRORS) },
    },
  }, async (req, reply) => {
    if (!ctx.integrations.get(req.params.id)) throw notFound(`integration ${req.params.id}`, 'params.id');
    await ctx.integrations.delete(req.params.id);
    ctx.audit.record(actor(req), 'integration.delete', req.params.id);
    return reply.code(204).send(null);
  });
};
