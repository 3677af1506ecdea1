/**
 * The REST API as a fastify plugin-style factory: schemas are zod (validation, types and
 * the OpenAPI document from one source), authentication is a bearer API key checked once
 * per request, and every error has the CONTRACT's shape {"error", "details"?}.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { HttpError, sendError, fromRegistryError } from './common.js';
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
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      info: { title: 'Estate telemetry gateway', version: '1', description: 'Devices, telemetry, events, alerts of a residential smart community.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  // security headers on every response; the OpenAPI UI sets its own CSP for its assets
  await app.register(helmet, { global: true, hsts: opts.tls ? undefined : false });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.decorateRequest('apiKey', null);
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => done(null, body));

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

  app.setErrorHandler((err, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = (err as { validationContext?: string }).validationContext ?? 'request';
      const details = err.validation.map((v) => ({
        field: `${where}${v.instancePath.replace(/\//g, '.')}`.replace(/\.$/, ''),
        message: v.message ?? 'invalid',
      }));
      return sendError(reply, new HttpError(400, `${details[0]!.field}: ${details[0]!.message}`, details));
    }
    if (err instanceof HttpError) return sendError(reply, err);
    if (err instanceof RegistryError) return sendError(reply, fromRegistryError(err));
    if (err instanceof StoreUnavailableError) {
      req.log.warn({ err: err.detail }, err.message);
      return sendError(reply, new HttpError(503, err.message));
    }
    const e = err as { statusCode?: number; message: string; code?: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') ctx.metrics.httpRefusals.inc({ reason: 'body_too_large' });
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return sendError(reply, new HttpError(e.statusCode, e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `request body larger than ${opts.bodyLimit} bytes` : e.message));
    }
    req.log.error({ err }, 'request failed');
    return sendError(reply, new HttpError(500, 'internal error'));
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, new HttpError(404, `no route ${req.method} ${req.url.split('?')[0]}`)));

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
        errorResponseBuilder: (_req, c) => ({ statusCode: 429, error: `rate limit: at most ${c.max} requests per minute per API key; retry in ${Math.ceil(c.ttl / 1000)} s` }),
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
