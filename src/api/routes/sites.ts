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
import { READERS, badRequest, iso } from '../common.js';
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

export const siteRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/sites/*', {
    config: { roles: READERS },
    schema: {
      tags: ['sites'],
      summary: 'GET /api/v1/sites/{path}/summary: parking occupancy, full bins, today\'s water and electricity consumption, devices offline, for a site subtree',
      querystring: z.strictObject({ tz: z.string().max(64).default(DEFAULT_TZ) }),
    },
  }, async (req) => {
    const rest = (req.params as { '*': string })['*'];
    if (!rest.endsWith('/summary') && rest !== 'summary') throw badRequest('path', 'expected /api/v1/sites/{path}/summary');
    const path = rest.slice(0, -'summary'.length).replace(/\/$/, ''); // fastify has decoded the wildcard already
    const site = SitePathSchema.safeParse(path);
    if (!site.success) throw badRequest('path', site.error.issues[0]!.message);
    const tz = req.query.tz;
    if (!isValidZone(tz)) throw badRequest('querystring.tz', 'unknown IANA time zone');

    const devices = [...ctx.registry.all()].filter((d) => sitePrefixMatches(d.site, path));
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
      day: { from: iso(from), to: iso(now) },
      devices: { total: devices.length, online: devices.length - offline.length, offline: offline.length },
      parking: { bays: bays.length, occupied, free: bays.length - occupied },
      bins: { total: bins.length, full: full.length, items: full },
      water: { meters: of('water_meter').length, todayM3: await consumption(ctx, of('water_meter'), 'water_volume_m3', from, now + 1, tz) },
      electricity: { meters: of('electricity_meter').length, todayKwh: await consumption(ctx, of('electricity_meter'), 'energy_import_kwh', from, now + 1, tz) },
      offline: offline.map((d) => ({ deviceId: d.id, site: d.site, lastSeen: iso(d.lastSeen) })),
    };
  });
};
