/**
 * The REST API as a fastify plugin-style factory: schemas are zod (validation, types and
 * the OpenAPI document from one source), authentication is a bearer API key checked once
 * per request, and every error has the CONTRACT's shape {"error", "code", "details"?}
 * (src/api/common.ts: ErrorCode, errorResponses, the list envelope and its cursors).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError, jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { HttpError, sendError, fromRegistryError, ERROR_CODES, type ErrorDetail } from './common.js';
import { RegistryError } from '../registry/devices.js';
import { StoreUnavailableError } from '../storage/repositories/types.js';
import type { ApiContext } from './context.js';
import { deviceRoutes } from './routes/devices.js';
import { modelRoutes } from './routes/models.js';
import { telemetryRoutes } from './routes/telemetry.js';
import { eventRoutes } from './routes/events.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { integrationRoutes } from './routes/integrations.js';
import { operationsRoutes } from './routes/operations.js';
import { siteRoutes } from './routes/sites.js';
import { auditRoutes } from './routes/audit.js';
import { connectorRoutes } from './routes/connectors.js';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { readFileSync } from 'node:fs';
import { sha256 } from '../registry/secrets.js';
import { AuthFailureLimiter, redactUrl } from './auth-failures.js';

export interface AppOptions {
  log: Logger;
  bodyLimit: number;
  rateLimitPerMinute: number;
  /** failed authentications per address and minute before 429 (0 = no limit) */
  authFailuresPerMinute?: number;
  tls?: { cert: string; key: string };
}

export async function buildApp(ctx: ApiContext, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // one line per request is noise at info level; debug and trace keep request logs
    loggerInstance: opts.log.child({ component: 'http' }, {
      level: opts.log.levelVal >= 30 ? 'warn' : opts.log.level,
      // fastify's request serializer with the SSE ?token= taken out of the URL, at every level
      serializers: {
        req: (req: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }) => ({
          method: req.method, url: redactUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort,
        }),
      },
    }) as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit,
    ...(opts.tls ? { https: { cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) } } : {}),
    ajv: { customOptions: { coerceTypes: false } },
    // device ids are up to 128 characters, site paths 300 (find-my-way's default is 100)
    routerOptions: { maxParamLength: 320 },
    // errors the router raises before a route runs: the same shape and codes as every other
    frameworkErrors: (err, _req, reply) => {
      const message = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path segment is longer than 320 characters' : 'the URL is not valid (bad percent-encoding?)';
      return sendError(reply, new HttpError(400, `url: ${message}`, [{ field: 'url', message }], 'VALIDATION_FAILED'));
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Estate telemetry gateway', version: '2',
        description: 'Devices, telemetry, events, alerts of a residential smart community. Every list answers {"items": [...], "next": cursor | null} '
          + '(?limit= 1-1000, default 100; ?cursor= the previous page\'s next); records are newest first unless ?order=asc. '
          + `Every error is {"error", "code", "details"?}; codes: ${ERROR_CODES.join(', ')}.`,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: (doc) => {
      const out = jsonSchemaTransform(doc);
      // the summary is a wildcard route (a site path has slashes); document it as what it is
      if (out.url === '/api/v1/sites/*') return { ...out, url: '/api/v1/sites/{path}/summary', schema: { ...out.schema, params: SITE_PATH_PARAM } };
      return out;
    },
    transformObject: (doc) => {
      // components.schemas: the shared Error schema referenced by every 4xx
      const spec = jsonSchemaTransformObject(doc) as { paths?: Record<string, Record<string, { responses?: Record<string, { content?: unknown }> }>> };
      // 204 has no body: @fastify/swagger would describe the null schema as JSON content
      for (const ops of Object.values(spec.paths ?? {})) for (const op of Object.values(ops)) if (op.responses?.['204']) delete op.responses['204'].content;
      return spec as never;
    },
  });
  // security headers on every response; the OpenAPI UI sets its own CSP for its assets
  await app.register(helmet, { global: true, hsts: opts.tls ? undefined : false });
  // Swagger UI sets inline styles (element style attributes) as it renders: its own CSP,
  // with style-src allowing them, or Chromium logs a refusal for each (scripts stay 'self' only)
  await app.register(swaggerUi, {
    routePrefix: '/docs', staticCSP: true,
    transformStaticCSP: (header) => header.replace(/style-src [^;]*/, "style-src 'self' 'unsafe-inline'"),
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.decorateRequest('apiKey', null);
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => done(null, body));
  // an empty JSON body is no body (POST /alerts/{id}/ack with its optional note left out), not a parse error
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => (body === '' ? done(null, undefined) : json(req, body as string, done)));

  const authFailures = new AuthFailureLimiter(opts.authFailuresPerMinute ?? 30, ctx.clock);
  app.addHook('onRequest', async (req, reply) => {
    const roles = req.routeOptions.config?.roles;
    if (!roles) return;
    const wait = authFailures.retryAfterS(req.ip);
    if (wait > 0) {
      ctx.metrics.httpRefusals.inc({ reason: 'auth_failures' });
      reply.header('retry-after', String(wait));
      return sendError(reply, new HttpError(429, `too many failed authentications from this address; retry in ${wait} s`));
    }
    const header = req.headers.authorization;
    let token: string | undefined;
    if (header?.startsWith('Bearer ')) token = header.slice(7).trim();
    else if (req.routeOptions.url?.endsWith('/stream')) token = (req.query as Record<string, string> | undefined)?.token;
    const key = token ? ctx.apiKeys.authenticate(token) : undefined;
    if (!key) {
      authFailures.failed(req.ip);
      ctx.metrics.httpRefusals.inc({ reason: 'unauthorized' });
      return sendError(reply, new HttpError(401, token ? 'invalid API token' : 'missing bearer token'));
    }
    if (!roles.includes(key.role)) {
      ctx.metrics.httpRefusals.inc({ reason: 'forbidden' });
      return sendError(reply, new HttpError(403, `role ${key.role} may not ${req.method} ${req.routeOptions.url}`));
    }
    req.apiKey = { name: key.name, role: key.role };
  });

  // request count and latency by route pattern: never the raw URL (ids would make a series each)
  app.addHook('onResponse', async (req, reply) => {
    const url = req.routeOptions.url;
    const route = url === undefined ? 'unmatched' : url === '/api/v1/sites/*' ? '/api/v1/sites/{path}/summary' : url.replace(/:([A-Za-z]+)/g, '{$1}');
    const labels = { route, method: req.method, status: String(reply.statusCode) };
    ctx.metrics.httpRequests.inc(labels);
    ctx.metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = (err as { validationContext?: string }).validationContext ?? 'request';
      const details = err.validation.flatMap((v) => validationDetails(where, v));
      // a value outside a known set (an enum: event type, kind, severity, status) is UNKNOWN_VALUE
      const unknown = err.validation.every((v) => v.keyword === 'invalid_value' || (v.keyword === 'custom' && /^unknown /.test(v.message ?? '')));
      return sendError(reply, new HttpError(400, `${details[0]!.field}: ${details[0]!.message}`, details, unknown ? 'UNKNOWN_VALUE' : 'VALIDATION_FAILED'));
    }
    if (err instanceof HttpError) return sendError(reply, err);
    if (err instanceof RegistryError) return sendError(reply, fromRegistryError(err));
    if (err instanceof StoreUnavailableError) {
      req.log.warn({ err: err.detail }, err.message);
      return sendError(reply, new HttpError(503, err.message));
    }
    if (isResponseSerializationError(err as never)) {
      req.log.error({ err, cause: (err as { cause?: unknown }).cause }, 'response does not match its schema');
      return sendError(reply, new HttpError(500, 'internal error'));
    }
    const e = err as { statusCode?: number; message: string; code?: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      ctx.metrics.httpRefusals.inc({ reason: 'body_too_large' });
      return sendError(reply, new HttpError(413, `request body larger than ${opts.bodyLimit} bytes`, [{ field: 'body', message: `larger than ${opts.bodyLimit} bytes` }]));
    }
    if (e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
      return sendError(reply, new HttpError(400, `body: ${e.message}`, [{ field: 'body', message: e.message }], 'INVALID_BODY'));
    }
    if (e.statusCode === 415) return sendError(reply, new HttpError(415, e.message, [{ field: 'headers.content-type', message: e.message }]));
    if (e.statusCode === 429) return sendError(reply, new HttpError(429, e.message));
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return sendError(reply, new HttpError(e.statusCode, e.message));
    req.log.error({ err }, 'request failed');
    return sendError(reply, new HttpError(500, 'internal error'));
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    return sendError(reply, new HttpError(404, `no route ${req.method} ${path}`, [{ field: 'url', message: `no route ${req.method} ${path} (see /openapi.json)` }], 'NOT_FOUND'));
  });

  await app.register(operationsRoutes(ctx));
  await app.register((await import('./console.js')).consoleRoutes()); // web console at /, uPlot at /vendor/uplot/ (docs/console.md)
  await app.register(async (api) => {
    if (opts.rateLimitPerMinute > 0) {
      // per API key (its hash; the token never reaches the limiter's store), else per address
      await api.register(rateLimit, {
        max: opts.rateLimitPerMinute,
        timeWindow: 60_000,
        keyGenerator: (req) => {
          const h = req.headers.authorization;
          return h?.startsWith('Bearer ') ? `key:${sha256(h.slice(7).trim())}` : `ip:${req.ip}`;
        },
        onExceeded: () => ctx.metrics.httpRefusals.inc({ reason: 'rate_limited' }),
        errorResponseBuilder: (_req, c) => Object.assign(new Error(`rate limit: at most ${c.max} requests per minute per API key; retry in ${Math.ceil(c.ttl / 1000)} s`), { statusCode: 429 }),
      });
    }
    await api.register(deviceRoutes(ctx));
    await api.register(modelRoutes(ctx));
    await api.register(telemetryRoutes(ctx));
    await api.register(eventRoutes(ctx));
    await api.register(deadLetterRoutes(ctx));
    await api.register(apiKeyRoutes(ctx));
    await api.register(integrationRoutes(ctx));
    await api.register(siteRoutes(ctx));
    await api.register(auditRoutes(ctx));
    await api.register(connectorRoutes(ctx));
    for (const extra of ctx.extraRoutes ?? []) await api.register(extra(ctx));
  }, { prefix: '/api/v1' });
  return app as unknown as FastifyInstance;
}

const SITE_PATH_PARAM = {
  type: 'object', required: ['path'],
  properties: { path: { type: 'string', description: 'site path, 1-4 levels community/compound/building/unit; slashes as they are (jiangnan/yuhua-garden) or %2F-encoded' } },
};

/** zod issues as {field, message}: the field is where it is (body.id, querystring.limit); an unknown key is named itself. */
function validationDetails(where: string, v: { instancePath: string; message?: string; keyword?: string; params?: Record<string, unknown> }): ErrorDetail[] {
  const at = `${where}${v.instancePath.replace(/\//g, '.')}`.replace(/\.$/, '');
  if (v.keyword === 'unrecognized_keys' && Array.isArray(v.params?.keys)) {
    return (v.params.keys as string[]).map((k) => ({ field: `${at}.${k}`, message: 'unknown key' }));
  }
  return [{ field: at, message: v.message ?? 'invalid' }];
}
