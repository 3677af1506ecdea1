import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../registry/api-keys.js';
import { RegistryError } from '../registry/devices.js';

/** Query time: ISO-8601 or epoch milliseconds (CONTRACT: REST). */
export const TimeParam = z.string().transform((s, ctx) => {
  const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15) {
    ctx.addIssue({ code: 'custom', message: 'must be ISO-8601 or epoch milliseconds' });
    return z.NEVER;
  }
  return ms;
});

export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export const ErrorSchema = z.object({
  error: z.string(),
  details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly details?: Array<{ field: string; message: string }>, readonly code?: string) {
    super(message);
  }
}

export function badRequest(field: string, message: string): HttpError {
  return new HttpError(400, `${field}: ${message}`, [{ field, message }]);
}

export function notFound(what: string): HttpError {
  return new HttpError(404, `${what} not found`);
}

export function fromRegistryError(err: RegistryError): HttpError {
  return new HttpError(err.status, err.message, err.field ? [{ field: err.field, message: err.message }] : undefined);
}

declare module 'fastify' {
  interface FastifyRequest {
    apiKey: { name: string; role: Role } | null;
  }
  interface FastifyContextConfig {
    /** roles allowed on this route; absent = no authentication (operations endpoints) */
    roles?: readonly Role[];
  }
}

export const READERS: readonly Role[] = ['admin', 'crew', 'integrator'];
export const ADMIN: readonly Role[] = ['admin'];
export const CREW: readonly Role[] = ['admin', 'crew'];

export function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  return reply.code(err.status).send({ error: err.message, ...(err.code ? { code: err.code } : {}), ...(err.details ? { details: err.details } : {}) });
}

/** Who acts, for the audit log and alert notes: the API key's name. */
export function actor(req: FastifyRequest): string {
  return req.apiKey?.name ?? 'anonymous';
}

export function wantsCsv(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/csv');
}
