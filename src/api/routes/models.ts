import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DeviceModel } from '../../core/model.js';
import type { CatalogueModel } from '../../core/catalogue.js';
import { DEVICE_KINDS, metricDef } from '../../core/vocabulary.js';
import { RegistryError } from '../../registry/devices.js';
import { UserModelSchema } from '../../codecs/schema.js';
import type { UserModel } from '../../codecs/model.js';
import { decodeForStorage, deadLetterReason } from '../../ingest/decode.js';
import type { ApiContext } from '../context.js';
import {
  ADMIN, AUTH_ERRORS, ERROR_CODES, HttpError, NoContent, READERS, TimeParam, actor, badRequest, cursorScope, decodeCursor, errorResponses, iso, listQuery, listResponse, page,
  type ErrorCode,
} from '../common.js';

export function modelJson(m: DeviceModel) {
  const user = (m as CatalogueModel).source === 'user' ? (m as UserModel) : undefined;
  return {
    id: m.id, vendor: m.vendor, name: m.name, kind: m.kind, description: m.description ?? null, format: m.format,
    ports: m.ports ?? [], reportIntervalS: m.reportIntervalS, lowBatteryV: m.lowBatteryV ?? null,
    metrics: m.metrics.map((metric) => ({ metric, unit: metricDef(metric)!.unit, type: metricDef(metric)!.type })),
    events: m.events ?? [], attributes: m.attributes ?? {}, deviations: (m.deviations ?? []).map((d) => ({ id: d.id, reason: d.reason, ...(d.commit ? { commit: d.commit } : {}) })),
    vendorCodec: m.vendorCodec ? { codec: m.vendorCodec.codec, commit: m.vendorCodec.commit } : null,
    examples: m.examples.map((e) => ({
      description: e.description, port: e.port ?? null, ...(e.hex !== undefined ? { hex: e.hex } : {}), ...(e.json !== undefined ? { json: e.json } : {}),
      attributes: e.attributes ?? {}, readings: e.readings ?? {}, series: e.series ?? [], events: e.events ?? [], ...(e.error ? { error: e.error } : {}),
    })),
    /** built in (devices/) or a user codec (POST /api/v1/models) */
    source: (user ? 'user' : 'builtin') as 'user' | 'builtin',
    ...(user ? { createdAt: iso(user.createdAt), updatedAt: iso(user.updatedAt) } : {}),
  };
}

/** the definition of a user model as it was posted (admins only: it is the integrator's code) */
const codecJson = (m: UserModel) => {
  const { decoder, mapping, events, unmapped } = m.definition;
  return { decoder, mapping, events: events ?? [], unmapped };
};

/** Loose: the catalogue's metadata grows (codecs, deviations); the fields a client relies on are declared. */
export const ModelSchema = z.looseObject({
  id: z.string(), vendor: z.string(), name: z.string(), kind: z.string(), description: z.string().nullable(), format: z.string(),
  ports: z.array(z.number()), reportIntervalS: z.number(), lowBatteryV: z.number().nullable(),
  metrics: z.array(z.object({ metric: z.string(), unit: z.string().nullable(), type: z.enum(['number', 'boolean', 'string']) })),
  events: z.array(z.string()),
  examples: z.array(z.looseObject({ description: z.string().optional(), port: z.number().nullable() })),
  source: z.enum(['builtin', 'user']).describe('built in (devices/) or a user codec (POST /api/v1/models)'),
  codec: z.object({ decoder: z.string(), mapping: z.array(z.unknown()), events: z.array(z.unknown()), unmapped: z.string() }).optional()
    .describe('a user codec\'s definition, shown to admins only'),
});
const IdParams = z.object({ id: z.string().max(100) });
const MAX_PAYLOAD = 65_536;

const DecodeBodySchema = z.strictObject({
  fPort: z.number().int().min(0).max(255).optional(),
  hex: z.string().max(2 * MAX_PAYLOAD + 1024).optional().describe('payload as hex (spaces allowed)'),
  base64: z.string().max(Math.ceil(MAX_PAYLOAD / 3) * 4 + 1024).optional().describe('payload as base64'),
  json: z.json().optional().describe('a JSON payload (native JSON and SenML models)'),
  receivedAt: z.union([z.string(), z.number()]).optional().describe('receive time, ISO-8601 or epoch ms; default now'),
}).describe('exactly one of hex, base64, json');

const ReadingOutSchema = z.object({
  metric: z.string(), value: z.union([z.number(), z.boolean(), z.string()]), unit: z.string().nullable(), ts: z.string(), quality: z.enum(['ok', 'out_of_range']),
});
const EventOutSchema = z.object({ type: z.string(), ts: z.string(), data: z.record(z.string(), z.unknown()) });
const DecodeResultSchema = z.object({ readings: z.array(ReadingOutSchema), events: z.array(EventOutSchema) });
const DecodeFailedSchema = z.object({
  error: z.string(), code: z.enum(ERROR_CODES).describe('DECODE_FAILED'), reason: z.string().describe('the dead-letter reason a device\'s message would get'),
}).describe('DECODE_FAILED: the payload does not decode');

function payloadOf(body: z.infer<typeof DecodeBodySchema>): Buffer {
  const forms = (['hex', 'base64', 'json'] as const).filter((k) => body[k] !== undefined);
  if (forms.length === 0) throw badRequest('body', 'one of hex, base64 or json is required');
  if (forms.length > 1) throw badRequest(`body.${forms[1]}`, `give exactly one of hex, base64 or json (got ${forms.join(' and ')})`);
  let payload: Buffer;
  if (body.hex !== undefined) {
    const hex = body.hex.replace(/\s+/g, '');
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw badRequest('body.hex', 'must be pairs of hex digits');
    payload = Buffer.from(hex, 'hex');
  } else if (body.base64 !== undefined) {
    const b64 = body.base64.replace(/\s+/g, '');
    if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw badRequest('body.base64', 'must be base64');
    payload = Buffer.from(b64, 'base64');
  } else payload = Buffer.from(JSON.stringify(body.json));
  if (payload.length > MAX_PAYLOAD) throw badRequest(`body.${forms[0]}`, `payload larger than ${MAX_PAYLOAD} bytes`);
  return payload;
}

function receivedAtOf(v: string | number | undefined, now: number): number {
  if (v === undefined) return now;
  const parsed = TimeParam.safeParse(String(v));
  if (!parsed.success) throw badRequest('body.receivedAt', 'must be ISO-8601 or epoch milliseconds');
  return parsed.data;
}

const CODES: Record<number, ErrorCode> = { 400: 'INVALID_MODEL', 404: 'MODEL_NOT_FOUND', 409: 'MODEL_CONFLICT' };
function httpOf(err: unknown): unknown {
  if (!(err instanceof RegistryError)) return err;
  const code = err.message.includes('used by') ? 'MODEL_IN_USE' : err.message.includes('built in') ? 'MODEL_BUILTIN' : CODES[err.status];
  return new HttpError(err.status, err.message, err.field ? [{ field: `body.${err.field}`, message: err.message }] : undefined, code);
}
const modelNotFound = (id: string) => new HttpError(404, `model ${id} not found`, undefined, 'MODEL_NOT_FOUND');

export const modelRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/models', {
    config: { roles: READERS },
    schema: {
      tags: ['models'], summary: 'Device models, built in and user codecs, with metrics, units and examples, by id; kind filters',
      querystring: z.strictObject({ kind: z.enum(DEVICE_KINDS).optional(), ...listQuery }),
      response: { 200: listResponse(ModelSchema), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const q = req.query;
    const scope = cursorScope(q);
    const after = decodeCursor(q.cursor, scope)?.[0];
    const rows = ctx.catalogue.all().filter((m) => (after === undefined || m.id > String(after)) && (q.kind === undefined || m.kind === q.kind))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, q.limit + 1);
    return page(rows, q.limit, (m) => [m.id], scope, modelJson);
  });

  r.get('/models/:id', {
    config: { roles: READERS },
    schema: { tags: ['models'], summary: 'One device model (admins also see a user codec\'s source)', params: IdParams, response: { 200: ModelSchema, ...errorResponses(400, 404, ...AUTH_ERRORS) } },
  }, async (req) => {
    const m = ctx.catalogue.get(req.params.id);
    if (!m) throw modelNotFound(req.params.id);
    const user = ctx.userModels.get(m.id);
    return { ...modelJson(m), ...(user && req.apiKey?.role === 'admin' ? { codec: codecJson(user) } : {}) };
  });

  r.post('/models/:id/decode', {
    config: { roles: READERS },
    schema: {
      tags: ['models'],
      summary: 'Decode a payload as a device of this model with no attributes would store it (nothing is stored)',
      description: 'Like The Things Stack\'s "test uplink": the ingest pipeline\'s decode and normalisation step. 422 DECODE_FAILED carries the reason a device\'s message would be dead-lettered with.',
      params: IdParams,
      body: DecodeBodySchema,
      response: { 200: DecodeResultSchema, ...errorResponses(400, 404, ...AUTH_ERRORS), 422: DecodeFailedSchema },
    },
  }, async (req, reply) => {
    const model = ctx.catalogue.get(req.params.id);
    if (!model) throw modelNotFound(req.params.id);
    const payload = payloadOf(req.body);
    const receivedAt = receivedAtOf(req.body.receivedAt, ctx.clock());
    try {
      const out = await decodeForStorage(model, { payload, port: req.body.fPort, receivedAt }, { deviceId: '', attributes: {}, pseudonymise: ctx.pseudonymise, timePolicy: ctx.timePolicy });
      return {
        readings: out.readings.map((x) => ({ metric: x.metric, value: x.value, unit: x.unit, ts: iso(x.ts)!, quality: x.quality })),
        events: out.events.map((e) => ({ type: e.type, ts: iso(e.ts)!, data: e.data })),
      };
    } catch (err) {
      const reason = deadLetterReason(err);
      return reply.code(422).send({ error: `the payload does not decode as ${model.id}: ${reason}`, code: 'DECODE_FAILED', reason });
    }
  });

  r.post('/models', {
    config: { roles: ADMIN },
    schema: {
      tags: ['models'],
      summary: 'Add a user codec: a TTN-style decodeUplink(input) and the mapping of its output to vocabulary metrics',
      description: 'The id must be user.<name>. The decoder runs in a QuickJS sandbox (docs/devices.md, "User codecs"). Test it with POST /models/{id}/decode before provisioning devices.',
      body: UserModelSchema,
      response: { 201: ModelSchema, ...errorResponses(400, 409, ...AUTH_ERRORS) },
    },
  }, async (req, reply) => {
    try {
      const m = await ctx.userModels.create(req.body);
      ctx.audit.record(actor(req), 'model.create', m.id, { kind: m.kind, metrics: m.metrics });
      return reply.code(201).send({ ...modelJson(m), codec: codecJson(m) });
    } catch (err) {
      throw httpOf(err);
    }
  });

  r.put('/models/:id', {
    config: { roles: ADMIN },
    schema: {
      tags: ['models'], summary: 'Replace a user codec (devices decode with the new one from their next message)', params: IdParams, body: UserModelSchema,
      response: { 200: ModelSchema, ...errorResponses(400, 404, 409, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    if (req.body.id !== req.params.id) throw badRequest('body.id', `must be ${req.params.id} (the model in the path)`);
    if (ctx.catalogue.isBuiltin(req.params.id)) throw new HttpError(409, `model ${req.params.id} is built in and cannot be replaced`, undefined, 'MODEL_BUILTIN');
    try {
      const m = await ctx.userModels.replace(req.params.id, req.body, ctx.registry.usingModel(req.params.id));
      ctx.registry.refreshKinds(m.id);
      ctx.audit.record(actor(req), 'model.replace', m.id, { kind: m.kind, metrics: m.metrics });
      return { ...modelJson(m), codec: codecJson(m) };
    } catch (err) {
      throw httpOf(err);
    }
  });

  r.delete('/models/:id', {
    config: { roles: ADMIN },
    schema: { tags: ['models'], summary: 'Delete a user codec; refused (409 MODEL_IN_USE) while devices use it', params: IdParams, response: { 204: NoContent, ...errorResponses(400, 404, 409, ...AUTH_ERRORS) } },
  }, async (req, reply) => {
    try {
      await ctx.userModels.delete(req.params.id, ctx.registry.usingModel(req.params.id));
    } catch (err) {
      throw httpOf(err);
    }
    ctx.audit.record(actor(req), 'model.delete', req.params.id);
    return reply.code(204).send(null);
  });
};
