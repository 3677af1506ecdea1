import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ROLES } from '../../registry/api-keys.js';
import type { ApiContext } from '../context.js';
import { ADMIN, READERS, actor, iso } from '../common.js';

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/, 'must be 1-64 characters: letters, digits, _ . @ -');

export const apiKeyRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post('/api-keys', { config: { roles: ADMIN }, schema: { tags: ['api keys'], summary: 'Create an API key; the token is shown once', body: z.strictObject({ name: Name, role: z.enum(ROLES) }) } }, async (req, reply) => {
    const { key, token } = await ctx.apiKeys.create(req.body.name, req.body.role);
    ctx.audit.record(actor(req), 'api-key.create', key.name, { role: key.role });
    return reply.code(201).send({ name: key.name, role: key.role, token, createdAt: iso(key.createdAt) });
  });
  // what a client (the web console) needs to know of its own key: its name and role
  r.get('/whoami', { config: { roles: READERS }, schema: { tags: ['api keys'], summary: 'The name and role of the calling API key' } }, async (req) => ({
    name: req.apiKey!.name, role: req.apiKey!.role,
  }));
  r.get('/api-keys', { config: { roles: ADMIN }, schema: { tags: ['api keys'] } }, async () => ({
    keys: ctx.apiKeys.list().map((k) => ({ name: k.name, role: k.role, createdAt: iso(k.createdAt) })),
  }));
  r.delete('/api-keys/:name', { config: { roles: ADMIN }, schema: { tags: ['api keys'], params: z.object({ name: z.string().max(100) }) } }, async (req, reply) => {
    await ctx.apiKeys.delete(req.params.name);
    ctx.audit.record(actor(req), 'api-key.delete', req.params.name);
    return reply.code(204).send();
  });
};
