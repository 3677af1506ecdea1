/** Flux text for the queries the REST API needs (InfluxDB 2.x). Pure: unit-tested as strings. */

export function fluxString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$\{/g, '\\${')}"`;
}

// Flux times are int64 nanoseconds: 1677-09-21 .. 2262-04-11
const MIN_MS = -9_223_372_036_854;
const MAX_MS = 9_223_372_036_854;

export function fluxTime(ms: number): string {
  return new Date(Math.min(MAX_MS, Math.max(MIN_MS, Math.trunc(ms)))).toISOString();
}

const pivot = '|> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")';

/** the first `limit` rows of one series in [from, to), fields pivoted into columns, ascending */
function firstPoints(bucket: string, q: { deviceId: string; metric: string; from: number; to: number; limit: number }): string[] {
  return [
    `from(bucket: ${fluxString(bucket)})`,
    `|> range(start: ${fluxTime(q.from)}, stop: ${fluxTime(q.to)})`,
    `|> filter(fn: (r) => r._measurement == ${fluxString(q.metric)} and r.device == ${fluxString(q.deviceId)})`,
    pivot,
    '|> group()',
    '|> sort(columns: ["_time"])',
    `|> limit(n: ${q.limit})`,
  ];
}

/** points of one series in [fromMs, toMs), ascending */
export function seriesFlux(bucket: string, q: { deviceId: string; metric: string; from: number; to: number; limit: number }): string {
  return [
    ...firstPoints(bucket, q),
    '|> keep(columns: ["_time", "value", "quality"])',
  ].join('\n  ');
}

/** the last good point before `before` */
export function previousFlux(bucket: string, q: { deviceId: string; metric: string; before: number }): string {
  return [
    `from(bucket: ${fluxString(bucket)})`,
    `|> range(start: ${fluxTime(0)}, stop: ${fluxTime(q.before)})`,
    `|> filter(fn: (r) => r._measurement == ${fluxString(q.metric)} and r.device == ${fluxString(q.deviceId)})`,
    pivot,
    '|> filter(fn: (r) => r.quality == 0)',
    '|> group()',
    '|> sort(columns: ["_time"], desc: true)',
    '|> limit(n: 1)',
    '|> keep(columns: ["_time", "value", "quality"])',
  ].join('\n  ');
}

/** the newest point of each (device, metric); devices and metrics optional filters */
export function latestFlux(bucket: string, q: { deviceIds: string[]; metrics?: string[] }): string {
  const set = (xs: string[]) => `[${xs.map(fluxString).join(', ')}]`;
  const conds = [q.deviceIds.length === 1 ? `r.device == ${fluxString(q.deviceIds[0]!)}` : `contains(value: r.device, set: ${set(q.deviceIds)})`];
  if (q.metrics) conds.push(q.metrics.length === 1 ? `r._measurement == ${fluxString(q.metrics[0]!)}` : `contains(value: r._measurement, set: ${set(q.metrics)})`);
  return [
    `from(bucket: ${fluxString(bucket)})`,
    `|> range(start: ${fluxTime(0)})`,
    `|> filter(fn: (r) => ${conds.join(' and ')})`,
    '|> last()',
    pivot,
    '|> keep(columns: ["_time", "_measurement", "device", "value", "quality"])',
  ].join('\n  ');
}

/** stored rollups of one series (a rollup bucket written by rollupTask) */
export function rollupsFlux(bucket: string, q: { deviceId: string; metric: string; from: number; to: number; limit: number }): string {
  return [
    ...firstPoints(bucket, q),
  ].join('\n  ');
}

/**
 * An InfluxDB task that rolls the good points of the numeric metrics up into `dst`: count,
 * sum, min, max, mean, first, last per series and window (the v2 counterpart of the v1
 * continuous queries). Windows are local (the `location` option), and each run recomputes
 * the last two whole windows, so late points are included and rewrites are idempotent.
 */
export function rollupTask(name: string, src: string, dst: string, every: '1h' | '1d', metrics: string[], timezone: string): string {
  return [
    'import "date"',
    'import "timezone"',
    '',
    `option task = {name: ${fluxString(name)}, every: ${every}, offset: 5m}`,
    `option location = timezone.location(name: ${fluxString(timezone)})`,
    '',
    `stop = date.truncate(t: now(), unit: ${every})`,
    `start = date.sub(d: ${every === '1h' ? '2h' : '2d'}, from: stop)`,
    `data = from(bucket: ${fluxString(src)})`,
    '  |> range(start: start, stop: stop)',
    `  |> filter(fn: (r) => contains(value: r._measurement, set: [${metrics.map(fluxString).join(', ')}]))`,
    `  ${pivot}`,
    '  |> filter(fn: (r) => r.quality == 0)',
    '  |> map(fn: (r) => ({r with _value: float(v: r.value), _field: "value"}))',
    '  |> drop(columns: ["value", "quality"])',
    '',
    ...['count', 'sum', 'min', 'max', 'mean', 'first', 'last'].map((fn) =>
      `data |> aggregateWindow(every: ${every}, fn: ${fn}, createEmpty: false, timeSrc: "_start") |> set(key: "_field", value: "${fn}") |> to(bucket: ${fluxString(dst)})`),
  ].join('\n');
}
