/**
 * A user model: what an admin POSTs to /api/v1/models and what the user_models table keeps.
 * The decoder is a TTN-style payload formatter; the mapping says which of its output
 * fields are which vocabulary metrics, in which unit.
 */
import { z } from 'zod';
import { DEVICE_KINDS, EVENT_TYPES, metricDef } from '../core/vocabulary.js';
import { converter, knownUnits } from './units.js';

/** `user.` + a lower-case name: never equal to a built-in id, now or in a later release */
export const USER_MODEL_ID = /^user\.[a-z0-9]+(?:[.-][a-z0-9]+)*$/;

/** a dotted path into the codec's `data`: `temperature`, `sensors.0.value` */
const PathSchema = z.string().min(1).max(200).regex(/^[A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*$/, 'a dotted path of field names or array indexes, e.g. sensors.0.value');

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const FieldMappingSchema = z.strictObject({
  /** field of `data` */
  path: PathSchema,
  /** vocabulary metric (GET /api/v1/models lists the metrics with their units) */
  metric: z.string().refine((m) => metricDef(m) !== undefined, 'not a metric of the vocabulary (docs/vocabulary.md)'),
  /** value = field × scale + offset, then converted from `unit` into the metric's unit */
  scale: finite.optional(),
  offset: finite.optional(),
  /** the unit the field (after scale and offset) is in, when not already the metric's unit */
  unit: z.string().min(1).max(20).optional(),
}).superRefine((f, ctx) => {
  const def = metricDef(f.metric);
  if (!def) return;
  if (def.type !== 'number' && (f.scale !== undefined || f.offset !== undefined || f.unit !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['metric'], message: `${f.metric} is a ${def.type}: scale, offset and unit apply to numbers only` });
  }
  if (f.unit !== undefined && def.type === 'number' && !converter(f.unit, def.unit)) {
    ctx.addIssue({ code: 'custom', path: ['unit'], message: `no conversion from ${f.unit} to ${def.unit ?? 'a unitless metric'} (${f.metric}); known: ${knownUnits(def.unit).join(', ') || 'none'}` });
  }
});

export const EventMappingSchema = z.strictObject({
  type: z.enum(EVENT_TYPES),
  /** the event is recorded when this field equals `equals` */
  path: PathSchema,
  equals: z.union([z.boolean(), z.number(), z.string()]).default(true),
  /** event data: key → dotted path of `data` */
  data: z.record(z.string().min(1).max(64), PathSchema).optional(),
});

export const UserModelSchema = z.strictObject({
  id: z.string().max(100).regex(USER_MODEL_ID, 'must be user.<name>, lower-case (built-in ids are vendor.model)'),
  vendor: z.string().min(1).max(100),
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  kind: z.enum(DEVICE_KINDS),
  /** binary: input.bytes is the frame; json: input.json is the parsed payload as well */
  format: z.enum(['binary', 'json']),
  /** FPorts the codec accepts; a message on another port is a dead letter. Absent: any */
  ports: z.array(z.number().int().min(0).max(255)).max(256).optional(),
  reportIntervalS: z.number().int().positive().max(31 * 86_400),
  lowBatteryV: z.number().positive().optional(),
  /** JavaScript defining `function decodeUplink(input) { return {data, errors?, warnings?} }` */
  decoder: z.string().min(1).max(65_536),
  mapping: z.array(FieldMappingSchema).min(1).max(200),
  events: z.array(EventMappingSchema).max(50).optional(),
  /** a field of `data` that no mapping names: ignored (default) or the message is a dead letter */
  unmapped: z.enum(['ignore', 'reject']).default('ignore'),
}).superRefine((m, ctx) => {
  const seen = new Map<string, number>();
  m.mapping.forEach((f, i) => {
    if (seen.has(f.metric)) ctx.addIssue({ code: 'custom', path: ['mapping', i, 'metric'], message: `${f.metric} is already mapped (mapping.${seen.get(f.metric)})` });
    seen.set(f.metric, i);
  });
});
export type UserModelDefinition = z.infer<typeof UserModelSchema>;
export type FieldMapping = z.infer<typeof FieldMappingSchema>;
