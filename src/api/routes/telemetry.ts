import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AGGREGATES, aggregate, isValidZone, parseEvery, type Point } from '../../core/aggregate.js';
import { metricDef } from '../../core/vocabulary.js';
import type { ApiContext } from '../context.js';
import { READERS, TimeParam, badRequest, iso, notFound, wantsCsv } from '../common.js';
import type { StoredPoint } from '../../storage/telemetry-store.js';

const MAX_BUCKETS = 100_000;
const END_OF_TIME = 8.64e15;

export const TelemetryQuery = z.strictObject({
  device: z.string().min(1).max(200),
  metric: z.string().min(1).max(100).refine((m) => metricDef(m) !== undefined, 'unknown metric (see the vocabulary)'),
  from: TimeParam.optional(),
  to: TimeParam.optional(),
  limit: z.coerce.number().int().min(1).max(100_000).default(1000),
  every: z.string().max(12).optional().refine((e) => e === undefined || parseEvery(e) !== undefined, 'must be <n><s|m|h|d>, e.g. 15m, 1h, 1d'),
  agg: z.enum(AGGREGATES).optional(),
  tz: z.string().max(64).optional().refine((tz) => tz === undefined || isValidZone(tz), 'unknown IANA time zone'),
});

const RollupQuery = z.strictObject({
  device: z.string().min(1).max(200),
  metric: z.string().min(1).max(100).refine((m) => metricDef(m)?.type === 'number', 'not a numeric metric of the vocabulary'),
  period: z.enum(['1h', '1d']),
  from: TimeParam.optional(),
  to: TimeParam.optional(),
  limit: z.coerce.number().int().min(1).max(100_000).default(1000),
});

/** the device and the [from, to) range of a query: 404 for an unknown device, 400 for an empty range */
function target(ctx: ApiContext, q: { device: string; from?: number; to?: number }) {
  const device = ctx.registry.get(q.device);
  if (!device) throw notFound(`device ${q.device}`);
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
    },
  }, async (req, reply) => {
    const q = req.query;
    const { device, from, to } = target(ctx, q);
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
      points = aggregate(scanned, { every, agg: q.agg, tz: q.tz, previous }).slice(0, q.limit);
    } else {
      points = (await ctx.store.series({ deviceId: device.id, metric: q.metric, from, to, limit: q.limit }))
        .map((p) => (p.quality === 'ok' ? { ts: p.ts, value: p.value } : { ts: p.ts, value: p.value, quality: p.quality }));
    }
    if (wantsCsv(req)) {
      const lines = ['ts,value', ...points.map((p) => `${iso(p.ts)},${typeof p.value === 'string' ? JSON.stringify(p.value) : String(p.value)}`)];
      return reply.type('text/csv; charset=utf-8').send(`${lines.join('\n')}\n`);
    }
    return { deviceId: device.id, metric: q.metric, unit, ...(q.every ? { every: q.every, agg: q.agg, tz: q.tz ?? 'UTC' } : {}), points: points.map((p) => ({ ...p, ts: iso(p.ts) })) };
  });

  r.get('/telemetry/rollups', {
    config: { roles: READERS },
    schema: {
      tags: ['telemetry'],
      summary: 'Hourly (1h, UTC hours) or daily (1d, local days of retention.timezone) rollups of a numeric metric: count, sum, min, max, mean, first, last of the good readings. Kept after raw readings are pruned (retention.hourlyDays / dailyDays). Rollups are computed by the retention job, so the current hour or day is not in them yet.',
      querystring: RollupQuery,
    },
  }, async (req) => {
    const q = req.query;
    const { device, from, to } = target(ctx, q);
    const points = await ctx.store.rollups({ deviceId: device.id, metric: q.metric, period: q.period, from, to, limit: q.limit });
    return { deviceId: device.id, metric: q.metric, unit: metricDef(q.metric)!.unit, period: q.period, points: points.map((p) => ({ ...p, ts: iso(p.ts) })) };
  });
};
