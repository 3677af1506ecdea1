/**
 * CONTRACT v2 "Lists and errors": every operation in /openapi.json declares its success
 * status with a response schema and its 4xx responses; error codes are listed; /docs loads
 * in a real Chromium without CSP refusals or script errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { ERROR_CODES } from '../../src/api/common.js';

let gw: TestGateway;
beforeAll(async () => { gw = await startGateway(); });
afterAll(async () => gw?.stop());

interface Op { summary?: string; tags?: string[]; security?: unknown[]; responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }

describe('/openapi.json', () => {
  it('every operation: summary, tag, a 2xx with a schema (204 without a body) and a 4xx', async () => {
    const spec = (await gw.api('/openapi.json')).body as { paths: Record<string, Record<string, Op>> };
    const problems: string[] = [];
    let operations = 0;
    const components = (spec as { components?: { schemas?: Record<string, unknown> } }).components?.schemas ?? {};
    const resolve = (schema: unknown): unknown => {
      const s = schema as { $ref?: string; allOf?: unknown[] } | undefined;
      if (s?.$ref) return resolve(components[s.$ref.replace('#/components/schemas/', '')]);
      if (s?.allOf?.length === 1) return resolve(s.allOf[0]);
      return s;
    };
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        operations++;
        const where = `${method.toUpperCase()} ${path}`;
        if (!op.summary) problems.push(`${where}: no summary`);
        if (!op.tags?.length) problems.push(`${where}: no tag`);
        const statuses = Object.keys(op.responses ?? {});
        const ok = statuses.filter((s) => /^2\d\d$/.test(s));
        if (ok.length === 0) problems.push(`${where}: no 2xx response`);
        for (const s of ok) {
          const content = op.responses[s]!.content;
          if (s === '204') { if (content) problems.push(`${where}: 204 with a body`); continue; }
          if (!content || !Object.values(content).every((c) => c.schema)) problems.push(`${where}: ${s} without a schema`);
        }
        if (statuses.includes('200') && method === 'post' && /^\/api\/v1\/(devices|api-keys|integrations|silences)$/.test(path)) problems.push(`${where}: creates, so 201`);
        // the unauthenticated probes (healthz, readyz, metrics) take no input: nothing to refuse
        const probe = Array.isArray(op.security) && op.security.length === 0;
        if (!probe && !statuses.some((s) => /^4\d\d$/.test(s))) problems.push(`${where}: no 4xx response`);
        if (!probe && !(statuses.includes('401') && statuses.includes('403'))) problems.push(`${where}: authenticated, but no 401/403`);
        for (const s of statuses.filter((x) => /^4\d\d$/.test(x))) {
          const schema = resolve(op.responses[s]!.content?.['application/json']?.schema) as { properties?: { code?: { enum?: string[] } } } | undefined;
          if (!ERROR_CODES.every((c) => schema?.properties?.code?.enum?.includes(c))) problems.push(`${where}: ${s} does not list the error codes`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(operations).toBeGreaterThanOrEqual(32);
    // the summary route is a wildcard; it is documented as the path a client calls
    expect(spec.paths['/api/v1/sites/{path}/summary']).toBeDefined();
    expect(Object.keys(spec.paths).some((p) => p.includes('{*}'))).toBe(false);
    expect(spec.paths['/api/v1/devices']!.post!.responses['201']).toBeDefined();
    expect(spec.paths['/api/v1/devices/{id}']!.delete!.responses['204']).toBeDefined();
  });

  it('lists the error codes', async () => {
    const spec = (await gw.api('/openapi.json')).body;
    for (const code of ERROR_CODES) expect(spec.info.description).toContain(code);
  });
});

describe('/docs', () => {
  it('loads in Chromium without CSP refusals or script errors', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text()); });
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`${gw.http}/docs`, { waitUntil: 'networkidle' });
      await page.waitForSelector('.opblock', { timeout: 20_000 });
      expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(32);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
