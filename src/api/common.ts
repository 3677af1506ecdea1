import { createHash } from 'node:crypto';
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

// --- errors (CONTRACT v2 "Lists and errors": {"error", "code", "details"?}) ---

/** Every code an error response may carry; listed in OpenAPI through ErrorSchema. */
export const ErrorCode = {
  /** a body, query or path parameter fails its schema; details name the field (body.id, querystring.limit) */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** the body is not parseable JSON / CSV */
  INVALID_BODY: 'INVALID_BODY',
  /** a value outside a set the gateway knows: event type, metric of the model, rule, site */
  UNKNOWN_VALUE: 'UNKNOWN_VALUE',
  /** a ?cursor= that this listing did not hand out (or for other filters) */
  INVALID_CURSOR: 'INVALID_CURSOR',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** CONTRACT v2 "Decoding without a device" */
  DECODE_FAILED: 'DECODE_FAILED',
  /** user codecs (POST /api/v1/models): the definition is refused, or the model is unknown, taken, built in or in use */
  INVALID_MODEL: 'INVALID_MODEL',
  MODEL_NOT_FOUND: 'MODEL_NOT_FOUND',
  MODEL_CONFLICT: 'MODEL_CONFLICT',
  MODEL_BUILTIN: 'MODEL_BUILTIN',
  MODEL_IN_USE: 'MODEL_IN_USE',
  RATE_LIMITED: 'RATE_LIMITED',
  INTERNAL: 'INTERNAL',
  UNAVAILABLE: 'UNAVAILABLE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
export const ERROR_CODES = Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]];

const DEFAULT_CODE: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 409: 'CONFLICT', 413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE', 422: 'DECODE_FAILED', 429: 'RATE_LIMITED', 500: 'INTERNAL', 503: 'UNAVAILABLE',
};

export const ErrorDetailSchema = z.object({ field: z.string(), message: z.string() });
export type ErrorDetail = z.infer<typeof ErrorDetailSchema>;

export const ErrorSchema = z.object({
  error: z.string().describe('human-readable, names the field and the reason'),
  code: z.enum(ERROR_CODES),
  details: z.array(ErrorDetailSchema).optional(),
  /** DECODE_FAILED: the dead-letter reason */
  reason: z.string().optional(),
}).meta({ id: 'Error' });

export class HttpError extends Error {
  readonly code: ErrorCode;
  constructor(readonly status: number, message: string, readonly details?: ErrorDetail[], code?: ErrorCode, readonly extra?: { reason?: string }) {
    super(message);
    this.code = code ?? DEFAULT_CODE[status] ?? (status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED');
  }
}

export function badRequest(field: string, message: string, code: ErrorCode = 'VALIDATION_FAILED'): HttpError {
  return new HttpError(400, `${field}: ${message}`, [{ field, message }], code);
}

/** 400 for a value outside a set the gateway knows (CONTRACT v2: not an empty 200). */
export function unknownValue(field: string, message: string): HttpError {
  return badRequest(field, message, 'UNKNOWN_VALUE');
}

export function notFound(what: string, field?: string): HttpError {
  return new HttpError(404, `${what} not found`, field ? [{ field, message: `${what} not found` }] : undefined, 'NOT_FOUND');
}

/** Registry errors name the body field without its location; the REST answer says body.<field>. */
export function fromRegistryError(err: RegistryError, where = 'body'): HttpError {
  const field = err.field ? (err.status === 404 ? err.field : `${where}.${err.field}`) : undefined;
  return new HttpError(err.status, field && !err.message.startsWith(field) ? `${field}: ${err.message}` : err.message, field ? [{ field, message: err.message }] : undefined);
}

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request: VALIDATION_FAILED (details name the field), INVALID_BODY, UNKNOWN_VALUE, INVALID_CURSOR',
  401: 'UNAUTHORIZED: missing or unknown API token',
  403: 'FORBIDDEN: the key\'s role may not do this',
  404: 'NOT_FOUND',
  409: 'CONFLICT: exists already, or not in a state that allows this',
  413: 'PAYLOAD_TOO_LARGE: body above http.bodyLimitBytes',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'DECODE_FAILED, with the dead-letter reason',
  429: 'RATE_LIMITED: above http.rateLimitPerMinute',
  503: 'UNAVAILABLE',
};

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503;

/** Response schemas of error statuses, for a route's `schema.response`: {...errorResponses(400, 404)} */
export function errorResponses(...statuses: ErrorStatus[]): Partial<Record<ErrorStatus, z.ZodType>> {
  const out: Partial<Record<ErrorStatus, z.ZodType>> = {};
  for (const s of statuses) out[s] = ErrorSchema.describe(ERROR_TEXT[s]!);
  return out;
}

/** 401 / 403 / 429: what every authenticated /api/v1 route can answer */
export const AUTH_ERRORS: ErrorStatus[] = [401, 403, 429];

/** 204 in OpenAPI: no body */
export const NoContent = z.null().describe('No content');

export function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  return reply.code(err.status).send({ error: err.message, code: err.code, ...(err.details ? { details: err.details } : {}), ...(err.extra ?? {}) });
}

// --- lists (CONTRACT v2: {"items", "next"}, ?limit= default 100 max 1000, ?cursor=) ---

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** Querystring fragment of every list: spread it into the route's querystring object. */
export const listQuery = {
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT).describe(`page size, 1-${MAX_LIMIT} (default ${DEFAULT_LIMIT})`),
  cursor: z.string().min(1).max(2000).optional().describe('the `next` of the previous page'),
};

/** Record lists (events, alerts, dead letters, audit, silences): newest first unless asc. */
export const orderQuery = {
  order: z.enum(['desc', 'asc']).default('desc').describe('desc (default): newest first'),
};

export function listResponse<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    next: z.string().nullable().describe('pass as ?cursor= for the next page; null on the last page'),
  });
}

/**
 * Opaque keyset cursor: the sort key of the last item handed out, plus a digest of the
 * listing's filters and order, so a cursor is only accepted by the listing that made it.
 */
export function encodeCursor(position: ReadonlyArray<string | number>, scope = ''): string {
  return Buffer.from(JSON.stringify({ p: position, s: digest(scope) })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, scope = ''): Array<string | number> | undefined {
  if (cursor === undefined) return undefined;
  const bad = () => badRequest('querystring.cursor', 'not a cursor of this listing (pass `next` unchanged, with the same filters)', 'INVALID_CURSOR');
  let parsed: unknown;
  try { parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')); } catch { throw bad(); }
  const ok = z.object({ p: z.array(z.union([z.string().max(1000), z.number()])).min(1).max(4), s: z.string() }).safeParse(parsed);
  if (!ok.success || ok.data.s !== digest(scope)) throw bad();
  return ok.data.p;
}

/** A scope string of the filters that shape a listing (not limit/cursor). */
export function cursorScope(query: Record<string, unknown>): string {
  const { limit: _l, cursor: _c, ...rest } = query;
  return JSON.stringify(Object.keys(rest).sort().map((k) => [k, rest[k]]));
}

function digest(s: string): string {
  return createHash('sha256').update(s).digest('base64url').slice(0, 12);
}

/**
 * One page from rows fetched with limit + 1: the extra row only says there is more.
 * `key` is the sort key of a row (what the next page continues after).
 */
export function page<T, U = T>(rows: T[], limit: number, key: (row: T) => ReadonlyArray<string | number>, scope = '', map?: (row: T) => U): { items: U[]; next: string | null } {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return {
    items: map ? kept.map(map) : (kept as unknown as U[]),
    next: more ? encodeCursor(key(kept[kept.length - 1]!), scope) : null,
  };
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

/** Who acts, for the audit log and alert notes: the API key's name. */
export function actor(req: FastifyRequest): string {
  return req.apiKey?.name ?? 'anonymous';
}

export function wantsCsv(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/csv');
}
