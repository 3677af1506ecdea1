import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { parse as parseCsv } from 'csv-parse/sync';
import { DeviceIdSchema, DevEuiSchema, SitePathSchema } from '../../core/ids.js';
import { DEVICE_KINDS, metricDef } from '../../core/vocabulary.js';
import type { ModelCatalogue } from '../../core/catalogue.js';
import type { Device, DeviceInput } from '../../registry/devices.js';
import { RegistryError, newCredential } from '../../registry/devices.js';
import type { ApiContext } from '../context.js';
import { ADMIN, AUTH_ERRORS, NoContent, READERS, actor, badRequest, cursorScope, decodeCursor, errorResponses, iso, listQuery, listResponse, notFound, page } from '../common.js';
import type { LatestValue } from '../../storage/telemetry-store.js';
import { WiredAttributeSchemas } from '../../../devices/lib/wired.js';
import { siteWithin } from '../../core/sites.js';

const positive = z.number().positive();
/** Attributes are free-form JSON; the ones the gateway itself reads are checked. */
export const AttributesSchema = z.record(z.string().min(1).max(64), z.json()).superRefine((a, ctx) => {
  const checks: Record<string, z.ZodType> = {
    binDepthMm: positive, litresPerPulse: positive, volumeOffsetM3: z.number(), reportIntervalS: z.number().int().positive(),
    fullThresholdPct: z.number().min(0).max(100), thresholds: z.record(z.string(), z.number()),
    ...WiredAttributeSchemas, // connector, unitId, pollS, registers, meterAddress, phases (docs/connectors.md)
  };
  for (const [k, schema] of Object.entries(checks)) {
    if (a[k] === undefined || a[k] === null) continue;
    const r = schema.safeParse(a[k]);
    if (!r.success) ctx.addIssue({ code: 'custom', path: [k, ...r.error.issues[0]!.path.map(String)], message: r.error.issues[0]!.message });
  }
  if (JSON.stringify(a).length > 16_384) ctx.addIssue({ code: 'custom', message: 'attributes larger than 16 KiB' });
});

// the catalogue changes at run time (user models): the check reads it per request
const modelId = (catalogue: ModelCatalogue) => z.string().min(1).max(100).refine((m) => catalogue.get(m) !== undefined, 'unknown model (see GET /api/v1/models)');
const Lorawan = z.strictObject({ devEui: DevEuiSchema });

export const deviceCreateSchema = (catalogue: ModelCatalogue) => z.strictObject({
  id: DeviceIdSchema,
  model: modelId(catalogue),
  name: z.string().max(200).optional(),
  site: SitePathSchema.optional(),
  attributes: AttributesSchema.optional(),
  lorawan: Lorawan.optional(),
});

const devicePatchSchema = (catalogue: ModelCatalogue) => z.strictObject({
  model: modelId(catalogue).optional(),
  name: z.string().max(200).nullable().optional(),
  site: SitePathSchema.optional(),
  attributes: z.record(z.string().min(1).max(64), z.json().nullable()).optional(),
  lorawan: Lorawan.nullable().optional(),
});

const IdParams = z.object({ id: z.string().max(200) });

const ReadingValueSchema = z.union([z.number(), z.boolean(), z.string()]);
export const DeviceSchema = z.object({
  id: z.string(), model: z.string(), kind: z.enum(DEVICE_KINDS), name: z.string().nullable(), site: z.string(),
  attributes: z.record(z.string(), z.unknown()), lorawan: z.object({ devEui: z.string() }).nullable(),
  online: z.boolean(), lastSeen: z.string().nullable(),
  battery: z.object({ metric: z.enum(['battery_pct', 'battery_v']), value: ReadingValueSchema, unit: z.string().nullable(), ts: z.string().nullable() }).nullable()
    .describe('the last battery reading: battery_pct (%EL) when the device reports it, else battery_v (V)'),
  createdAt: z.string().nullable(), updatedAt: z.string().nullable(),
});
const CredentialsSchema = z.object({ username: z.string(), password: z.string().describe('shown only here; only its hash is stored') });
const LatestSchema = z.object({
  deviceId: z.string(),
  readings: z.record(z.string(), z.object({ value: ReadingValueSchema, unit: z.string().nullable(), ts: z.string().nullable(), quality: z.literal('out_of_range').optional() })),
});

export function sitePrefixMatches(site: string, prefix: string): boolean {
  return siteWithin(site, prefix);
}

function batteryOf(latest: Map<string, LatestValue> | undefined) {
  for (const metric of ['battery_pct', 'battery_v'] as const) {
    const v = latest?.get(metric);
    if (v) return { metric, value: v.value, unit: metricDef(metric)!.unit, ts: iso(v.ts) };
  }
  return null;
}

export function deviceJson(ctx: ApiContext, d: Device, latest?: Map<string, LatestValue>) {
  return {
    id: d.id, model: d.model, kind: d.kind, name: d.name, site: d.site, attributes: d.attributes,
    lorawan: d.lorawan, online: ctx.isOnline(d), lastSeen: iso(d.lastSeen), battery: batteryOf(latest),
    createdAt: iso(d.createdAt), updatedAt: iso(d.updatedAt),
  };
}

const csvValue = (v: string): unknown => {
  const t = v.trim();
  if (t === '') return undefined;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  return t;
};

/** CSV rows -> device objects: columns id, model, name, site, devEui (or lorawan.devEui), attributes (JSON) and attributes.<key>. */
function csvRows(text: string): unknown[] {
  const records = parseCsv(text, { columns: (h: string[]) => h.map((c) => c.trim()), skip_empty_lines: true, trim: true, bom: true, relax_column_count: false }) as Array<Record<string, string>>;
  return records.map((rec) => {
    const out: Record<string, unknown> = {};
    const attributes: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rec)) {
      if (v === '' || v === undefined) continue;
      if (k === 'devEui' || k === 'lorawan.devEui') out.lorawan = { devEui: v };
      else if (k === 'attributes') {
        try { Object.assign(attributes, JSON.parse(v)); } catch { out.attributes = v; }
      } else if (k.startsWith('attributes.')) attributes[k.slice(11)] = csvValue(v);
      else out[k] = v;
    }
    if (Object.keys(attributes).length && out.attributes === undefined) out.attributes = attributes;
    return out;
  });
}

export const deviceRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const DeviceCreateSchema = deviceCreateSchema(ctx.catalogue);
  const DevicePatchSchema = devicePatchSchema(ctx.catalogue);

  r.post('/devices', { config: { roles: ADMIN }, schema: {
    tags: ['devices'], summary: 'Provision a device; its secret is returned once', body: DeviceCreateSchema,
    response: { 201: z.object({ device: DeviceSchema, credentials: CredentialsSchema }), ...errorResponses(400, 409, 413, ...AUTH_ERRORS) },
  } }, async (req, reply) => {
    const { device, secret } = await ctx.registry.create(req.body as DeviceInput);
    ctx.audit.record(actor(req), 'device.create', device.id, { model: device.model, site: device.site });
    return reply.code(201).send({ device: deviceJson(ctx, device), credentials: { username: device.id, password: secret } });
  });

  r.post('/devices/bulk', {
    config: { roles: ADMIN },
    schema: {
      tags: ['devices'], summary: 'Idempotent bulk upsert: JSON array or text/csv; credentials for newly created devices only', body: z.union([z.array(z.unknown()).max(10_000), z.string().max(10_000_000)]),
      response: {
        200: z.object({
          created: z.number().int(), updated: z.number().int(),
          errors: z.array(z.object({ row: z.number().int(), id: z.string().optional(), error: z.string() })),
          credentials: z.array(z.object({ id: z.string(), username: z.string(), password: z.string() })),
        }),
        ...errorResponses(400, 413, 415, ...AUTH_ERRORS),
      },
    },
  }, async (req) => {
    let rows: unknown[];
    if (typeof req.body === 'string') {
      try { rows = csvRows(req.body); } catch (err) { throw badRequest('body', `invalid CSV: ${(err as Error).message}`); }
      if (rows.length > 10_000) throw badRequest('body', 'more than 10000 rows');
    } else rows = req.body as unknown[];
    let created = 0;
    let updated = 0;
    const errors: Array<{ row: number; id?: string; error: string }> = [];
    const credentials: Array<{ id: string; username: string; password: string }> = [];
    // scrypt for every new device, four at a time in the thread pool, before the upserts
    const fresh = rows.filter((row) => {
      const id = (row as { id?: unknown })?.id;
      return typeof id === 'string' && !ctx.registry.get(id);
    }).length;
    const pool: Array<{ secret: string; hash: string }> = [];
    for (let i = 0; i < fresh; i += 4) pool.push(...(await Promise.all(Array.from({ length: Math.min(4, fresh - i) }, () => newCredential()))));
    for (const [i, row] of rows.entries()) {
      const parsed = DeviceCreateSchema.safeParse(row);
      const id = typeof (row as { id?: unknown })?.id === 'string' ? (row as { id: string }).id : undefined;
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        errors.push({ row: i + 1, ...(id ? { id } : {}), error: `${issue.path.join('.') || 'row'}: ${issue.message}` });
        continue;
      }
      try {
        const res = await ctx.registry.upsert(parsed.data as DeviceInput, ctx.registry.get(parsed.data.id) ? undefined : pool.pop());
        if (res.created) { created++; credentials.push({ id: res.device.id, username: res.device.id, password: res.secret! }); } else updated++;
      } catch (err) {
        if (!(err instanceof RegistryError)) throw err;
        errors.push({ row: i + 1, id: parsed.data.id, error: err.message });
      }
    }
    ctx.audit.record(actor(req), 'device.bulk', `${rows.length} rows`, { created: credentials.map((c) => c.id), updated, errors: errors.length });
    return { created, updated, errors, credentials };
  });

  r.get('/devices', {
    config: { roles: READERS },
    schema: {
      tags: ['devices'],
      summary: 'Devices by id; filters: model, kind, site (path prefix), online, q (substring of id, name, model or site, any case)',
      querystring: z.strictObject({
        model: z.string().max(100).refine((m) => ctx.catalogue.get(m) !== undefined, 'unknown model (see GET /api/v1/models)').optional(),
        kind: z.enum(DEVICE_KINDS).optional(), site: z.string().max(300).optional(),
        online: z.enum(['true', 'false']).optional(), q: z.string().min(1).max(200).optional(),
        ...listQuery,
      }),
      response: { 200: listResponse(DeviceSchema), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const q = req.query;
    const scope = cursorScope(q);
    const after = decodeCursor(q.cursor, scope)?.[0];
    const needle = q.q?.toLowerCase();
    // ids compared by code unit (not localeCompare): the order a cursor continues must be total and stable
    const rows = [...ctx.registry.all()].filter((d) =>
      (after === undefined || d.id > String(after))
      && (q.model === undefined || d.model === q.model) && (q.kind === undefined || d.kind === q.kind)
      && (q.site === undefined || sitePrefixMatches(d.site, q.site))
      && (needle === undefined || d.id.toLowerCase().includes(needle) || (d.name ?? '').toLowerCase().includes(needle) || d.site.toLowerCase().includes(needle) || d.model.toLowerCase().includes(needle))
      && (q.online === undefined || ctx.isOnline(d) === (q.online === 'true'))).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, q.limit + 1);
    const latest = await ctx.store.latestMany(rows.slice(0, q.limit).map((d) => d.id), ['battery_pct', 'battery_v']);
    return page(rows, q.limit, (d) => [d.id], scope, (d) => deviceJson(ctx, d, latest.get(d.id)));
  });

  r.get('/devices/:id', {
    config: { roles: READERS },
    schema: { tags: ['devices'], summary: 'One device with online state, last seen and last battery reading', params: IdParams, response: { 200: DeviceSchema, ...errorResponses(400, 404, ...AUTH_ERRORS) } },
  }, async (req) => {
    const d = ctx.registry.get(req.params.id);
    if (!d) throw notFound(`device ${req.params.id}`, 'params.id');
    return deviceJson(ctx, d, await ctx.store.latest(d.id));
  });

  r.patch('/devices/:id', {
    config: { roles: ADMIN },
    schema: {
      tags: ['devices'], summary: 'Change a device: given fields replace, attributes merge (null deletes a key)', params: IdParams, body: DevicePatchSchema,
      response: { 200: DeviceSchema, ...errorResponses(400, 404, 409, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const body = req.body;
    if (body.attributes) {
      const merged = { ...(ctx.registry.get(req.params.id)?.attributes ?? {}), ...body.attributes };
      for (const [k, v] of Object.entries(merged)) if (v === null) delete merged[k];
      const check = AttributesSchema.safeParse(merged);
      if (!check.success) throw badRequest(`body.attributes.${check.error.issues[0]!.path.join('.')}`, check.error.issues[0]!.message);
    }
    const d = await ctx.registry.update(req.params.id, body as Partial<DeviceInput>);
    ctx.audit.record(actor(req), 'device.update', d.id, { fields: Object.keys(body) });
    return deviceJson(ctx, d, await ctx.store.latest(d.id));
  });

  r.delete('/devices/:id', {
    config: { roles: ADMIN },
    schema: { tags: ['devices'], summary: 'Delete a device (its history stays until retention prunes it)', params: IdParams, response: { 204: NoContent, ...errorResponses(400, 404, ...AUTH_ERRORS) } },
  }, async (req, reply) => {
    await ctx.registry.delete(req.params.id);
    ctx.audit.record(actor(req), 'device.delete', req.params.id);
    return reply.code(204).send(null);
  });

  r.post('/devices/:id/credentials', {
    config: { roles: ADMIN },
    schema: {
      tags: ['devices'], summary: 'Rotate the device secret; the old one stops working at once', params: IdParams,
      response: { 200: z.object({ credentials: CredentialsSchema }), ...errorResponses(400, 404, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const secret = await ctx.registry.rotate(req.params.id);
    ctx.audit.record(actor(req), 'device.rotate-credentials', req.params.id);
    return { credentials: { username: req.params.id, password: secret } };
  });

  r.get('/devices/:id/latest', {
    config: { roles: READERS },
    schema: { tags: ['telemetry'], summary: 'The last value of every metric of a device', params: IdParams, response: { 200: LatestSchema, ...errorResponses(400, 404, ...AUTH_ERRORS) } },
  }, async (req) => {
    const d = ctx.registry.get(req.params.id);
    if (!d) throw notFound(`device ${req.params.id}`, 'params.id');
    const latest = await ctx.store.latest(d.id);
    const readings: z.infer<typeof LatestSchema>['readings'] = {};
    for (const [metric, v] of [...latest.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      readings[metric] = { value: v.value, unit: metricDef(metric)?.unit ?? null, ts: iso(v.ts), ...(v.quality !== 'ok' ? { quality: 'out_of_range' as const } : {}) };
    }
    return { deviceId: d.id, readings };
  });
};
