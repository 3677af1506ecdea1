/**
 * InfluxDB line protocol for normalised readings (docs/storage.md has the schema):
 *
 *   <metric>,<tags sorted by key> value=<v>,quality=<0i|1i> <epoch ms>
 *
 * One measurement per metric, so a field keeps one type for ever (the vocabulary fixes
 * it) and a Grafana panel is one measurement. Tags are the device and what is a function
 * of the device (model, kind, the four site levels): they add no series beyond one per
 * (device, metric). Writes use precision=ms, the resolution of the whole gateway.
 */
import type { Reading } from '../../core/types.js';
import type { ReadingValue } from '../../core/model.js';

export const SITE_LEVELS = ['community', 'compound', 'building', 'unit'] as const;

/** Tags of a device's series: device, model, kind and the site levels that are set. */
export type SeriesTags = Record<string, string>;

export function deviceTags(device: { id: string; model: string; kind: string; site: string }): SeriesTags {
  const tags: SeriesTags = { device: device.id, model: device.model, kind: device.kind };
  const levels = device.site.split('/').filter((s) => s.length > 0);
  levels.slice(0, SITE_LEVELS.length).forEach((level, i) => { tags[SITE_LEVELS[i]!] = level; });
  return tags;
}

/** measurement names: commas and spaces escaped */
export function escapeMeasurement(s: string): string {
  return s.replace(/[\\, \n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** tag keys, tag values and field keys: commas, equals signs and spaces escaped */
export function escapeKey(s: string): string {
  return s.replace(/[\\,= \n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** string field values: double quotes and backslashes escaped, then quoted */
export function quoteString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function fieldValue(v: ReadingValue): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return quoteString(v);
  if (!Number.isFinite(v)) throw new RangeError(`not a finite number: ${v}`);
  // a plain number is a float in line protocol; integers would need an "i" suffix and would
  // then clash with the float type of the same field written with a fraction
  return String(v);
}

export function tagSet(tags: SeriesTags): string {
  let out = '';
  for (const key of Object.keys(tags).sort()) {
    const value = tags[key]!;
    if (value === '') continue; // line protocol has no empty tag values
    out += `,${escapeKey(key)}=${escapeKey(value)}`;
  }
  return out;
}

export function readingLine(r: Reading, tags: SeriesTags): string {
  return `${escapeMeasurement(r.metric)}${tagSet(tags)} value=${fieldValue(r.value)},quality=${r.quality === 'out_of_range' ? 1 : 0}i ${Math.trunc(r.ts)}`;
}

/** Lines for a batch; the tag set of each device is built once. */
export function readingLines(readings: Reading[], tagsOf: (deviceId: string) => SeriesTags): string[] {
  const cache = new Map<string, string>();
  const out: string[] = new Array(readings.length);
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i]!;
    let tags = cache.get(r.deviceId);
    if (tags === undefined) cache.set(r.deviceId, (tags = tagSet(tagsOf(r.deviceId))));
    out[i] = `${escapeMeasurement(r.metric)}${tags} value=${fieldValue(r.value)},quality=${r.quality === 'out_of_range' ? 1 : 0}i ${Math.trunc(r.ts)}`;
  }
  return out;
}
