/** Line protocol, InfluxQL and Flux generation, as exact strings. */
import { describe, expect, it } from 'vitest';
import { deviceTags, escapeKey, escapeMeasurement, fieldValue, readingLine, readingLines } from '../../../src/storage/influx/line-protocol.js';
import { latestManyQuery, latestQuery, previousQuery, rollupSelect, seriesQuery } from '../../../src/storage/influx/influxql.js';
import { fluxString, fluxTime, latestFlux, previousFlux, rollupTask, rollupsFlux, seriesFlux } from '../../../src/storage/influx/flux.js';
import { dayOffset } from '../../../src/storage/influx/backend.js';
import type { Reading } from '../../../src/core/types.js';

const reading = (over: Partial<Reading> = {}): Reading => ({ deviceId: 'wq-1', metric: 'ph', value: 7.1, unit: 'pH', ts: 1_763_776_800_000, receivedAt: 1_763_776_801_000, quality: 'ok', ...over });
const tags = deviceTags({ id: 'wq-1', model: 'generic.water-quality', kind: 'water_quality', site: 'jiangnan/yuhua-garden/b3/u1' });

describe('line protocol', () => {
  it('one measurement per metric, sorted tags, float value, integer quality, ms timestamp', () => {
    expect(readingLine(reading(), tags)).toBe('ph,building=b3,community=jiangnan,compound=yuhua-garden,device=wq-1,kind=water_quality,model=generic.water-quality,unit=u1 value=7.1,quality=0i 1763776800000');
    expect(readingLine(reading({ value: 15, quality: 'out_of_range' }), { device: 'wq-1' })).toBe('ph,device=wq-1 value=15,quality=1i 1763776800000');
  });

  it('booleans, strings and whole numbers', () => {
    expect(fieldValue(true)).toBe('true');
    expect(fieldValue(false)).toBe('false');
    expect(fieldValue(12)).toBe('12'); // a float: the same field written as 12.5 must not conflict
    expect(fieldValue('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"');
    expect(() => fieldValue(Number.NaN)).toThrow(RangeError);
  });

  it('escapes what line protocol reserves, and leaves out empty tag values', () => {
    expect(escapeMeasurement('a b,c=d')).toBe('a\\ b\\,c=d');
    expect(escapeKey('a b,c=d')).toBe('a\\ b\\,c\\=d');
    const t = deviceTags({ id: 'gate 1,east=x', model: 'm', kind: 'door_access', site: '' });
    expect(readingLine(reading({ deviceId: 'gate 1,east=x', metric: 'door_open', value: true }), t)).toBe('door_open,device=gate\\ 1\\,east\\=x,kind=door_access,model=m value=true,quality=0i 1763776800000');
    expect(readingLines([reading(), reading({ ts: 1_763_776_860_000, value: 7.2 })], () => ({ device: 'wq-1', community: '' }))).toEqual([
      'ph,device=wq-1 value=7.1,quality=0i 1763776800000',
      'ph,device=wq-1 value=7.2,quality=0i 1763776860000',
    ]);
  });
});

const T = { database: 'telemetry', retentionPolicy: 'raw' };

describe('InfluxQL', () => {
  it('series, previous, latest', () => {
    expect(seriesQuery(T, { deviceId: 'wq-1', metric: 'ph', from: 0, to: 1_763_776_800_000, limit: 1000 }))
      .toBe(`SELECT "value", "quality" FROM "telemetry"."raw"."ph" WHERE "device" = 'wq-1' AND time >= 0ms AND time < 1763776800000ms ORDER BY time ASC LIMIT 1000`);
    expect(previousQuery(T, { deviceId: "o'brien", metric: 'water_volume_m3', before: 5 }))
      .toBe(`SELECT "value", "quality" FROM "telemetry"."raw"."water_volume_m3" WHERE "device" = 'o\\'brien' AND "quality" = 0 AND time < 5ms ORDER BY time DESC LIMIT 1`);
    expect(latestQuery(T, 'wq-1')).toBe(`SELECT last("value") AS "value", "quality" FROM "telemetry"."raw"./.*/ WHERE "device" = 'wq-1'`);
    expect(latestManyQuery(T, ['p1', 'p2'], ['occupied', 'fill_pct']))
      .toBe(`SELECT last("value") AS "value", "quality" FROM "telemetry"."raw"."occupied", "telemetry"."raw"."fill_pct" WHERE ("device" = 'p1' OR "device" = 'p2') GROUP BY "device"`);
  });

  it('the rollup continuous query body', () => {
    expect(rollupSelect(T, { database: 'telemetry', retentionPolicy: 'rollup_1d' }, ['ph', 'fill_pct'], '1d', '-8h'))
      .toBe('SELECT count("value") AS "count", sum("value") AS "sum", min("value") AS "min", max("value") AS "max", mean("value") AS "mean", first("value") AS "first", last("value") AS "last" INTO "telemetry"."rollup_1d".:MEASUREMENT FROM "telemetry"."raw"."ph", "telemetry"."raw"."fill_pct" WHERE "quality" = 0 GROUP BY time(1d, -8h), *');
  });

  it('local midnight offsets', () => {
    expect(dayOffset('Asia/Shanghai')).toBe('-480m');
    expect(dayOffset('UTC')).toBe('0s');
    expect(dayOffset('Asia/Kolkata')).toBe('-330m');
  });
});

describe('Flux', () => {
  it('strings and times', () => {
    expect(fluxString('a"b\\c${x}')).toBe('"a\\"b\\\\c\\${x}"');
    expect(fluxTime(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(fluxTime(8.64e15)).toBe('2262-04-11T23:47:16.854Z');
  });

  it('series', () => {
    expect(seriesFlux('estate', { deviceId: 'wq-1', metric: 'ph', from: 1_763_776_800_000, to: 1_763_863_200_000, limit: 1000 })).toBe([
      'from(bucket: "estate")',
      '  |> range(start: 2025-11-22T02:00:00.000Z, stop: 2025-11-23T02:00:00.000Z)',
      '  |> filter(fn: (r) => r._measurement == "ph" and r.device == "wq-1")',
      '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
      '  |> group()',
      '  |> sort(columns: ["_time"])',
      '  |> limit(n: 1000)',
      '  |> keep(columns: ["_time", "value", "quality"])',
    ].join('\n'));
  });

  it('stored rollups', () => {
    expect(rollupsFlux('estate_1h', { deviceId: 'wq-1', metric: 'ph', from: 0, to: 3_600_000, limit: 24 })).toBe([
      'from(bucket: "estate_1h")',
      '  |> range(start: 1970-01-01T00:00:00.000Z, stop: 1970-01-01T01:00:00.000Z)',
      '  |> filter(fn: (r) => r._measurement == "ph" and r.device == "wq-1")',
      '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
      '  |> group()',
      '  |> sort(columns: ["_time"])',
      '  |> limit(n: 24)',
    ].join('\n'));
  });

  it('previous and latest', () => {
    expect(previousFlux('estate', { deviceId: 'wm-1', metric: 'water_volume_m3', before: 1_763_776_800_000 })).toBe([
      'from(bucket: "estate")',
      '  |> range(start: 1970-01-01T00:00:00.000Z, stop: 2025-11-22T02:00:00.000Z)',
      '  |> filter(fn: (r) => r._measurement == "water_volume_m3" and r.device == "wm-1")',
      '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
      '  |> filter(fn: (r) => r.quality == 0)',
      '  |> group()',
      '  |> sort(columns: ["_time"], desc: true)',
      '  |> limit(n: 1)',
      '  |> keep(columns: ["_time", "value", "quality"])',
    ].join('\n'));
    expect(latestFlux('estate', { deviceIds: ['p1', 'p2'], metrics: ['occupied'] })).toBe([
      'from(bucket: "estate")',
      '  |> range(start: 1970-01-01T00:00:00.000Z)',
      '  |> filter(fn: (r) => contains(value: r.device, set: ["p1", "p2"]) and r._measurement == "occupied")',
      '  |> last()',
      '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
      '  |> keep(columns: ["_time", "_measurement", "device", "value", "quality"])',
    ].join('\n'));
  });

  it('the rollup task', () => {
    expect(rollupTask('rollup estate_1d', 'estate', 'estate_1d', '1d', ['ph'], 'Asia/Shanghai')).toBe([
      'import "date"',
      'import "timezone"',
      '',
      'option task = {name: "rollup estate_1d", every: 1d, offset: 5m}',
      'option location = timezone.location(name: "Asia/Shanghai")',
      '',
      'stop = date.truncate(t: now(), unit: 1d)',
      'start = date.sub(d: 2d, from: stop)',
      'data = from(bucket: "estate")',
      '  |> range(start: start, stop: stop)',
      '  |> filter(fn: (r) => contains(value: r._measurement, set: ["ph"]))',
      '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
      '  |> filter(fn: (r) => r.quality == 0)',
      '  |> map(fn: (r) => ({r with _value: float(v: r.value), _field: "value"}))',
      '  |> drop(columns: ["value", "quality"])',
      '',
      'data |> aggregateWindow(every: 1d, fn: count, createEmpty: false, timeSrc: "_start") |> set(key: "_field", value: "count") |> to(bucket: "estate_1d")',
      'data |> aggregateWindow(every: 1d, fn: sum, createEmpty: false, timeSrc: "_start") |> set(key: "_field", value: "sum") |> to(bucket: "estate_1d")',
      'data |> aggregateWindow(every: 1d, fn: min, createEmpty: false, timeSrc: "_start") |> set(key: "_field", value: "min") |> to(bucket: "estate_1d")',
      'data |> aggregateWindow(every: 1d, fn: max, createEmpty: false, timeSrc: "_start") |> set(key: "_field", value: "max") |> to(bucket: "estate_1d")',
      'data |> aggregateWindow(every: 1d, fn: mean, createEmpty: false, timeSrc: "_start") |> set(key: "_field", value: "mean") |> to(bucket: "estate_1d")',
      'data |> aggregateWindow(every: 1d, fn: first, createEmpty: false, timeSrc: "_start") |> set(key: "_field", value: "first") |> to(bucket: "estate_1d")',
      'data |> aggregateWindow(every: 1d, fn: last, createEmpty: false, timeSrc: "_start") |> set(key: "_field", value: "last") |> to(bucket: "estate_1d")',
    ].join('\n'));
  });
});
