/**
 * The webhook outbox: the receiver is down for the first 30 s and still gets every event,
 * once, in order, after it comes up; the same with the gateway restarted in between.
 */
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiClient, freePort, spawnGateway, tempDir, type ChildGateway } from '../helpers/gateway.js';
import { connect, eventually, publish } from '../helpers/mqtt.js';
import { WebhookReceiver } from '../helpers/webhook.js';

const DOWN_S = Number(process.env.WEBHOOK_DOWN_S ?? 30);
const TOKEN = 'outbox-admin-token-000111';
const dirs: string[] = [];
let child: ChildGateway | undefined;
afterAll(() => {
  child?.proc.kill('SIGKILL');
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function scenario(restart: boolean) {
  const dataDir = tempDir('gw-outbox-');
  dirs.push(dataDir);
  const hook = new WebhookReceiver(await freePort(), 'hook-secret');
  const cfg = join(dataDir, 'gateway.yaml');
  // a generous timeout: with 1 s, a loaded machine made a delivery the receiver did get time
  // out and go again (at-least-once, deduplicated by delivery id); this test is about the
  // receiver being down
  writeFileSync(cfg, `notify:\n  webhooks:\n    - url: ${hook.url}\n      secret: hook-secret\n  retry: { initialMs: 500, maxMs: 2000, timeoutMs: 5000 }\n`);
  const env = { GATEWAY_DATA_DIR: dataDir, GATEWAY_CONFIG: cfg, GATEWAY_ADMIN_TOKEN: TOKEN };
  const started = Date.now();
  child = await spawnGateway(env);
  const api = apiClient(child.http);
  const dev = await api('/api/v1/devices', { method: 'POST', token: TOKEN, json: { id: 'bin-w', model: 'generic.bin-fill', site: 'a/b' } });
  const c = await connect(child.mqttPort, { username: 'bin-w', password: dev.body.credentials.password });
  // 8 lifecycle events: open, update, resolve, open (re-open within a minute), update, resolve…
  for (const fill of [86, 90, 5, 88, 92, 10, 85, 3]) await publish(c, 'devices/bin-w/up', JSON.stringify({ fill_pct: fill }));
  await c.endAsync();
  const expected = (await api('/api/v1/webhooks/deliveries?limit=100', { token: TOKEN })).body.items.reverse().map((d: any) => d.event);
  expect(expected).toEqual(['alert.opened', 'alert.updated', 'alert.resolved', 'alert.opened', 'alert.updated', 'alert.resolved', 'alert.opened', 'alert.resolved']);
  if (restart) {
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
    child = await spawnGateway(env);
  }
  // the receiver is down for the first DOWN_S seconds of the test
  await new Promise((r) => setTimeout(r, Math.max(0, DOWN_S * 1000 - (Date.now() - started))));
  expect(hook.received).toEqual([]);
  await hook.up();
  await eventually(() => hook.received.length >= expected.length, 15_000, 100);
  await new Promise((r) => setTimeout(r, 1500)); // nothing more arrives
  expect(hook.received.map((h) => h.event)).toEqual(expected);
  expect(hook.received.every((h) => h.verified)).toBe(true);
  const ids = hook.received.map((h) => Number(h.delivery));
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(new Set(ids).size).toBe(ids.length);
  const occurrences = hook.received.map((h) => `${h.alert.status}:${h.alert.occurrences}`);
  expect(occurrences).toEqual(['open:1', 'open:2', 'resolved:2', 'open:3', 'open:4', 'resolved:4', 'open:5', 'resolved:5']);
  child.proc.kill('SIGTERM');
  await child.exited;
  child = undefined;
  await hook.down();
}

describe('webhook outbox', () => {
  it(`delivers every event once and in order after the receiver was down ${DOWN_S} s`, () => scenario(false), DOWN_S * 1000 + 60_000);
  it('does the same with the gateway restarted while the receiver is down', () => scenario(true), DOWN_S * 1000 + 60_000);
});
