/**
 * Monthly reports a property manager hands on (CONTRACT v2 "Response times and reports"):
 * water-quality compliance against GB 5749-2022 and consumption per device and per site
 * level. Telemetry is read only through the TelemetryStore interface, so both work on SQLite
 * and InfluxDB. JSON, or CSV with `Accept: text/csv`.
 */
import { z } from 'zod';
import { DateTime } from 'luxon';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { aggregate, isValidZone, parseEvery, type Point } from '../../core/aggregate.js';
import { siteWithin } from '../../core/sites.js';
import { metricDef } from '../../core/vocabulary.js';
import type { Device } from '../../registry/devices.js';
import { compliance, GB5749 } from '../../reports/water-quality.js';
import { monthRange } from '../../reports/month.js';
import type { ApiContext } from '../context.js';
import { READERS, badRequest, wantsCsv, AUTH_ERRORS, errorResponses } from '../common.js';
import { DEFAULT_TZ } from './sites.js';

const ReportQuery = z.strictObject({
  site: z.string().max(300).default(''),
  month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM'),
  tz: z.string().max(64).default(DEFAULT_TZ),
});

const csvCell = (v: unknown) => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csv = (rows: unknown[][]) => `${rows.map((r) => r.map(csvCell).join(',')).join('\n')}\n`;

/** the CSV form of a report; its response schema describes the JSON form, which fastify does not apply to a text/csv string */
function sendCsv(reply: FastifyReply, filename: string, rows: unknown[][]) {
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}"`).send(csv(rows) as never);
}
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
const iso = (ms: number) => new Date(ms).toISOString();

function range(q: { month: string; tz: string }) {
  if (!isValidZone(q.tz)) throw badRequest('querystring.tz', 'unknown IANA time zone');
  const r = monthRange(q.month, q.tz);
  if (!r) throw badRequest('querystring.month', 'must be YYYY-MM');
  return r;
}

const under = (ctx: ApiContext, site: string, kinds: string[]): Device[] =>
  [...ctx.registry.all()].filter((d) => kinds.includes(d.kind) && siteWithin(d.site, site)).sort((a, b) => (a.id < b.id ? -1 : 1));

/** the site path and each of its ancestors at or below the queried prefix: a/b/c under a → a, a/b, a/b/c */
function levels(site: string, prefix: string): string[] {
  const p = prefix.replace(/\/+$/, '');
  const parts = site.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const s = parts.slice(0, i).join('/');
    if (p === '' || s.length >= p.length) out.push(s);
  }
  return out;
}

const Day = z.object({ date: z.string(), value: z.number() });
const Month = { site: z.string(), month: z.string(), tz: z.string(), from: z.string(), to: z.string() };
const WaterQualityReport = z.object({
  ...Month, standard: z.string(), next: z.null(),
  items: z.array(z.object({
    deviceId: z.string(), deviceName: z.string().nullable(), site: z.string(), metric: z.string(), unit: z.string(),
    limit: z.object({ min: z.number().nullable(), max: z.number().nullable() }), samples: z.number().int(), invalidSamples: z.number().int(),
    exceedances: z.number().int(), withinShare: z.number().nullable(), worst: z.object({ value: z.number(), ts: z.string() }).nullable(),
  })),
});
const ConsumptionReport = z.object({
  ...Month, metric: z.string(), unit: z.string(), next: z.null(),
  items: z.array(z.object({ deviceId: z.string(), deviceName: z.string().nullable(), site: z.string(), total: z.number(), days: z.array(Day) })),
  sites: z.array(z.object({ site: z.string(), level: z.number().int(), devices: z.number().int(), total: z.number(), days: z.array(Day) })),
});

export const reportRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/reports/water-quality', {
    config: { roles: READERS },
    schema: {
      tags: ['reports'],
      summary: 'Water-quality compliance for a month (local to tz) per device and metric with a GB 5749-2022 limit: samples, exceedances, share of time within the limit (time-weighted between samples), worst value. Accept: text/csv for CSV.',
      querystring: ReportQuery,
      response: { 200: WaterQualityReport.describe('JSON; with Accept: text/csv, the same rows as CSV'), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req, reply) => {
    const q = req.query;
    const { from, to } = range(q);
    const items = [];
    for (const d of under(ctx, q.site, ['water_quality'])) {
      for (const [metric, limit] of Object.entries(GB5749)) {
        const samples: Array<{ ts: number; value: number }> = [];
        let invalid = 0;
        for await (const p of ctx.store.scan({ deviceId: d.id, metric, from, to })) {
          // a physically impossible value is a sensor fault, not water out of limits
          if (p.quality !== 'ok' || typeof p.value !== 'number') { invalid++; continue; }
          samples.push({ ts: p.ts, value: p.value });
        }
        if (samples.length === 0 && invalid === 0) continue;
        const c = compliance(samples, limit);
        items.push({
          deviceId: d.id, deviceName: d.name, site: d.site, metric, unit: metricDef(metric)?.unit ?? '', limit: { min: limit.min ?? null, max: limit.max ?? null },
          samples: c.samples, invalidSamples: invalid, exceedances: c.exceedances, withinShare: c.withinShare,
          worst: c.worst ? { value: c.worst.value, ts: iso(c.worst.ts) } : null,
        });
      }
    }
    if (wantsCsv(req)) {
      return sendCsv(reply, `water-quality-${q.month}.csv`, [
        ['deviceId', 'deviceName', 'site', 'metric', 'unit', 'limitMin', 'limitMax', 'samples', 'invalidSamples', 'exceedances', 'withinShare', 'worstValue', 'worstTs'],
        ...items.map((i) => [i.deviceId, i.deviceName, i.site, i.metric, i.unit, i.limit.min, i.limit.max, i.samples, i.invalidSamples, i.exceedances, i.withinShare, i.worst?.value, i.worst?.ts]),
      ]);
    }
    return { site: q.site, month: q.month, tz: q.tz, from: iso(from), to: iso(to), standard: 'GB 5749-2022', items, next: null };
  });

  r.get('/reports/consumption', {
    config: { roles: READERS },
    schema: {
      tags: ['reports'],
      summary: 'Consumption in a month (local to tz) per device and per site level (each path at or below site), total and per local day; meter resets handled as in agg=delta. Accept: text/csv for CSV (one row per device or site, one column per day).',
      querystring: ReportQuery.extend({ metric: z.enum(['water_volume_m3', 'energy_import_kwh']) }),
      response: { 200: ConsumptionReport.describe('JSON; with Accept: text/csv, one row per meter and site, one column per day'), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req, reply) => {
    const q = req.query;
    const { from, to, days } = range(q);
    const dayEvery = parseEvery('1d')!;
    const kinds = q.metric === 'water_volume_m3' ? ['water_meter'] : ['electricity_meter'];
    const dayIndex = new Map(days.map((d, i) => [d, i]));
    const localDate = (ts: number) => DateTime.fromMillis(ts, { zone: q.tz }).toISODate()!;
    const items = [];
    const sites = new Map<string, { total: number; days: number[]; devices: number }>();
    for (const d of under(ctx, q.site, kinds)) {
      const previous = await ctx.store.previous(d.id, q.metric, from);
      const points: Point[] = [];
      for await (const p of ctx.store.scan({ deviceId: d.id, metric: q.metric, from, to })) if (p.quality === 'ok') points.push(p);
      if (points.length === 0 && !previous) continue;
      const perDay = new Array<number>(days.length).fill(0);
      for (const b of aggregate(points, { every: dayEvery, agg: 'delta', tz: q.tz, previous })) {
        const i = dayIndex.get(localDate(b.ts));
        if (i !== undefined) perDay[i]! += b.value as number;
      }
      const total = round6(perDay.reduce((a, b) => a + b, 0));
      items.push({ deviceId: d.id, deviceName: d.name, site: d.site, total, days: days.map((date, i) => ({ date, value: round6(perDay[i]!) })) });
      for (const level of levels(d.site, q.site)) {
        let s = sites.get(level);
        if (!s) sites.set(level, (s = { total: 0, days: new Array<number>(days.length).fill(0), devices: 0 }));
        s.devices++;
        s.total += total;
        perDay.forEach((v, i) => { s.days[i]! += v; });
      }
    }
    const siteRows = [...sites.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([site, s]) => ({
      site, level: site.split('/').length, devices: s.devices, total: round6(s.total), days: days.map((date, i) => ({ date, value: round6(s.days[i]!) })),
    }));
    const unit = metricDef(q.metric)?.unit ?? '';
    if (wantsCsv(req)) {
      return sendCsv(reply, `consumption-${q.metric}-${q.month}.csv`, [
        ['scope', 'id', 'site', 'unit', 'total', ...days],
        ...items.map((i) => ['device', i.deviceId, i.site, unit, i.total, ...i.days.map((x) => x.value)]),
        ...siteRows.map((s) => ['site', s.site, s.site, unit, s.total, ...s.days.map((x) => x.value)]),
      ]);
    }
    return { site: q.site, month: q.month, tz: q.tz, metric: q.metric, unit, from: iso(from), to: iso(to), items, sites: siteRows, next: null };
  });
};
