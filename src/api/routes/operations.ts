import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from '../context.js';

export const operationsRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/healthz', {
    schema: { tags: ['operations'], summary: '200 while the process runs', security: [], response: { 200: z.object({ status: z.literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));
  r.get('/readyz', {
    schema: {
      tags: ['operations'], security: [],
      summary: '200 when the broker listens and the store accepts writes (status degraded when writes are spooled); 503 otherwise',
      response: {
        200: z.object({ status: z.enum(['ready', 'degraded']), reason: z.string().optional() }),
        503: z.object({ status: z.literal('unavailable'), reason: z.string().optional() }).describe('not ready, with the reason'),
      },
    },
  }, async (_req, reply) => {
    const s = ctx.readiness();
    if (!s.ok) return reply.code(503).send({ status: 'unavailable' as const, reason: s.reason });
    return { status: s.degraded ? 'degraded' as const : 'ready' as const, ...(s.reason ? { reason: s.reason } : {}) };
  });
  r.get('/metrics', {
    schema: {
      tags: ['operations'], security: [], summary: 'Prometheus metrics (text exposition format; docs/operations.md lists them)',
      response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } } },
    },
  }, async (_req, reply) => {
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
};
