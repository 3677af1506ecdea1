import { z } from 'zod';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from '../context.js';
import { ADMIN, CREW, READERS, TimeParam, actor, HttpError, iso } from '../common.js';
import { AlertError, alertJson, type AlertService, type AlertStatus } from '../../alerts/service.js';
import { SEVERITIES } from '../../alerts/rules.js';
import { DeviceIdSchema } from '../../core/ids.js';

const csv = <T extends string>(allowed?: readonly T[]) => z.string().max(500).transform((s, ctx) => {
  const parts = s.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of parts) if (allowed && !allowed.includes(p as T)) ctx.addIssue({ code: 'custom', message: `unknown value ${p} (one of ${allowed.join(', ')})` });
  return parts as T[];
});
const IdParams = z.object({ id: z.string().max(64) });
const Note = z.string().min(1).max(2000);

export const alertRoutes = (ctx: ApiContext, alerts: AlertService): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const act = <T>(fn: () => T): T => {
    try { return fn(); } catch (err) {
      if (err instanceof AlertError) throw new HttpError(err.status, err.message);
      throw err;
    }
  };

  r.get('/alerts', {
    config: { roles: READERS },
    schema: {
      tags: ['alerts'], summary: 'Alerts, most severe then newest first; status is a comma list (default open,acknowledged)',
      querystring: z.strictObject({
        status: csv(['open', 'acknowledged', 'resolved'] as const).optional(), severity: csv(SEVERITIES).optional(), rule: csv().optional(),
        device: z.string().max(200).optional(), site: z.string().max(300).optional(), kind: csv().optional(),
        from: TimeParam.optional(), to: TimeParam.optional(), limit: z.coerce.number().int().min(1).max(10_000).default(500),
      }),
    },
  }, async (req) => {
    const q = req.query;
    const status = (q.status?.length ? q.status : ['open', 'acknowledged']) as AlertStatus[];
    return { alerts: alerts.list({ ...q, status }).map(alertJson) };
  });

  r.get('/alerts/stream', {
    config: { roles: READERS },
    schema: { tags: ['alerts'], summary: 'Server-Sent Events: one event per lifecycle change (alert.opened|updated|acknowledged|assigned|resolved); ?token= for EventSource', querystring: z.object({ token: z.string().optional() }) },
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

  r.get('/alerts/:id', { config: { roles: READERS }, schema: { tags: ['alerts'], params: IdParams } }, async (req) => {
    const a = alerts.get(req.params.id);
    if (!a) throw new HttpError(404, `alert ${req.params.id} not found`);
    return alertJson(a);
  });

  r.post('/alerts/:id/ack', { config: { roles: CREW }, schema: { tags: ['alerts'], params: IdParams, body: z.strictObject({ note: Note.optional() }).optional() } }, async (req) => {
    const a = act(() => alerts.acknowledge(req.params.id, actor(req), req.body?.note));
    ctx.audit.record(actor(req), 'alert.ack', a.id, { rule: a.rule, device: a.deviceId });
    return alertJson(a);
  });
  r.post('/alerts/:id/resolve', { config: { roles: CREW }, schema: { tags: ['alerts'], params: IdParams, body: z.strictObject({ note: Note.optional() }).optional() } }, async (req) => {
    const a = act(() => alerts.resolve(req.params.id, actor(req), req.body?.note));
    ctx.audit.record(actor(req), 'alert.resolve', a.id, { rule: a.rule, device: a.deviceId });
    return alertJson(a);
  });
  r.post('/alerts/:id/assign', { config: { roles: CREW }, schema: { tags: ['alerts'], params: IdParams, body: z.strictObject({ assignee: z.string().min(1).max(100) }) } }, async (req) => {
    const a = act(() => alerts.assign(req.params.id, req.body.assignee, actor(req)));
    ctx.audit.record(actor(req), 'alert.assign', a.id, { assignee: req.body.assignee });
    return alertJson(a);
  });
  r.post('/alerts/:id/notes', { config: { roles: CREW }, schema: { tags: ['alerts'], params: IdParams, body: z.strictObject({ text: Note }) } }, async (req) => {
    const a = act(() => alerts.addNote(req.params.id, actor(req), req.body.text));
    ctx.audit.record(actor(req), 'alert.note', a.id);
    return alertJson(a);
  });

  r.get('/rules', { config: { roles: READERS }, schema: { tags: ['alerts'], summary: 'The active rules with their parameters' } }, async () => ({ rules: alerts.activeRules }));

  r.post('/silences', {
    config: { roles: CREW },
    schema: {
      tags: ['alerts'], summary: 'Silence matching alerts until a time: still recorded, not notified (no MQTT, no webhooks)',
      body: z.strictObject({
        match: z.strictObject({ rule: z.string().max(64).optional(), device: DeviceIdSchema.optional(), site: z.string().max(300).optional() })
          .refine((m) => m.rule !== undefined || m.device !== undefined || m.site !== undefined, 'match needs rule, device or site'),
        until: TimeParam, reason: z.string().min(1).max(500),
      }),
    },
  }, async (req, reply) => {
    if (req.body.until <= ctx.clock()) throw new HttpError(400, 'body.until: must be in the future', [{ field: 'body.until', message: 'must be in the future' }]);
    const s = alerts.addSilence({ match: req.body.match, until: req.body.until, reason: req.body.reason, createdBy: actor(req) });
    ctx.audit.record(actor(req), 'silence.create', s.id, { match: s.match, until: iso(s.until) });
    return reply.code(201).send({ ...s, until: iso(s.until), createdAt: iso(s.createdAt) });
  });
  r.get('/silences', { config: { roles: READERS }, schema: { tags: ['alerts'] } }, async () => ({
    silences: alerts.listSilences().map((s) => ({ ...s, until: iso(s.until), createdAt: iso(s.createdAt), active: s.until > ctx.clock() })),
  }));
  r.delete('/silences/:id', { config: { roles: CREW }, schema: { tags: ['alerts'], params: IdParams } }, async (req, reply) => {
    act(() => alerts.deleteSilence(req.params.id));
    ctx.audit.record(actor(req), 'silence.delete', req.params.id);
    return reply.code(204).send();
  });

  r.get('/webhooks/deliveries', {
    config: { roles: ADMIN },
    schema: { tags: ['alerts'], summary: 'Webhook outbox: pending and delivered rows, attempts, next attempt, last error', querystring: z.strictObject({ status: z.enum(['pending', 'delivered']).optional(), limit: z.coerce.number().int().min(1).max(10_000).default(100) }) },
  }, async (req) => ({ pending: alerts.outbox.pending(), deliveries: alerts.outbox.deliveries(req.query) }));
};
