/**
 * What an alert event or time passing does to an escalation, pure: the escalation row as it
 * should be afterwards and the channel messages to enqueue. Kept apart from where the rows
 * live so one node (SQLite) and a cluster (PostgreSQL, leader) escalate alike.
 */
import type { AlertView } from './message.js';
import type { Policy } from './policy.js';
import type { EscalationRow, NewMessage } from './repositories.js';

/** the parts of an alert escalation needs */
export interface EscalatedAlert {
  id: string; rule: string; severity: string; kind: string | null; site: string; deviceId: string;
  status: 'open' | 'acknowledged' | 'resolved'; openedAt: number; silenced: boolean;
  resolvedAt?: number | null;
}

/** what an outbox row's body holds: enough to write the message at delivery */
export interface Body { event: string; alert: AlertView; step: number | null; deviceName: string | null }

export interface Plan { escalation: EscalationRow; messages: NewMessage[] }

export interface PlanContext {
  policy: (id: string) => Policy | undefined;
  policyFor: (a: EscalatedAlert) => Policy | undefined;
  deviceName: string | null;
  now: number;
}

/** the events planEvent acts on; any other only changes what the alert looks like */
export const escalates = (event: string): boolean => event === 'alert.opened' || event === 'alert.resolved';

/**
 * An opened (or re-opened) alert starts its policy at step 0 and runs the steps due at once
 * (`after: 0s`); a resolved one stops and reports the resolution to every channel that heard
 * of it. Other events change nothing here (undefined).
 */
export function planEvent(event: string, a: EscalatedAlert, view: AlertView, row: EscalationRow | undefined, ctx: PlanContext): Plan | undefined {
  if (event === 'alert.opened') {
    if (a.silenced) return undefined; // silences suppress notification, never recording
    const policy = ctx.policyFor(a);
    if (!policy) return undefined;
    // a re-opened alert (it fired again within a minute) escalates again from its re-opening
    const started = row ? ctx.now : a.openedAt;
    const next: EscalationRow = { alert_id: a.id, policy: policy.id, step: 0, started_at: started, next_at: started + policy.steps[0]!.after, heard: row?.heard ?? '[]' };
    return planAdvance(next, a, view, ctx);
  }
  if (event === 'alert.resolved' && row) {
    const body: Body = { event, alert: view, step: null, deviceName: ctx.deviceName };
    const key = `resolved/${a.resolvedAt ?? ctx.now}`;
    const messages = (JSON.parse(row.heard) as string[]).map((channel): NewMessage => ({ channel, event, alertId: a.id, step: null, body: JSON.stringify(body), key }));
    return { escalation: { ...row, next_at: null }, messages };
  }
  return undefined;
}

/** runs (or skips) every step of `row` that is due by `now`: where it stands afterwards */
export function planAdvance(row: EscalationRow, a: EscalatedAlert, view: AlertView, ctx: PlanContext): Plan {
  const policy = ctx.policy(row.policy);
  const heard = new Set(JSON.parse(row.heard) as string[]);
  const messages: NewMessage[] = [];
  let step = row.step;
  let nextAt = row.next_at;
  // a policy removed from the configuration since: its alerts escalate no further
  if (!policy) nextAt = null;
  while (policy && nextAt !== null && nextAt <= ctx.now) {
    const s = policy.steps[step]!;
    // a silenced alert's step passes unsent: the escalation goes on after the silence ends
    const skip = a.silenced || a.status === 'resolved' || (s.unless === 'acknowledged' && a.status !== 'open');
    if (!skip) {
      const body = JSON.stringify({ event: step === 0 ? 'alert.opened' : 'alert.escalated', alert: view, step, deviceName: ctx.deviceName } satisfies Body);
      for (const channel of s.notify) {
        messages.push({ channel, event: step === 0 ? 'alert.opened' : 'alert.escalated', alertId: a.id, step, body, key: `${row.started_at}/${step}` });
        heard.add(channel);
      }
    }
    step++;
    nextAt = step < policy.steps.length ? row.started_at + policy.steps[step]!.after : null;
  }
  return { escalation: { ...row, step, next_at: nextAt, heard: JSON.stringify([...heard]) }, messages };
}
