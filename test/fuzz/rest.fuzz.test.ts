/**
 * Hostile REST input: invalid bodies, huge queries, SQL/Flux injection and path traversal
 * in ids and site paths. Every answer is a 4xx with the error shape (or a 2xx), never a 500,
 * and nothing outside the request's own object changes.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { ERROR_CODES } from '../../src/api/common.js';

let gw: TestGateway;
const RUNS = Number(process.env.FUZZ_REST_RUNS ?? 300);
let cases = 0;
beforeAll(async () => {
  gw = await startGateway({ config: { http: { host: '127.0.0.1', port: 0, rateLimitPerMinute: 0 } } });
  await gw.api('/api/v1/devices', { method: 'POST', json: { id: 'victim', model: 'generic.bin-fill', site: 'a/b' } });
});
afterAll(async () => {
  process.stdout.write(`fuzz: ${cases} REST requests\n`);
  await gw?.stop();
});

const nasty = fc.oneof(
  fc.string(),
  fc.constantFrom("victim' OR '1'='1", 'victim"; DROP TABLE readings; --', '../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', 'r._measurement == "x") |> drop()',
    '%00', '\u0000', 'a/b/c/d/e/f', '*', '#', '+', '$SYS', '__proto__', 'constructor', 'x'.repeat(5000), '1e400', '-1', 'NaN', '9'.repeat(30)),
);

async function expectSane(r: { status: number; body: any }, what: string) {
  cases++;
  expect(r.status, what).toBeLessThan(500);
  if (r.status >= 400) {
    expect(typeof r.body?.error, what).toBe('string');
    expect(ERROR_CODES, what).toContain(r.body?.code);
  }
}

describe('REST under hostile input', () => {
  it(`${RUNS} hostile ids, metrics, times and site paths in queries`, async () => {
    await fc.assert(fc.asyncProperty(nasty, nasty, nasty, async (a, b, c) => {
      const q = (s: string) => encodeURIComponent(s);
      await expectSane(await gw.api(`/api/v1/devices/${q(a)}`), `GET device ${a}`);
      await expectSane(await gw.api(`/api/v1/devices/${q(a)}/latest`), `latest ${a}`);
      await expectSane(await gw.api(`/api/v1/telemetry?device=${q(a)}&metric=${q(b)}&from=${q(c)}`), `telemetry ${a} ${b} ${c}`);
      await expectSane(await gw.api(`/api/v1/telemetry?device=victim&metric=fill_pct&every=${q(b)}&agg=mean&tz=${q(c)}`), `bucketed ${b} ${c}`);
      await expectSane(await gw.api(`/api/v1/devices?site=${q(a)}&kind=${q(b)}`), `list ${a}`);
      await expectSane(await gw.api(`/api/v1/sites/${q(a)}/summary`), `summary ${a}`);
      await expectSane(await gw.api(`/api/v1/events?device=${q(a)}&type=${q(b)}&from=${q(c)}`), `events ${a}`);
    }), { numRuns: RUNS, seed: 7 });
  }, 120_000);

  it(`${RUNS} hostile device bodies`, async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.anything(), fc.record({ id: nasty, model: nasty, site: nasty, attributes: fc.anything(), lorawan: fc.anything() })), async (body) => {
      const r = await gw.api('/api/v1/devices', { method: 'POST', body: JSON.stringify(body) ?? 'null', headers: { 'content-type': 'application/json' } });
      await expectSane(r, JSON.stringify(body)?.slice(0, 200) ?? 'undefined');
      if (r.status === 201) await gw.api(`/api/v1/devices/${encodeURIComponent(r.body.device.id)}`, { method: 'DELETE' });
    }), { numRuns: RUNS, seed: 8 });
  }, 120_000);

  it('refuses ten years of 1 s buckets before scanning anything', async () => {
    const r = await gw.api('/api/v1/telemetry?device=victim&metric=fill_pct&from=2016-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&every=1s&agg=mean');
    expect(r.status).toBe(400);
    expect(r.body.details[0].field).toBe('querystring.every');
  });

  it('the victim device and the schema are intact afterwards', async () => {
    const v = await gw.api('/api/v1/devices/victim');
    expect(v.status).toBe(200);
    expect(v.body.site).toBe('a/b');
    const tables = gw.gateway.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((t: any) => t.name);
    expect(tables).toEqual(expect.arrayContaining(['devices', 'readings', 'latest', 'events', 'dead_letters', 'api_keys']));
  });
});
