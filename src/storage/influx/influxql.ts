/** InfluxQL text for the queries the REST API needs (InfluxDB 1.x). Pure: unit-tested as strings. */

export function ident(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function literal(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export interface Target { database: string; retentionPolicy: string }

function from(t: Target, measurement: string): string {
  return `${ident(t.database)}.${ident(t.retentionPolicy)}.${ident(measurement)}`;
}

/** points of one series in [fromMs, toMs), ascending */
export function seriesQuery(t: Target, q: { deviceId: string; metric: string; from: number; to: number; limit: number }): string {
  return `SELECT "value", "quality" FROM ${from(t, q.metric)} WHERE "device" = ${literal(q.deviceId)} AND time >= ${Math.trunc(q.from)}ms AND time < ${Math.trunc(q.to)}ms ORDER BY time ASC LIMIT ${q.limit}`;
}

/** the last good point before `before` */
export function previousQuery(t: Target, q: { deviceId: string; metric: string; before: number }): string {
  return `SELECT "value", "quality" FROM ${from(t, q.metric)} WHERE "device" = ${literal(q.deviceId)} AND "quality" = 0 AND time < ${Math.trunc(q.before)}ms ORDER BY time DESC LIMIT 1`;
}

/** the newest point of every metric of one device: one series per measurement */
export function latestQuery(t: Target, deviceId: string): string {
  return `SELECT last("value") AS "value", "quality" FROM ${ident(t.database)}.${ident(t.retentionPolicy)}./.*/ WHERE "device" = ${literal(deviceId)}`;
}

/** the newest point of the given metrics for the given devices, grouped by device */
export function latestManyQuery(t: Target, deviceIds: string[], metrics: string[]): string {
  const devices = deviceIds.map((d) => `"device" = ${literal(d)}`).join(' OR ');
  return `SELECT last("value") AS "value", "quality" FROM ${metrics.map((m) => from(t, m)).join(', ')} WHERE (${devices}) GROUP BY "device"`;
}

/** stored rollups of one series */
export function rollupsQuery(t: Target, q: { deviceId: string; metric: string; from: number; to: number; limit: number }): string {
  return `SELECT "count", "sum", "min", "max", "mean", "first", "last", "first_ts", "last_ts" FROM ${from(t, q.metric)} WHERE "device" = ${literal(q.deviceId)} AND time >= ${Math.trunc(q.from)}ms AND time < ${Math.trunc(q.to)}ms ORDER BY time ASC LIMIT ${q.limit}`;
}

/** the body of a rollup continuous query: count/sum/min/max/mean/first/last of good points per bucket */
export function rollupSelect(src: Target, dst: Target, metrics: string[], every: string, offset?: string): string {
  const measurements = metrics.map((m) => from(src, m)).join(', ');
  return `SELECT count("value") AS "count", sum("value") AS "sum", min("value") AS "min", max("value") AS "max", mean("value") AS "mean", first("value") AS "first", last("value") AS "last" INTO ${ident(dst.database)}.${ident(dst.retentionPolicy)}.:MEASUREMENT FROM ${measurements} WHERE "quality" = 0 GROUP BY time(${every}${offset ? `, ${offset}` : ''}), *`;
}
