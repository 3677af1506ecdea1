import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { INTEGRATION_TYPES } from '../../registry/integrations.js';
import { DeviceIdSchema } from '../../core/ids.js';
import type { ApiContext } from '../context.js';
import { ADMIN, actor, iso } from '../common.js';

export const integrationRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post('/integrations', {
    config: { roles: ADMIN },
    schema: { tags: ['integrations'], summary: 'MQTT credentials for a LoRaWAN network server; it may publish only to its format\'s uplink topics', body: z.strictObject({ id: DeviceIdSchema, type: z.enum(INTEGRATION_TYPES) }) },
  }, async (req, reply) => {
    const { integration, username, password } = await ctx.integrations.create(req.body.id, req.body.type);
    ctx.audit.record(actor(req), 'integration.create', integration.id, { type: integration.type });
    return reply.code(201).send({ integration: { ...integration, createdAt: iso(integration.createdAt) }, credentials: { username, password } });
  });
  r.get('/integrations', { config: { roles: ADMIN }, schema: { tags: ['integrations'] } }, async () => ({
    integrations: ctx.integrations.list().map((i) => ({ ...i, createdAt: iso(i.createdAt) })),
  }));
  r.delete('/integrations/:id', { config: { roles: ADMIN }, schema: { tags: ['integrations'], params: z.object({ id: z.string().max(200) }) } }, async (req, reply) => {
    await ctx.integrations.delete(req.params.id);
    ctx.audit.record(actor(req), 'integration.delete', req.params.id);
    return reply.code(204).send();
  });
};
