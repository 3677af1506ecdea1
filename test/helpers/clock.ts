/**
 * Running the tests at another time of day (scripts/clock-sweep): libfaketime moves the clock of
 * every process that loads it (LD_PRELOAD, FAKETIME). These helpers keep the pieces on one clock:
 * a gateway spawned with a clean environment gets the preload back; Chromium, which hangs
 * under the preload, runs without it, its pages put on the tests' clock by Playwright instead;
 * redis-server runs without it too (its expiries are relative, its own clock does not matter).
 * Outside a sweep (no FAKETIME) they change nothing.
 */
import type { BrowserContext } from 'playwright-core';

const swept = () => process.env.FAKETIME !== undefined;
/** the tests' environment entries whose names `keep` accepts */
const envWhere = (keep: (name: string) => boolean): Record<string, string> =>
  Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && keep(e[0])));

/** the environment entries that move a child's clock with the tests' own (empty outside a sweep) */
export function clockEnv(): Record<string, string> {
  return swept() ? envWhere((name) => name === 'LD_PRELOAD' || name.startsWith('FAKETIME')) : {};
}

/**
 * The environment for a program that cannot run under the preload (Chromium hangs, redis-server
 * stops answering): the tests' without it; undefined outside a sweep (the spawner's default)
 */
export function withoutPreload(): Record<string, string> | undefined {
  return swept() ? envWhere((name) => name !== 'LD_PRELOAD') : undefined;
}

/** a new context's pages live at the tests' time, flowing (before the first page is opened) */
export async function onTestClock(context: BrowserContext): Promise<BrowserContext> {
  if (swept()) await context.clock.install({ time: Date.now() });
  return context;
}
