import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MODELS, getModel } from '../../../devices/index.js';
import type { DeviceModel } from '../../core/model.js';
import { DEVICE_KINDS, metricDef } from '../../core/vocabulary.js';
import type { ApiContext } from '../context.js';
import { AUTH_ERRORS, READERS, cursorScope, decodeCursor, errorResponses, listQuery, listResponse, notFound, page } from '../common.js';

export function modelJson(m: DeviceModel) {
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
  };
}

/** Loose: the catalogue's metadata grows (codecs, deviations); the fields a client relies on are declared. */
export const ModelSchema = z.looseObject({
  id: z.string(), vendor: z.string(), name: z.string(), kind: z.string(), description: z.string().nullable(), format: z.string(),
  ports: z.array(z.number()), reportIntervalS: z.number(), lowBatteryV: z.number().nullable(),
  metrics: z.array(z.object({ metric: z.string(), unit: z.string().nullable(), type: z.enum(['number', 'boolean', 'string']) })),
  events: z.array(z.string()),
  examples: z.array(z.looseObject({ description: z.string().optional(), port: z.number().nullable() })),
});

export const modelRoutes = (_ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/models', {
    config: { roles: READERS },
    schema: {
      tags: ['models'], summary: 'Supported device models with metrics, units and examples, by id; kind filters',
      querystring: z.strictObject({ kind: z.enum(DEVICE_KINDS).optional(), ...listQuery }),
      response: { 200: listResponse(ModelSchema), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const q = req.query;
    const scope = cursorScope(q);
    const after = decodeCursor(q.cursor, scope)?.[0];
    const rows = MODELS.filter((m) => (after === undefined || m.id > String(after)) && (q.kind === undefined || m.kind === q.kind))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, q.limit + 1);
    return page(rows, q.limit, (m) => [m.id], scope, modelJson);
  });
  r.get('/models/:id', {
    config: { roles: READERS },
    schema: { tags: ['models'], summary: 'One device model', params: z.object({ id: z.string().max(100) }), response: { 200: ModelSchema, ...errorResponses(400, 404, ...AUTH_ERRORS) } },
  }, async (req) => {
    const m = getModel(req.params.id);
    if (!m) throw notFound(`model ${req.params.id}`, 'params.id');
    return modelJson(m);
  });
};
