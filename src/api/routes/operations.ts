import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.js';

export const operationsRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  app.get('/healthz', { schema: { tags: ['operations'], summary: '200 while the process runs' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['operations'], summary: '200 when the broker listens and the store accepts writes (status degraded when writes are spooled); 503 otherwise' } }, async (_req, reply) => {
    const r = ctx.readiness();
    if (!r.ok) return reply.code(503).send({ status: 'unavailable', reason: r.reason });
    return { status: r.degraded ? 'degraded' : 'ready', ...(r.reason ? { reason: r.reason } : {}) };
  });
  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
};
