/**
 * `npm run bench -- --gateway-config '<json>'`: the JSON is merged key by key over the
 * bench's own gateway config (rate limits off), so one setting can be measured against the
 * defaults; JSON that is not an object stops the bench, and a key the gateway refuses
 * stops it at once with the gateway's own line naming the key.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBench as bench } from '../helpers/bench.js';

describe('npm run bench -- --gateway-config', () => {
  it('refuses JSON that is not an object, and stops at once on a key the gateway refuses', async () => {
    const [notObject, notJson, badKey] = await Promise.all([
      bench(['--gateway-config', '[1]']),
      bench(['--gateway-config', '{store']),
      bench(['--closed-only', '--devices', '2', '--duration', '1', '--gateway-config', '{"store":{"sqlite":{"synchronus":"normal"}}}']),
    ]);
    expect(notObject.code).toBe(2);
    expect(notObject.stderr).toContain('--gateway-config: not a JSON object');
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('--gateway-config: ');
    expect(badKey.code).not.toBe(0);
    expect(badKey.stderr).toMatch(/store\.sqlite: Unrecognized key: "synchronus"/);
    expect(badKey.stderr).toContain('gateway exited with code 2 before it was ready');
    // not the 30 s the readiness loop would wait for a gateway that never answers
    expect(badKey.ms).toBeLessThan(20_000);
  }, 60_000);

  it('merges the setting over the bench config, keeping the rate limits off', async () => {
    const r = await bench(['--closed-only', '--devices', '4', '--duration', '1', '--keep-data', '--json', '--gateway-config', '{"store":{"sqlite":{"synchronous":"normal"}},"mqtt":{"maxConnections":5000}}']);
    const dir = /data in (\S+)/.exec(r.stderr)?.[1];
    try {
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      expect(dir).toBeDefined();
      const config = JSON.parse(readFileSync(join(dir!, 'bench-config.json'), 'utf8'));
      expect(config).toEqual({ mqtt: { rateLimit: { devicePerSecond: 0 }, maxConnections: 5000 }, http: { rateLimitPerMinute: 0 }, store: { sqlite: { synchronous: 'normal' } } });
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      expect(out.readingsPerSec).toBeGreaterThan(0);
      expect(out.lost).toBe(0);
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
