import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ROLES } from '../../registry/api-keys.js';
import type { ApiContext } from '../context.js';
import { ADMIN, AUTH_ERRORS, NoContent, READERS, actor, cursorScope, decodeCursor, errorResponses, iso, listQuery, listResponse, notFound, page } from '../common.js';

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/, 'must be 1-64 characters: letters, digits, _ . @ -');
const ApiKeySchema = z.object({ name: z.string(), role: z.enum(ROLES), createdAt: z.string().nullable() });

export const apiKeyRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post('/api-keys', {
    config: { roles: ADMIN },
    schema: {
      tags: ['api keys'], summary: 'Create an API key; the token is shown once', body: z.strictObject({ name: Name, role: z.enum(ROLES) }),
      response: { 201: ApiKeySchema.extend({ token: z.string().describe('shown only here') }), ...errorResponses(400, 409, ...AUTH_ERRORS) },
    },
  }, async (req, reply) => {
    const { key, token } = await ctx.apiKeys.create(req.body.name, req.body.role);
    ctx.audit.record(actor(req), 'api-key.create', key.name, { role: key.role });
    return reply.code(201).send({ name: key.name, role: key.role, token, createdAt: iso(key.createdAt) });
  });
  // what a client (the web console) needs to know of its own key: its name and role, and the
  // estate's time zone its times are shown in
  r.get('/whoami', {
    config: { roles: READERS },
    schema: {
      tags: ['api keys'], summary: 'The name and role of the calling API key, and the estate\'s time zone',
      response: { 200: z.object({ name: z.string(), role: z.enum(ROLES), timezone: z.string().describe('retention.timezone: the zone of daily rollups, reports and channel messages') }), ...errorResponses(...AUTH_ERRORS) },
    },
  }, async (req) => ({ name: req.apiKey!.name, role: req.apiKey!.role, timezone: ctx.timezone ?? 'UTC' }));
  r.get('/api-keys', {
    config: { roles: ADMIN },
    schema: {
      tags: ['api keys'], summary: 'API keys by name (never their tokens)', querystring: z.strictObject({ ...listQuery }),
      response: { 200: listResponse(ApiKeySchema), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const scope = cursorScope(req.query);
    const after = decodeCursor(req.query.cursor, scope)?.[0];
    const rows = ctx.apiKeys.list().filter((k) => after === undefined || k.name > String(after)).sort((a, b) => (a.name < b.name ? -1 : 1)).slice(0, req.query.limit + 1);
    return page(rows, req.query.limit, (k) => [k.name], scope, (k) => ({ name: k.name, role: k.role, createdAt: iso(k.createdAt) }));
  });
  r.delete('/api-keys/:name', {
    config: { roles: ADMIN },
    schema: {
      tags: ['api keys'], summary: 'Revoke an API key at once', params: z.object({ name: z.string().max(100) }),
      response: { 204: NoContent, ...errorResponses(400, 404, ...AUTH_ERRORS) },
    },
  }, async (req, reply) => {
    if (!ctx.apiKeys.list().some((k) => k.name === req.params.name)) throw notFound(`API key ${req.params.name}`, 'params.name');
    await ctx.apiKeys.delete(req.params.name);
    ctx.audit.record(actor(req), 'api-key.delete', req.params.name);
    return reply.code(204).send(null);
  });
};
