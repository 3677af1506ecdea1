/** notify.channels / notify.policies at start-up: a bad entry is an error naming its key. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { matches, policiesOf } from '../../../src/notify/policy.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-notify-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(yaml: string) {
  const file = join(dir, `c-${Math.random()}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig({ GATEWAY_CONFIG: file }, dir);
}
const channels = `
  channels:
    - { id: b3-crew, type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=x", secret: SECx }
    - { id: manager, type: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k" }
`;

describe('notify config', () => {
  it('reads channels, durations and policy ids (default: the index)', () => {
    const c = load(`notify:\n  language: en\n${channels}  policies:\n    - match: { site: jiangnan/yuhua-garden, severity: [critical, major] }\n      steps:\n        - { after: 0s, notify: [b3-crew] }\n        - { after: 15m, unless: acknowledged, notify: [manager] }\n        - { after: 4h, unless: resolved, notify: [manager, b3-crew] }\n    - { id: rest, steps: [{ after: 1.5s, notify: [manager] }] }\n`);
    expect(c.notify.language).toBe('en');
    const p = policiesOf(c.notify.policies);
    expect(p.map((x) => x.id)).toEqual(['0', 'rest']);
    expect(p[0]!.steps.map((s) => s.after)).toEqual([0, 900_000, 14_400_000]);
    expect(p[1]!.steps[0]!.after).toBe(1500);
    expect(matches(p[0]!.match, { severity: 'major', kind: 'bin_fill', site: 'jiangnan/yuhua-garden/b3', rule: 'bin_full' })).toBe(true);
    expect(matches(p[0]!.match, { severity: 'major', kind: 'bin_fill', site: 'jiangnan/yuhua-gardens', rule: 'bin_full' })).toBe(false);
    expect(matches(p[0]!.match, { severity: 'minor', kind: 'bin_fill', site: 'jiangnan/yuhua-garden', rule: 'bin_full' })).toBe(false);
  });
  it('an unknown channel id in a policy names it and its key', () => {
    expect(() => load(`notify:\n${channels}  policies:\n    - steps: [{ after: 0s, notify: [b3-crew] }, { after: 1h, notify: [ofice] }]\n`))
      .toThrow(/notify\.policies\.0\.steps\.1\.notify\.0: unknown channel id ofice/);
  });
  it('refuses a bad duration, a bad unless, a duplicate channel id, e-mail without smtp, an unknown key', () => {
    const bad = (yaml: string, re: RegExp) => {
      let err: unknown;
      try { load(yaml); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(re);
    };
    bad(`notify:\n${channels}  policies: [{ steps: [{ after: 15 minutes, notify: [b3-crew] }] }]\n`, /notify\.policies\.0\.steps\.0\.after: not a duration: 15 minutes/);
    bad(`notify:\n${channels}  policies: [{ steps: [{ after: 1m, unless: acked, notify: [b3-crew] }] }]\n`, /notify\.policies\.0\.steps\.0\.unless/);
    bad(`notify:\n${channels}    - { id: manager, type: wecom, url: "https://x/cgi-bin/webhook/send?key=k" }\n`, /notify\.channels\.2\.id: duplicate channel id manager/);
    bad(`notify:\n  channels: [{ id: office, type: email, to: [ops@example.com] }]\n`, /notify\.channels\.0: channel office is of type email: notify\.smtp is required/);
    bad(`notify:\n${channels}  policies: [{ steps: [{ after: 1m, notify: [b3-crew], when: x }] }]\n`, /notify\.policies\.0\.steps\.0/);
    bad(`notify:\n${channels}  policies: [{ steps: [{ after: 1h, notify: [b3-crew] }, { after: 1m, notify: [manager] }] }]\n`, /notify\.policies\.0\.steps\.1\.after: steps must be in the order/);
  });
});
