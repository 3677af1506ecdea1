/** Debian's Chromium for the console's end-to-end tests, driven by playwright-core. */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { withoutPreload, onTestClock } from './clock.js';

export const CHROMIUM = '/usr/bin/chromium';

/** Not a skip: CI must go red when the browser is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the console's end-to-end tests need Debian's Chromium. Install it with: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    env: withoutPreload(),
  });
}

/** a context whose pages live at the tests' time (test/helpers/clock.ts) */
export async function newContext(browser: Browser, options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  return onTestClock(await browser.newContext(options));
}
