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
    const desc = q.order === 'desc';
    const where = ['ts >= ?', 'ts < ?'];
    const args: Array<string | number> = [q.from ?? 0, q.to ?? 8.64e15];
    if (q.device !== undefined) { where.push('device_id = ?'); args.push(q.device); }
    // id order is arrival order (ts is the receive time of the same arrival)
    if (c) { where.push(`id ${desc ? '<' : '>'} ?`); args.push(Number(c[0])); }
    const rows = ctx.db.prepare(`SELECT id, ts, topic, client_id, device_id, reason, payload, payload_bytes, payload_sha256 FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ?`)
      .all(...args, q.limit + 1) as Array<{ id: number; ts: number; topic: string; client_id: string; device_id: string | null; reason: string; payload: Buffer; payload_bytes: number | null; payload_sha256: string | null }>;
    return page(rows, q.limit, (d) => [d.id], scope, (d) => ({
      id: String(d.id), ts: iso(d.ts)!, topic: d.topic, clientId: d.client_id, ...(d.device_id ? { deviceId: d.device_id } : {}),
      reason: d.reason, payloadBase64: Buffer.from(d.payload).toString('base64'),
      // the payload is kept up to ingest.deadLetters.maxPayloadBytes: its full size and hash
      payloadBytes: d.payload_bytes ?? Buffer.from(d.payload).length, ...(d.payload_sha256 ? { payloadSha256: d.payload_sha256 } : {}),
      truncated: (d.payload_bytes ?? 0) > Buffer.from(d.payload).length,
    }));
  });
};
