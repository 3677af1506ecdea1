import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from '../context.js';
import {
  ADMIN, AUTH_ERRORS, CREW, NoContent, READERS, TimeParam, actor, badRequest, cursorScope, decodeCursor, errorResponses, HttpError, iso,
  listQuery, listResponse, orderQuery, page, unknownValue,
} from '../common.js';
import { AlertError, alertJson, type Alert, type AlertService, type AlertStatus } from '../../alerts/service.js';
import { SEVERITIES } from '../../alerts/rules.js';
import { DeviceIdSchema } from '../../core/ids.js';
import { DEVICE_KINDS } from '../../core/vocabulary.js';
import { sitePrefixMatches } from './devices.js';

const csv = <T extends string>(allowed?: readonly T[]) => z.string().max(500).transform((s, ctx) => {
  const parts = s.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of parts) if (allowed && !allowed.includes(p as T)) ctx.addIssue({ code: 'custom', message: `unknown value ${p} (one of ${allowed.join(', ')})` });
  return parts as T[];
});
const IdParams = z.object({ id: z.string().max(64) });
const Note = z.string().min(1).max(2000);
const STATUSES = ['open', 'acknowledged', 'resolved'] as const;

const Value = z.union([z.number(), z.boolean(), z.string()]);
export const AlertSchema = z.object({
  id: z.string(), rule: z.string(), severity: z.enum(SEVERITIES), status: z.enum(STATUSES), deviceId: z.string(), kind: z.string().nullable(), site: z.string(),
  metric: z.string().nullable(), value: Value.nullable(), threshold: z.number().nullable(), message: z.string(),
  openedAt: z.string().nullable(), lastSeenAt: z.string().nullable(), occurrences: z.number().int(),
  acknowledgedAt: z.string().nullable(), acknowledgedBy: z.string().nullable(), assignee: z.string().nullable(),
  resolvedAt: z.string().nullable(), resolvedBy: z.string().nullable(), resolution: z.enum(['auto', 'manual']).nullable(),
  notes: z.array(z.object({ at: z.string().nullable(), by: z.string(), text: z.string() })), silenced: z.boolean(),
  // CONTRACT v2 "Notification channels and escalation"
  escalation: z.object({ policy: z.string(), step: z.number().int().nullable(), nextAt: z.string().nullable() }).nullable()
    .describe('the escalation policy this alert follows, the last step taken and when the next is due (null: none)'),
  notifications: z.array(z.object({
    channel: z.string(), step: z.number().int().nullable(), event: z.string(), at: z.string().nullable(),
    status: z.enum(['sent', 'failed', 'pending']), attempts: z.number().int(), error: z.string().optional(),
  })).describe('channel messages sent or due for this alert, in order'),
});
/** Loose: conditions are as many shapes as condition types (docs/alerts.md) */
const RuleOutSchema = z.looseObject({
  id: z.string(), description: z.string(), kinds: z.array(z.string()).optional(), severity: z.enum(SEVERITIES),
  conditions: z.array(z.looseObject({ type: z.string() })), message: z.string(), autoResolve: z.boolean(), enabled: z.boolean(),
});
const SilenceSchema = z.object({
  id: z.string(), match: z.object({ rule: z.string().optional(), device: z.string().optional(), site: z.string().optional() }),
  until: z.string().nullable(), reason: z.string(), createdBy: z.string(), createdAt: z.string().nullable(), active: z.boolean(),
});
const DeliverySchema = z.object({
  id: z.string(), webhook: z.string(), event: z.string(), alertId: z.string(), createdAt: z.string(), status: z.enum(['pending', 'delivered']),
  attempts: z.number().int(), nextAttemptAt: z.string().nullable(), deliveredAt: z.string().nullable(), lastStatus: z.number().nullable(), lastError: z.string().nullable(),
});
const OptionalNote = z.strictObject({ note: Note.optional() }).nullish().describe('optional; no body at all is fine');

export const alertRoutes = (ctx: ApiContext, alerts: AlertService): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const act = <T>(fn: () => T): T => {
    try { return fn(); } catch (err) {
      if (err instanceof AlertError) throw new HttpError(err.status, err.message, err.status === 404 ? [{ field: 'params.id', message: err.message }] : undefined);
      throw err;
    }
  };
  const actAsync = async <T>(fn: () => Promise<T>): Promise<T> => {
    try { return await fn(); } catch (err) { return act(() => { throw err; }); }
  };
  const one = { 200: AlertSchema, ...errorResponses(400, 404, 409, ...AUTH_ERRORS) };
  /** the alert JSON with its escalation and notifications (cluster mode: from the shared tables) */
  const full = async (a: Alert) => alertJson((await alerts.withNotifications([a]))[0]!);
  /** after a committed action: the change is made, so an unreachable escalation table does not turn it into an error */
  const done = async (a: Alert) => full(a).catch(() => alertJson(a));

  r.get('/alerts', {
    config: { roles: READERS },
    schema: {
      tags: ['alerts'], summary: 'Alerts, newest first (openedAt) unless order=asc; status is a comma list (default open,acknowledged)',
      querystring: z.strictObject({
        status: csv(STATUSES).optional(), severity: csv(SEVERITIES).optional(), rule: csv().optional(),
        device: z.string().max(200).optional(), site: z.string().max(300).optional(), kind: csv(DEVICE_KINDS).optional(),
        from: TimeParam.optional(), to: TimeParam.optional(), ...listQuery, ...orderQuery,
      }),
      response: { 200: listResponse(AlertSchema), ...errorResponses(400, ...AUTH_ERRORS, 503) },
    },
  }, async (req) => {
    const q = req.query;
    for (const rule of q.rule ?? []) if (!alerts.knowsRule(rule)) throw unknownValue('querystring.rule', `unknown rule ${rule} (see GET /api/v1/rules)`);
    const scope = cursorScope(q);
    const c = decodeCursor(q.cursor, scope);
    const status = (q.status?.length ? q.status : ['open', 'acknowledged']) as AlertStatus[];
    const rows = await alerts.withNotifications(alerts.list({ ...q, status, limit: q.limit + 1, ...(c ? { after: { openedAt: Number(c[0]), id: String(c[1]) } } : {}) }));
    return page(rows, q.limit, (a) => [a.openedAt, a.id], scope, alertJson);
  });

  r.get('/alerts/stream', {
    config: { roles: READERS },
    schema: {
      tags: ['alerts'], summary: 'Server-Sent Events: one event per lifecycle change (alert.opened|updated|acknowledged|assigned|resolved); ?token= for EventSource',
      querystring: z.object({ token: z.string().optional() }),
      response: { 200: { description: 'text/event-stream; data: the alert JSON', content: { 'text/event-stream': { schema: z.string() } } }, ...errorResponses(...AUTH_ERRORS) },
    },
  }, async (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': connected\n\n');
    const off = alerts.onEvent((event, a) => { res.write(`event: ${event}\nid: ${a.id}-${a.occurrences}-${Date.now()}\ndata: ${JSON.stringify(alertJson(a))}\n\n`); });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    // CONTRACT v2 "Sessions follow credentials": the stream ends when its API key is deleted
    const keyName = req.apiKey?.name;
    const unsubscribe = ctx.revocations?.subscribe(({ principal }) => {
      if (principal.type === 'consumer' && principal.name === keyName) res.end();
    });
    req.raw.on('close', () => { off(); clearInterval(heartbeat); unsubscribe?.(); });
    res.on('close', () => { off(); clearInterval(heartbeat); unsubscribe?.(); });
  });

  r.get('/alerts/:id', { config: { roles: READERS }, schema: { tags: ['alerts'], summary: 'One alert', params: IdParams, response: { 200: AlertSchema, ...errorResponses(400, 404, ...AUTH_ERRORS, 503) } } }, async (req) => {
    const a = alerts.get(req.params.id);
    if (!a) throw new HttpError(404, `alert ${req.params.id} not found`, [{ field: 'params.id', message: 'no alert with this id' }]);
    return full(a);
  });

  r.post('/alerts/:id/ack', { config: { roles: CREW }, schema: { tags: ['alerts'], summary: 'Acknowledge: the crew is on it (409 when resolved)', params: IdParams, body: OptionalNote, response: one } }, async (req) => {
    const a = await actAsync(() => alerts.acknowledge(req.params.id, actor(req), req.body?.note));
    ctx.audit.record(actor(req), 'alert.ack', a.id, { rule: a.rule, device: a.deviceId });
    return done(a);
  });
  r.post('/alerts/:id/resolve', { config: { roles: CREW }, schema: { tags: ['alerts'], summary: 'Resolve by hand (resolution manual; 409 when resolved already)', params: IdParams, body: OptionalNote, response: one } }, async (req) => {
    const a = await actAsync(() => alerts.resolve(req.params.id, actor(req), req.body?.note));
    ctx.audit.record(actor(req), 'alert.resolve', a.id, { rule: a.rule, device: a.deviceId });
    return done(a);
  });
  r.post('/alerts/:id/assign', { config: { roles: CREW }, schema: { tags: ['alerts'], summary: 'Assign to a person or crew (409 when resolved)', params: IdParams, body: z.strictObject({ assignee: z.string().min(1).max(100) }), response: one } }, async (req) => {
    const a = await actAsync(() => alerts.assign(req.params.id, req.body.assignee, actor(req)));
    ctx.audit.record(actor(req), 'alert.assign', a.id, { assignee: req.body.assignee });
    return done(a);
  });
  r.post('/alerts/:id/notes', { config: { roles: CREW }, schema: { tags: ['alerts'], summary: 'Add a note', params: IdParams, body: z.strictObject({ text: Note }), response: one } }, async (req) => {
    const a = await actAsync(() => alerts.addNote(req.params.id, actor(req), req.body.text));
    ctx.audit.record(actor(req), 'alert.note', a.id);
    return done(a);
  });

  r.get('/rules', {
    config: { roles: READERS },
    schema: {
      tags: ['alerts'], summary: 'The active rules with their parameters, by id', querystring: z.strictObject({ ...listQuery }),
      response: { 200: listResponse(RuleOutSchema), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const scope = cursorScope(req.query);
    const after = decodeCursor(req.query.cursor, scope)?.[0];
    const rows = [...alerts.activeRules].filter((x) => after === undefined || x.id > String(after)).sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, req.query.limit + 1);
    return page(rows, req.query.limit, (x) => [x.id], scope);
  });

  r.post('/silences', {
    config: { roles: CREW },
    schema: {
      tags: ['alerts'], summary: 'Silence matching alerts until a time: still recorded, not notified (no MQTT, no webhooks). rule, device and site must exist.',
      body: z.strictObject({
        match: z.strictObject({ rule: z.string().max(64).optional(), device: DeviceIdSchema.optional(), site: z.string().max(300).optional() })
          .refine((m) => m.rule !== undefined || m.device !== undefined || m.site !== undefined, 'match needs rule, device or site'),
        until: TimeParam, reason: z.string().min(1).max(500),
      }),
      response: { 201: SilenceSchema, ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req, reply) => {
    const { match } = req.body;
    if (req.body.until <= ctx.clock()) throw badRequest('body.until', 'must be in the future');
    // a silence that can match nothing is a typo: say so instead of silencing nothing
    if (match.rule !== undefined && !alerts.knowsRule(match.rule)) throw unknownValue('body.match.rule', `unknown rule ${match.rule} (see GET /api/v1/rules)`);
    if (match.device !== undefined && !ctx.registry.get(match.device)) throw unknownValue('body.match.device', `unknown device ${match.device}`);
    if (match.site !== undefined && ![...ctx.registry.all()].some((d) => sitePrefixMatches(d.site, match.site!))) throw unknownValue('body.match.site', `no device in site ${match.site}`);
    const s = await alerts.addSilence({ match, until: req.body.until, reason: req.body.reason, createdBy: actor(req) });
    ctx.audit.record(actor(req), 'silence.create', s.id, { match: s.match, until: iso(s.until) });
    return reply.code(201).send({ ...s, until: iso(s.until), createdAt: iso(s.createdAt), active: true });
  });
  r.get('/silences', {
    config: { roles: READERS },
    schema: {
      tags: ['alerts'], summary: 'Silences, newest first unless order=asc (active: until is in the future)', querystring: z.strictObject({ ...listQuery, ...orderQuery }),
      response: { 200: listResponse(SilenceSchema), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const q = req.query;
    const scope = cursorScope(q);
    const after = decodeCursor(q.cursor, scope)?.[0];
    const desc = q.order === 'desc';
    // ULIDs sort by creation time
    const rows = alerts.listSilences().filter((s) => after === undefined || (desc ? s.id < String(after) : s.id > String(after)))
      .sort((a, b) => (a.id < b.id ? -1 : 1) * (desc ? -1 : 1)).slice(0, q.limit + 1);
    return page(rows, q.limit, (s) => [s.id], scope, (s) => ({ ...s, until: iso(s.until), createdAt: iso(s.createdAt), active: s.until > ctx.clock() }));
  });
  r.delete('/silences/:id', {
    config: { roles: CREW },
    schema: { tags: ['alerts'], summary: 'Delete a silence', params: IdParams, response: { 204: NoContent, ...errorResponses(400, 404, ...AUTH_ERRORS) } },
  }, async (req, reply) => {
    await actAsync(() => alerts.deleteSilence(req.params.id));
    ctx.audit.record(actor(req), 'silence.delete', req.params.id);
    return reply.code(204).send(null);
  });

  r.get('/webhooks/deliveries', {
    config: { roles: ADMIN },
    schema: {
      tags: ['alerts'], summary: 'Webhook outbox rows, newest first unless order=asc: attempts, next attempt, last error',
      querystring: z.strictObject({ status: z.enum(['pending', 'delivered']).optional(), ...listQuery, ...orderQuery }),
      response: { 200: listResponse(DeliverySchema), ...errorResponses(400, ...AUTH_ERRORS) },
    },
  }, async (req) => {
    const q = req.query;
    const scope = cursorScope(q);
    const after = decodeCursor(q.cursor, scope)?.[0];
    const rows = alerts.outbox.deliveries({ status: q.status, limit: q.limit + 1, order: q.order, afterId: after === undefined ? undefined : Number(after) });
    return page(rows, q.limit, (d) => [Number(d.id)], scope);
  });
};
