/**
 * The console's alert follow-up end to end in a real Chromium against a real gateway:
 * silence an alert from the board, see it on the silences page and end it, the alert
 * history on the device page, the reports page with a CSV download, and screenshots of
 * each in English and Chinese (Noto CJK is installed, so the Chinese UI is seen, not only
 * read from the DOM). Screenshots go to test/artifacts/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { launchChromium, newContext } from '../helpers/browser.js';
import { ROOT, startGateway, type TestGateway } from '../helpers/gateway.js';
import { connect, publish } from '../helpers/mqtt.js';

const ARTIFACTS = join(ROOT, 'test/artifacts');
const SITE = 'jiangnan/yuhua-garden/b3/u1';

const SHANGHAI = 8 * 3600_000; // the site's zone and the console's (no daylight saving)
/** when the month holding `ts` began in Asia/Shanghai */
const shanghaiMonthStart = (ts: number) => { const d = new Date(ts + SHANGHAI); return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - SHANGHAI; };

let gw: TestGateway;
let browser: Browser;
let crewToken: string;
const clients: MqttClient[] = [];

async function device(id: string, model: string, attributes?: Record<string, unknown>) {
  const r = await gw.api('/api/v1/devices', { method: 'POST', json: { id, model, site: SITE, ...(attributes && { attributes }) } });
  expect(r.status, r.text).toBe(201);
  const c = await connect(gw.mqttPort, { username: id, password: r.body.credentials.password });
  clients.push(c);
  return (body: unknown) => publish(c, `devices/${id}/up`, JSON.stringify(body));
}

async function signIn(lang: 'en' | 'zh'): Promise<{ page: Page; problems: string[] }> {
  const context = await newContext(browser, { viewport: { width: 1280, height: 900 }, locale: lang === 'zh' ? 'zh-CN' : 'en-US', acceptDownloads: true });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`); });
  await page.goto(`${gw.http}/`);
  await page.locator('input[name="token"]').fill(crewToken);
  await page.locator('form.login button[type="submit"]').click();
  await page.locator('.live-status[data-status="live"]').waitFor();
  return { page, problems };
}

/**
 * What the eye sees: the page's font draws 告 and 警 as glyphs, not as the box of a missing
 * glyph (U+E000, private use, is in no font here). Pixels compared, not the DOM's text.
 */
const cjkRendered = (page: Page) => page.evaluate<boolean>(`(() => {
  const font = '32px ' + getComputedStyle(document.querySelector('h1')).fontFamily;
  const pixels = (text) => {
    const c = document.createElement('canvas');
    c.width = 40; c.height = 40;
    const g = c.getContext('2d');
    g.font = font; g.fillStyle = '#000'; g.textBaseline = 'top';
    g.fillText(text, 2, 2);
    return Array.from(g.getImageData(0, 0, 40, 40).data).join(',');
  };
  const tofu = pixels('\\uE000');
  return ['告', '警'].every((ch) => pixels(ch) !== tofu) && pixels('告') !== pixels('警');
})()`);

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  gw = await startGateway();
  crewToken = (await gw.api('/api/v1/api-keys', { method: 'POST', json: { name: 'crew-wang', role: 'crew' } })).body.token;
  const bin = await device('bin-c1', 'generic.bin-fill');
  await bin({ fill_pct: 88 }); // bin_full, open
  const wq = await device('wq-c1', 'generic.water-quality');
  // The reports page shows this month (Asia/Shanghai): the history lies in it at any hour, the
  // last 50 minutes, or what there is of the month when it began less than that ago (CI failed at
  // 20:04 UTC when the meter's readings were hours apart and the later one in the leak rule's night)
  const now = Date.now();
  const from = Math.max(now - 50 * 60_000, shanghaiMonthStart(now));
  const at = (k: number) => from + Math.floor(((now - 1 - from) * k) / 24); // k of 24 steps
  // one excursion, opened and auto-resolved (the values vary: a constant pH would be sensor_stuck)
  for (let i = 24; i >= 1; i--) await wq({ ts: at(24 - i), ph: i === 5 ? 9.1 : 7.1 + (i % 3) / 10 });
  // this test is not about leaks: 2.5 m3 between 02:00 and 04:00 there would be night flow, a third alert
  const meter = await device('m-c1', 'generic.water-meter', { thresholds: { night_flow_m3h: 1_000_000 } });
  await meter([{ ts: at(2), water_volume_m3: 10 }, { ts: at(12), water_volume_m3: 12.5 }]);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(clients.map((c) => c.endAsync()));
  await gw?.stop();
}, 60_000);

describe('console: acting on alerts', () => {
  it('silences an alert from the board, shows what the silence matches, ends it early', async () => {
    const { page, problems } = await signIn('en');
    const card = page.locator('article.alert-card', { hasText: 'bin-c1' }).first();
    await card.getByRole('button', { name: 'Silence…' }).click();
    await card.getByLabel('Silence for').selectOption('1d');
    await card.getByLabel('Reason').fill('bin being replaced');
    await card.getByRole('button', { name: 'Silence', exact: true }).click();
    await card.locator('.silenced-note', { hasText: 'Notifications silenced until' }).waitFor();
    const silences = (await gw.api('/api/v1/silences')).body;
    const s = (silences.items ?? silences.silences)[0];
    expect(s).toMatchObject({ match: { rule: 'bin_full', device: 'bin-c1' }, reason: 'bin being replaced', createdBy: 'crew-wang', active: true });
    const hours = (Date.parse(s.until) - Date.now()) / 3600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThan(24.1);

    await page.getByRole('link', { name: 'Silences' }).click();
    const row = page.locator(`tr[data-silence-id="${s.id}"]`);
    await row.waitFor();
    expect(await row.innerText()).toMatch(/bin being replaced[\s\S]*crew-wang[\s\S]*active[\s\S]*bin-c1/);
    await page.screenshot({ path: join(ARTIFACTS, 'silences-en.png'), fullPage: true });
    await row.getByRole('button', { name: 'End now' }).click();
    await row.waitFor({ state: 'detached' });
    const after = (await gw.api('/api/v1/silences')).body;
    expect((after.items ?? after.silences).filter((x: any) => x.active)).toEqual([]);
    expect(problems).toEqual([]);
  }, 60_000);

  it('shows the alert history on the device page: who acted, how long it took; pH limits drawn on the chart', async () => {
    const { page, problems } = await signIn('en');
    await page.goto(`${gw.http}/#/device/wq-c1`);
    const history = page.locator('#alert-history tbody tr');
    await history.first().waitFor();
    expect(await history.count()).toBe(1);
    expect(await history.first().getAttribute('data-status')).toBe('resolved');
    // history replayed now: the alert opened and cleared within the same second
    expect(await history.first().innerText()).toMatch(/major[\s\S]*pH[\s\S]*by itself, after \d+ s/i);
    await page.locator('figure.chart[data-metric="ph"] canvas').first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'device-history-en.png'), fullPage: true });
    expect(problems).toEqual([]);
  }, 60_000);

  it('shows response times, policies and both reports, and downloads the water-quality CSV', async () => {
    const { page, problems } = await signIn('en');
    await page.getByRole('link', { name: 'Reports' }).click();
    const rt = page.locator('#response-times tr[data-site="jiangnan/yuhua-garden/b3/u1"]');
    await rt.waitFor();
    // bin_full open and pH resolved by itself: 2 opened, 0 acknowledged, 1 resolved
    expect(await rt.innerText()).toMatch(/^jiangnan\/yuhua-garden\/b3\/u1\s+2\s+0\s+1\s/);
    const ph = page.locator('#water-report tbody tr', { hasText: 'pH' });
    await ph.waitFor();
    expect(await ph.innerText()).toMatch(/6\.5–8\.5[\s\S]*\s1\s[\s\S]*%/);
    await page.locator('.consumption[data-metric="water_volume_m3"] tbody tr', { hasText: '2.5 m3' }).first().waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('section', { hasText: 'Water quality (GB 5749-2022)' }).getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^water-quality-\d{4}-\d\d\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\n')[0]).toBe('deviceId,deviceName,site,metric,unit,limitMin,limitMax,samples,invalidSamples,exceedances,withinShare,worstValue,worstTs');
    expect(csv).toMatch(/^wq-c1,,jiangnan\/yuhua-garden\/b3\/u1,ph,pH,6\.5,8\.5,/m);
    await page.screenshot({ path: join(ARTIFACTS, 'reports-en.png'), fullPage: true });
    expect(problems).toEqual([]);
  }, 60_000);

  it('in Chinese, with CJK glyphs on screen', async () => {
    const { page, problems } = await signIn('zh');
    await page.getByRole('heading', { level: 1, name: '告警看板' }).waitFor().catch(() => undefined);
    await page.screenshot({ path: join(ARTIFACTS, 'board-zh.png'), fullPage: true });
    await page.getByRole('link', { name: '静默' }).click();
    await page.getByRole('heading', { level: 1, name: '静默与维护时段' }).waitFor();
    expect(await cjkRendered(page)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'silences-zh.png'), fullPage: true });
    await page.getByRole('link', { name: '报表' }).click();
    await page.getByRole('heading', { level: 1, name: '报表与响应时间' }).waitFor();
    await page.locator('#water-report tbody tr').first().waitFor();
    expect(await page.locator('#water-report thead').innerText()).toContain('达标时间占比');
    await page.screenshot({ path: join(ARTIFACTS, 'reports-zh.png'), fullPage: true });
    await page.goto(`${gw.http}/#/device/wq-c1`);
    await page.locator('#alert-history tbody tr').first().waitFor();
    expect(await page.locator('#alert-history').innerText()).toContain('自动恢复');
    await page.screenshot({ path: join(ARTIFACTS, 'device-history-zh.png'), fullPage: true });
    expect(problems).toEqual([]);
  }, 60_000);
});
