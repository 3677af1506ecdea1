import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from '../context.js';
import { ADMIN, TimeParam, iso } from '../common.js';

export const deadLetterRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/dead-letters', {
    config: { roles: ADMIN },
    schema: {
      tags: ['operations'],
      summary: 'Messages that could not be decoded, newest first',
      querystring: z.strictObject({
        limit: z.coerce.number().int().min(1).max(10_000).default(100),
        device: z.string().max(200).optional(), from: TimeParam.optional(), to: TimeParam.optional(),
      }),
    },
  }, async (req) => {
    const q = req.query;
    const where = ['ts >= ?', 'ts < ?'];
    const args: Array<string | number> = [q.from ?? 0, q.to ?? 8.64e15];
    if (q.device !== undefined) { where.push('device_id = ?'); args.push(q.device); }
    const rows = ctx.db.prepare(`SELECT id, ts, topic, client_id, device_id, reason, payload, payload_bytes, payload_sha256 FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`)
      .all(...args, q.limit) as Array<{ id: number; ts: number; topic: string; client_id: string; device_id: string | null; reason: string; payload: Buffer; payload_bytes: number | null; payload_sha256: string | null }>;
    return {
      items: rows.map((d) => ({
        id: String(d.id), ts: iso(d.ts), topic: d.topic, clientId: d.client_id, ...(d.device_id ? { deviceId: d.device_id } : {}),
        reason: d.reason, payloadBase64: Buffer.from(d.payload).toString('base64'),
        // the payload is kept up to ingest.deadLetters.maxPayloadBytes: its full size and hash
        payloadBytes: d.payload_bytes ?? Buffer.from(d.payload).length, ...(d.payload_sha256 ? { payloadSha256: d.payload_sha256 } : {}),
        truncated: (d.payload_bytes ?? 0) > Buffer.from(d.payload).length,
      })),
    };
  });
};
