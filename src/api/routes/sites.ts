/**
 * GET /api/v1/sites/{path}/summary: what a property manager looks at for a subtree of the
 * estate — parking occupancy, bins at or above their full threshold, today's water and
 * electricity consumption (local day, meter resets handled) and devices offline.
 */
import { z } from 'zod';
import { DateTime } from 'luxon';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { aggregate, isValidZone, parseEvery, type Point } from '../../core/aggregate.js';
import { SitePathSchema } from '../../core/ids.js';
import type { Device } from '../../registry/devices.js';
import type { ApiContext } from '../context.js';
import { AUTH_ERRORS, HttpError, READERS, badRequest, errorResponses, iso, notFound } from '../common.js';
import { sitePrefixMatches } from './devices.js';

export const DEFAULT_BIN_FULL_PCT = 80;
export const DEFAULT_TZ = 'Asia/Shanghai';

export function binFullThreshold(d: Device): number {
  const t = (d.attributes.thresholds as Record<string, unknown> | undefined)?.fill_pct ?? d.attributes.fullThresholdPct;
  return typeof t === 'number' && Number.isFinite(t) ? t : DEFAULT_BIN_FULL_PCT;
}

async function consumption(ctx: ApiContext, devices: Device[], metric: string, from: number, to: number, tz: string): Promise<number> {
  let total = 0;
  const day = parseEvery('1d')!;
  for (const d of devices) {
    const previous = await ctx.store.previous(d.id, metric, from);
    const points: Point[] = [];
    for await (const p of ctx.store.scan({ deviceId: d.id, metric, from, to })) if (p.quality === 'ok') points.push(p);
    for (const b of aggregate(points, { every: day, agg: 'delta', tz, previous })) total += b.value as number;
  }
  return Math.round(total * 1e6) / 1e6;
}

const Located = { deviceId: z.string(), site: z.string() };
const SummarySchema = z.object({
  site: z.string(), tz: z.string(), day: z.object({ from: z.string(), to: z.string() }),
  devices: z.object({ total: z.number().int(), online: z.number().int(), offline: z.number().int() }),
  parking: z.object({ bays: z.number().int(), occupied: z.number().int(), free: z.number().int() }),
  bins: z.object({ total: z.number().int(), full: z.number().int(), items: z.array(z.object({ ...Located, fillPct: z.number(), threshold: z.number(), ts: z.string().nullable() })) }),
  water: z.object({ meters: z.number().int(), todayM3: z.number() }),
  electricity: z.object({ meters: z.number().int(), todayKwh: z.number() }),
  offline: z.array(z.object({ ...Located, lastSeen: z.string().nullable() })),
});

export const siteRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/sites/*', {
    config: { roles: READERS },
    schema: {
      tags: ['sites'],
      summary: 'Site summary: parking occupancy, full bins, today\'s water and electricity consumption, devices offline, for a site subtree (404 when no device is in it)',
      querystring: z.strictObject({ tz: z.string().max(64).default(DEFAULT_TZ) }),
      response: { 200: SummarySchema, ...errorResponses(400, 404, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const rest = (req.params as { '*': string })['*'];
    if (!rest.endsWith('/summary') && rest !== 'summary') throw notFound(`no route GET /api/v1/sites/${rest}: expected /api/v1/sites/{path}/summary`, 'url');
    const path = rest.slice(0, -'summary'.length).replace(/\/$/, ''); // fastify has decoded the wildcard already
    const site = SitePathSchema.safeParse(path);
    if (!site.success) throw badRequest('params.path', site.error.issues[0]!.message);
    const tz = req.query.tz;
    if (!isValidZone(tz)) throw badRequest('querystring.tz', 'unknown IANA time zone');

    const devices = [...ctx.registry.all()].filter((d) => sitePrefixMatches(d.site, path));
    // CONTRACT v2: a site the gateway knows nothing of is 404, not a summary of zeros
    if (devices.length === 0) throw new HttpError(404, `site ${path || '(root)'} has no devices`, [{ field: 'params.path', message: 'no device in this site' }]);
    const now = ctx.clock();
    const from = DateTime.fromMillis(now, { zone: tz }).startOf('day').toMillis();
    const of = (kind: Device['kind']) => devices.filter((d) => d.kind === kind);
    const latest = await ctx.store.latestMany(devices.map((d) => d.id), ['occupied', 'fill_pct']);

    const bays = of('parking');
    const occupied = bays.filter((d) => latest.get(d.id)?.get('occupied')?.value === true).length;
    const bins = of('bin_fill');
    const full = bins.flatMap((d) => {
      const f = latest.get(d.id)?.get('fill_pct');
      const threshold = binFullThreshold(d);
      return f && typeof f.value === 'number' && f.value >= threshold ? [{ deviceId: d.id, site: d.site, fillPct: f.value, threshold, ts: iso(f.ts) }] : [];
    });
    const offline = devices.filter((d) => !ctx.isOnline(d));
    return {
      site: path,
      tz,
      day: { from: iso(from)!, to: iso(now)! },
      devices: { total: devices.length, online: devices.length - offline.length, offline: offline.length },
      parking: { bays: bays.length, occupied, free: bays.length - occupied },
      bins: { total: bins.length, full: full.length, items: full },
      water: { meters: of('water_meter').length, todayM3: await consumption(ctx, of('water_meter'), 'water_volume_m3', from, now + 1, tz) },
      electricity: { meters: of('electricity_meter').length, todayKwh: await consumption(ctx, of('electricity_meter'), 'energy_import_kwh', from, now + 1, tz) },
      offline: offline.map((d) => ({ deviceId: d.id, site: d.site, lastSeen: iso(d.lastSeen) })),
    };
  });
};
