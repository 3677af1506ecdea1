import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AGGREGATES, aggregate, isValidZone, parseEvery, type Point } from '../../core/aggregate.js';
import { metricDef } from '../../core/vocabulary.js';
import { getModel } from '../../../devices/index.js';
import type { Device } from '../../registry/devices.js';
import type { ApiContext } from '../context.js';
import { AUTH_ERRORS, READERS, TimeParam, badRequest, cursorScope, decodeCursor, encodeCursor, errorResponses, iso, notFound, unknownValue, wantsCsv } from '../common.js';
import type { StoredPoint } from '../../storage/telemetry-store.js';

const MAX_BUCKETS = 100_000;
const END_OF_TIME = 8.64e15;

export const TelemetryQuery = z.strictObject({
  device: z.string().min(1).max(200),
  metric: z.string().min(1).max(100),
  from: TimeParam.optional(),
  to: TimeParam.optional(),
  limit: z.coerce.number().int().min(1).max(100_000).default(1000).describe('points per answer (default 1000, max 100000); more are behind `next`'),
  cursor: z.string().min(1).max(2000).optional().describe('the `next` of the previous answer'),
  every: z.string().max(12).optional().refine((e) => e === undefined || parseEvery(e) !== undefined, 'must be <n><s|m|h|d>, e.g. 15m, 1h, 1d'),
  agg: z.enum(AGGREGATES).optional(),
  tz: z.string().max(64).optional().refine((tz) => tz === undefined || isValidZone(tz), 'unknown IANA time zone'),
});

const RollupQuery = z.strictObject({
  device: z.string().min(1).max(200),
  metric: z.string().min(1).max(100),
  period: z.enum(['1h', '1d']),
  from: TimeParam.optional(),
  to: TimeParam.optional(),
  limit: z.coerce.number().int().min(1).max(100_000).default(1000),
  cursor: z.string().min(1).max(2000).optional(),
});

const Value = z.union([z.number(), z.boolean(), z.string()]);
const SeriesSchema = z.object({
  deviceId: z.string(), metric: z.string(), unit: z.string().nullable(),
  every: z.string().optional(), agg: z.enum(AGGREGATES).optional(), tz: z.string().optional(),
  points: z.array(z.object({ ts: z.string(), value: Value.nullable(), quality: z.literal('out_of_range').optional() })).describe('oldest first'),
  next: z.string().nullable().describe('cursor of the following points when cut at limit; null when complete'),
});
const RollupsSchema = z.object({
  deviceId: z.string(), metric: z.string(), unit: z.string().nullable(), period: z.enum(['1h', '1d']),
  points: z.array(z.object({ ts: z.string(), count: z.number(), sum: z.number(), min: z.number(), max: z.number(), mean: z.number(), first: z.number(), last: z.number() })),
  next: z.string().nullable(),
});

/** metrics a device of this model can have: the decoder's (derived ones included) and the LoRaWAN radio's */
const RADIO_METRICS = ['rssi_dbm', 'snr_db'];

/** 400 UNKNOWN_VALUE for a metric outside the vocabulary or one the device's model never emits */
async function checkMetric(ctx: ApiContext, device: Device, metric: string, numeric: boolean): Promise<void> {
  const def = metricDef(metric);
  if (!def) throw unknownValue('querystring.metric', `unknown metric ${metric} (see the vocabulary, docs/vocabulary.md)`);
  if (numeric && def.type !== 'number') throw unknownValue('querystring.metric', `${metric} is not numeric: rollups are of numeric metrics`);
  const model = getModel(device.model);
  if (!model || model.metrics.includes(metric) || RADIO_METRICS.includes(metric)) return;
  // a device whose model changed keeps the history of its earlier model's metrics
  if ((await ctx.store.latest(device.id)).has(metric)) return;
  throw unknownValue('querystring.metric', `model ${model.id} of device ${device.id} does not emit ${metric} (it emits ${model.metrics.join(', ')})`);
}

/** the device and the [from, to) range of a query: 404 for an unknown device, 400 for an empty range */
function target(ctx: ApiContext, q: { device: string; from?: number; to?: number }) {
  const device = ctx.registry.get(q.device);
  if (!device) throw notFound(`device ${q.device}`, 'querystring.device');
  const from = q.from ?? 0;
  const to = q.to ?? END_OF_TIME;
  if (to <= from) throw badRequest('querystring.to', 'must be after from');
  return { device, from, to };
}

async function* okPoints(points: AsyncIterable<StoredPoint> | Iterable<StoredPoint>): AsyncGenerator<Point> {
  for await (const p of points) if (p.quality === 'ok') yield p;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export const telemetryRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/telemetry', {
    config: { roles: READERS },
    schema: {
      tags: ['telemetry'],
      summary: 'Raw points, or one point per bucket with every + agg (delta: consumption of a cumulative counter, resets handled). Accept: text/csv for CSV.',
      querystring: TelemetryQuery,
      response: {
        200: { description: 'points oldest first; `next` when cut at limit', content: { 'application/json': { schema: SeriesSchema }, 'text/csv': { schema: z.string().describe('ts,value lines; header X-Next-Cursor when cut') } } },
        ...errorResponses(400, 404, ...AUTH_ERRORS),
      },
    },
  }, async (req, reply) => {
    const q = req.query;
    const { device, to } = target(ctx, q);
    await checkMetric(ctx, device, q.metric, false);
    const scope = cursorScope({ ...q, from: undefined });
    const resume = decodeCursor(q.cursor, scope);
    // the cursor is the time of the next point (raw) or bucket (every/agg): the same series continues from there
    const from = resume ? Math.max(Number(resume[0]), q.from ?? 0) : (q.from ?? 0);
    if (to <= from) throw badRequest('querystring.to', 'must be after from');
    if ((q.every === undefined) !== (q.agg === undefined)) throw badRequest(q.every === undefined ? 'querystring.every' : 'querystring.agg', 'every and agg go together');
    if (q.tz !== undefined && q.every === undefined) throw badRequest('querystring.tz', 'tz applies to bucketed queries (every, agg)');
    const unit = metricDef(q.metric)!.unit;
    let points: Array<{ ts: number; value: unknown; quality?: string }>;
    if (q.every !== undefined && q.agg !== undefined) {
      const every = parseEvery(q.every)!;
      if (q.from !== undefined && q.to !== undefined && (to - from) / every.ms > MAX_BUCKETS) {
        throw badRequest('querystring.every', `more than ${MAX_BUCKETS} buckets between from and to; use a larger interval`);
      }
      const previous = q.agg === 'delta' ? await ctx.store.previous(device.id, q.metric, from) : undefined;
      const scanned = await collect(okPoints(ctx.store.scan({ deviceId: device.id, metric: q.metric, from, to })));
      points = aggregate(scanned, { every, agg: q.agg, tz: q.tz, previous }).slice(0, q.limit + 1);
    } else {
      points = (await ctx.store.series({ deviceId: device.id, metric: q.metric, from, to, limit: q.limit + 1 }))
        .map((p) => (p.quality === 'ok' ? { ts: p.ts, value: p.value } : { ts: p.ts, value: p.value, quality: p.quality }));
    }
    // the extra point says the series goes on: next starts at it
    const next = points.length > q.limit ? encodeCursor([points[q.limit]!.ts], scope) : null;
    points = points.slice(0, q.limit);
    if (wantsCsv(req)) {
      const lines = ['ts,value', ...points.map((p) => `${iso(p.ts)},${typeof p.value === 'string' ? JSON.stringify(p.value) : String(p.value)}`)];
      if (next) reply.header('x-next-cursor', next);
      return reply.type('text/csv; charset=utf-8').send(`${lines.join('\n')}\n`);
    }
    return {
      deviceId: device.id, metric: q.metric, unit, ...(q.every ? { every: q.every, agg: q.agg, tz: q.tz ?? 'UTC' } : {}),
      points: points.map((p) => ({ ts: iso(p.ts)!, value: p.value as z.infer<typeof Value> | null, ...(p.quality === 'out_of_range' ? { quality: 'out_of_range' as const } : {}) })),
      next,
    };
  });

  r.get('/telemetry/rollups', {
    config: { roles: READERS },
    schema: {
      tags: ['telemetry'],
      summary: 'Hourly (1h, UTC hours) or daily (1d, local days of retention.timezone) rollups of a numeric metric: count, sum, min, max, mean, first, last of the good readings. Kept after raw readings are pruned (retention.hourlyDays / dailyDays). Rollups are computed by the retention job, so the current hour or day is not in them yet.',
      querystring: RollupQuery,
      response: { 200: RollupsSchema, ...errorResponses(400, 404, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const q = req.query;
    const { device, to } = target(ctx, q);
    await checkMetric(ctx, device, q.metric, true);
    const scope = cursorScope({ ...q, from: undefined });
    const resume = decodeCursor(q.cursor, scope);
    const from = resume ? Math.max(Number(resume[0]), q.from ?? 0) : (q.from ?? 0);
    if (to <= from) throw badRequest('querystring.to', 'must be after from');
    const points = await ctx.store.rollups({ deviceId: device.id, metric: q.metric, period: q.period, from, to, limit: q.limit + 1 });
    const next = points.length > q.limit ? encodeCursor([points[q.limit]!.ts], scope) : null;
    return { deviceId: device.id, metric: q.metric, unit: metricDef(q.metric)!.unit, period: q.period, points: points.slice(0, q.limit).map((p) => ({ ...p, ts: iso(p.ts)! })), next };
  });
};
