/**
 * The escalation planning one node (SQLite) and a cluster (PostgreSQL, leader) share: which
 * steps run, which are skipped, what the escalation row says afterwards, and the keys that make
 * a step run or a resolution unique in the shared outbox.
 */
import { describe, expect, it } from 'vitest';
import { planAdvance, planEvent, type EscalatedAlert, type PlanContext } from '../../../src/notify/plan.js';
import { policiesOf } from '../../../src/notify/policy.js';
import type { AlertView } from '../../../src/notify/message.js';

const [policy] = policiesOf([{ id: 'p', match: { severity: 'major' }, steps: [
  { after: 0, notify: ['crew'] },
  { after: 60_000, unless: 'acknowledged', notify: ['manager'] },
  { after: 120_000, unless: 'resolved', notify: ['office', 'crew'] },
] }]);
const T = Date.parse('2026-12-01T08:00:00Z');
const ctx = (now: number): PlanContext => ({ policy: (id) => (id === 'p' ? policy : undefined), policyFor: (a) => (a.severity === 'major' ? policy : undefined), deviceName: 'Tank B3', now });
const alert = (patch: Partial<EscalatedAlert> = {}): EscalatedAlert => ({ id: 'A1', rule: 'ph', severity: 'major', kind: 'water_quality', site: 's', deviceId: 'wq-1', status: 'open', openedAt: T, silenced: false, ...patch });
const view = { id: 'A1' } as AlertView;
const sent = (p: { messages: Array<{ channel: string; step: number | null; key: string; event: string }> }) => p.messages.map((m) => [m.channel, m.step, m.key, m.event]);

describe('planEvent / planAdvance', () => {
  it('an opened alert runs step 0 at once and waits for step 1', () => {
    const p = planEvent('alert.opened', alert(), view, undefined, ctx(T + 200))!;
    expect(sent(p)).toEqual([['crew', 0, `${T}/0`, 'alert.opened']]);
    expect(p.escalation).toEqual({ alert_id: 'A1', policy: 'p', step: 1, started_at: T, next_at: T + 60_000, heard: '["crew"]' });
    expect(JSON.parse(p.messages[0]!.body)).toEqual({ event: 'alert.opened', alert: view, step: 0, deviceName: 'Tank B3' });
  });

  it('steps that came due while nobody ticked run together, once each; unless: acknowledged is skipped for an acknowledged alert', () => {
    const start = planEvent('alert.opened', alert(), view, undefined, ctx(T))!.escalation;
    const late = planAdvance(start, alert({ status: 'acknowledged' }), view, ctx(T + 130_000));
    expect(sent(late)).toEqual([['office', 2, `${T}/2`, 'alert.escalated'], ['crew', 2, `${T}/2`, 'alert.escalated']]);
    expect(late.escalation).toMatchObject({ step: 3, next_at: null });
    // nothing left: advancing again sends nothing
    expect(planAdvance(late.escalation, alert(), view, ctx(T + 200_000)).messages).toEqual([]);
  });

  it('a silenced alert does not start; a silence later passes the due steps unsent and the escalation goes on', () => {
    expect(planEvent('alert.opened', alert({ silenced: true }), view, undefined, ctx(T))).toBeUndefined();
    const start = planEvent('alert.opened', alert(), view, undefined, ctx(T))!.escalation;
    const held = planAdvance(start, alert({ silenced: true }), view, ctx(T + 61_000));
    expect(held.messages).toEqual([]);
    expect(held.escalation).toMatchObject({ step: 2, next_at: T + 120_000 });
  });

  it('resolved: reported to the channels that heard, keyed by the resolution; re-opened: from the re-opening, heard kept', () => {
    const start = planEvent('alert.opened', alert(), view, undefined, ctx(T))!.escalation;
    const step1 = planAdvance(start, alert(), view, ctx(T + 60_000)).escalation;
    const res = planEvent('alert.resolved', alert({ status: 'resolved', resolvedAt: T + 90_000 }), view, step1, ctx(T + 90_500))!;
    expect(sent(res)).toEqual([['crew', null, `resolved/${T + 90_000}`, 'alert.resolved'], ['manager', null, `resolved/${T + 90_000}`, 'alert.resolved']]);
    expect(res.escalation).toMatchObject({ step: 2, next_at: null });
    const again = planEvent('alert.opened', alert(), view, res.escalation, ctx(T + 100_000))!;
    expect(sent(again)).toEqual([['crew', 0, `${T + 100_000}/0`, 'alert.opened']]);
    expect(again.escalation).toMatchObject({ started_at: T + 100_000, step: 1, next_at: T + 160_000, heard: '["crew","manager"]' });
  });

  it('no policy fits, or an event that does not escalate: nothing to write; a policy removed since stops the escalation', () => {
    expect(planEvent('alert.opened', alert({ severity: 'minor' }), view, undefined, ctx(T))).toBeUndefined();
    const start = planEvent('alert.opened', alert(), view, undefined, ctx(T))!.escalation;
    for (const e of ['alert.updated', 'alert.acknowledged', 'alert.assigned']) expect(planEvent(e, alert(), view, start, ctx(T))).toBeUndefined();
    const gone = planAdvance({ ...start, policy: 'removed' }, alert(), view, ctx(T + 61_000));
    expect(gone).toEqual({ escalation: { ...start, policy: 'removed', next_at: null }, messages: [] });
  });
});
