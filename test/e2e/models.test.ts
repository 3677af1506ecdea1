/**
 * The console's model pages in a real headless Chromium (Debian's chromium via playwright-core,
 * as console.test.ts) against a real gateway: the navigation to a model, its "test a payload"
 * box for a built-in model and for a user codec, a payload that does not decode, and the
 * Chinese strings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium, newContext } from '../helpers/browser.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let browser: Browser;
let crewToken: string;

beforeAll(async () => {
  gw = await startGateway();
  const k = await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'crew-models-e2e', role: 'crew' } });
  crewToken = k.body.token;
  const m = await gw.api('/api/v1/models', {
    method: 'POST',
    json: {
      id: 'user.acme-t1', vendor: 'Acme', name: 'T1 thermometer', kind: 'water_quality', format: 'binary', reportIntervalS: 600,
      decoder: 'function decodeUplink(input) { return { data: { f: input.bytes[0] } }; }',
      mapping: [{ path: 'f', metric: 'temperature_c', unit: 'degF' }],
    },
  });
  expect(m.status, m.text).toBe(201);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
}, 60_000);

async function signIn(locale = 'en-US'): Promise<{ page: Page; problems: string[] }> {
  const context = await newContext(browser, { viewport: { width: 1280, height: 900 }, locale });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`); });
  await page.goto(`${gw.http}/`);
  await page.locator('input[name="token"]').fill(crewToken);
  await page.locator('form.login button[type="submit"]').click();
  await page.locator('nav a[href="#/models"]').waitFor();
  return { page, problems };
}

describe('console: model pages', () => {
  it('reaches a model from the navigation and decodes its example in the test box', async () => {
    const { page, problems } = await signIn();
    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByRole('heading', { level: 1, name: 'Device models' }).waitFor();
    await page.getByRole('link', { name: 'milesight.em310-udl' }).click();
    await page.getByRole('heading', { level: 2, name: 'Test a payload' }).waitFor();
    // the form is prefilled with the model's first example
    expect(await page.getByLabel('Payload', { exact: true }).inputValue()).toBe('01755C03824408040001');
    expect(await page.getByLabel('FPort (optional)').inputValue()).toBe('85');
    await page.getByLabel('Received at (optional)').fill('2026-03-01T00:00:00Z');
    await page.getByRole('button', { name: 'Decode' }).click();
    await page.locator('.decode-summary', { hasText: '3 readings, 0 events' }).waitFor();
    // browser-side code as a string: the project's TypeScript has no DOM library
    const rows = await page.evaluate<string[][]>(`[...document.querySelectorAll('table.decoded-readings tbody tr')].map((tr) => [tr.dataset.metric, tr.querySelector('.decoded-value').textContent])`);
    expect(rows.map(([m]) => m)).toEqual(['battery_pct', 'distance_mm', 'tilt']);
    expect(rows[1]![1]).toContain('2,116');

    // a payload the model refuses: the dead-letter reason, announced as an alert
    await page.getByLabel('FPort (optional)').fill('1');
    await page.getByRole('button', { name: 'Decode' }).click();
    const error = page.getByRole('alert').filter({ hasText: 'dead letter' });
    await error.waitFor();
    expect(await error.innerText()).toContain('unknown FPort 1');
    expect(problems).toEqual([]);
  }, 60_000);

  it('tests a user codec with its unit conversion, and speaks Chinese', async () => {
    const { page, problems } = await signIn('zh-CN');
    await page.goto(`${gw.http}/#/model/user.acme-t1`);
    await page.getByRole('heading', { level: 2, name: '测试负载' }).waitFor();
    expect(await page.locator('.facts').innerText()).toContain('自定义解码器');
    await page.getByLabel('负载', { exact: true }).fill('D4'); // 212 °F
    await page.getByRole('button', { name: '解码' }).click();
    await page.locator('.decode-summary', { hasText: '1 条读数，0 个事件' }).waitFor();
    const value = await page.locator('table.decoded-readings tr[data-metric="temperature_c"] .decoded-value').innerText();
    expect(value).toMatch(/^100(\.0)?\s*°C$/);
    expect(problems).toEqual([]);
  }, 60_000);
});
