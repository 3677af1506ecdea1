import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from '../context.js';
import { ADMIN, AUTH_ERRORS, TimeParam, cursorScope, decodeCursor, errorResponses, iso, listQuery, listResponse, orderQuery, page } from '../common.js';

const DeadLetterSchema = z.object({
  id: z.string(), ts: z.string(), topic: z.string(), clientId: z.string(), deviceId: z.string().optional(),
  reason: z.string(), payloadBase64: z.string(),
  /** the original payload's size and sha256: the stored payload is cut at ingest.deadLetters.maxPayloadBytes */
  payloadBytes: z.number().int(), payloadSha256: z.string().optional(), truncated: z.boolean(),
});

export const deadLetterRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/dead-letters', {
    config: { roles: ADMIN },
    schema: {
      tags: ['operations'],
      summary: 'Messages that could not be decoded (and readings a store refused), with the reason; newest first unless order=asc',
      querystring: z.strictObject({
        device: z.string().max(200).optional(), from: TimeParam.optional(), to: TimeParam.optional(), ...listQuery, ...orderQuery,
      }),
      response: { 200: listResponse(DeadLetterSchema), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const q = req.query;
    const scope = cursorScope(q);
    const c = decodeCursor(q.cursor, scope);
    // id order is arrival order (ts is the receive time of the same arrival)
    const rows = await ctx.deadLetters.query({
      from: q.from ?? 0, to: q.to ?? 8.64e15, deviceId: q.device, order: q.order === 'desc' ? 'desc' : 'asc', afterId: c ? Number(c[0]) : undefined, limit: q.limit + 1,
    });
    return page(rows, q.limit, (d) => [d.id], scope, (d) => ({
      id: String(d.id), ts: iso(d.ts)!, topic: d.topic, clientId: d.clientId, ...(d.deviceId ? { deviceId: d.deviceId } : {}),
      reason: d.reason, payloadBase64: d.payload.toString('base64'),
      // the payload is kept up to ingest.deadLetters.maxPayloadBytes: its full size and hash
      payloadBytes: d.payloadBytes ?? d.payload.length, ...(d.payloadSha256 ? { payloadSha256: d.payloadSha256 } : {}),
      truncated: (d.payloadBytes ?? 0) > d.payload.length,
    }));
  });
};
