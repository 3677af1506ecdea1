import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MODELS, getModel } from '../../../devices/index.js';
import type { DeviceModel } from '../../core/model.js';
import { metricDef } from '../../core/vocabulary.js';
import type { ApiContext } from '../context.js';
import { READERS, notFound } from '../common.js';

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

export const modelRoutes = (_ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/models', { config: { roles: READERS }, schema: { tags: ['models'], summary: 'Supported device models with metrics, units and examples' } }, async () => ({ models: MODELS.map(modelJson) }));
  r.get('/models/:id', { config: { roles: READERS }, schema: { tags: ['models'], params: z.object({ id: z.string().max(100) }) } }, async (req) => {
    const m = getModel(req.params.id);
    if (!m) throw notFound(`model ${req.params.id}`);
    return modelJson(m);
  });
};
