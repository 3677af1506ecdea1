/**
 * The alert lifecycle (ALERTS.md "Lifecycle"), pure: open → acknowledged → resolved, repeats
 * bump occurrences, a resolved alert firing again within a minute re-opens. Each function
 * returns a new alert; the service saves and announces it.
 */
import type { Trigger } from './conditions/index.js';
import type { Severity } from './rules.js';
import type { ReadingValue } from '../core/model.js';
import type { Escalation, Notification } from '../notify/notifier.js';

export type AlertStatus = 'open' | 'acknowledged' | 'resolved';

export interface Alert {
  id: string; rule: string; severity: Severity; status: AlertStatus; deviceId: string; kind: string | null; site: string;
  metric: string | null; value: ReadingValue | null; threshold: number | null; message: string;
  openedAt: number; lastSeenAt: number; occurrences: number;
  acknowledgedAt: number | null; acknowledgedBy: string | null; assignee: string | null;
  resolvedAt: number | null; resolvedBy: string | null; resolution: 'auto' | 'manual' | null;
  notes: Array<{ at: number; by: string; text: string }>;
  silenced: boolean;
  /** from the notifier (escalation policies), refreshed on every change and read */
  escalation?: Escalation | null;
  notifications?: Notification[];
}

export class AlertError extends Error {
  constructor(readonly status: 404 | 409, message: string) { super(message); }
}

/** a resolved alert that fires again within this re-opens instead of flapping out a new one */
export const REOPEN_WITHIN_MS = 60_000;

const copy = (a: Alert, patch: Partial<Alert>): Alert => ({ ...a, notes: [...a.notes], ...patch });

export function opened(p: { id: string; rule: { id: string; severity: Severity }; device: { id: string; kind: string; site: string }; trigger: Trigger; message: string; now: number; silenced: boolean }): Alert {
  return {
    id: p.id, rule: p.rule.id, severity: p.rule.severity, status: 'open', deviceId: p.device.id, kind: p.device.kind, site: p.device.site,
    metric: p.trigger.metric, value: p.trigger.value, threshold: p.trigger.threshold, message: p.message,
    openedAt: p.now, lastSeenAt: p.now, occurrences: 1, acknowledgedAt: null, acknowledgedBy: null, assignee: null,
    resolvedAt: null, resolvedBy: null, resolution: null, notes: [], silenced: p.silenced,
  };
}

/** the condition is seen again while the alert is unresolved: one alert, more occurrences */
export function repeated(a: Alert, t: Partial<Trigger>, message: (metric: string | null, value: unknown, threshold: unknown) => string, now: number): Alert {
  const metric = t.metric ?? a.metric;
  const value = t.value ?? a.value;
  const threshold = t.threshold ?? a.threshold;
  return copy(a, { occurrences: a.occurrences + 1, lastSeenAt: now, metric, value, threshold, message: message(metric, value, threshold) });
}

/** resolved less than REOPEN_WITHIN_MS ago and firing again: the same alert opens again */
export function reopened(a: Alert, t: Trigger, message: string, now: number, silenced: boolean): Alert {
  return copy(a, {
    status: 'open', occurrences: a.occurrences + 1, lastSeenAt: now, metric: t.metric, value: t.value, threshold: t.threshold, message,
    resolvedAt: null, resolvedBy: null, resolution: null, acknowledgedAt: null, acknowledgedBy: null, silenced,
  });
}

export function autoResolved(a: Alert, now: number): Alert {
  return copy(a, { status: 'resolved', resolvedAt: now, resolvedBy: 'gateway', resolution: 'auto', lastSeenAt: Math.max(a.lastSeenAt, now) });
}

export function acknowledged(a: Alert, by: string, note: string | undefined, now: number): Alert {
  if (a.status === 'resolved') throw new AlertError(409, `alert ${a.id} is resolved`);
  const next = copy(a, { status: 'acknowledged', acknowledgedAt: now, acknowledgedBy: by });
  if (note) next.notes.push({ at: now, by, text: note });
  return next;
}

export function resolvedBy(a: Alert, by: string, note: string | undefined, now: number): Alert {
  if (a.status === 'resolved') throw new AlertError(409, `alert ${a.id} is already resolved`);
  const next = copy(a, { status: 'resolved', resolvedAt: now, resolvedBy: by, resolution: 'manual' });
  if (note) next.notes.push({ at: now, by, text: note });
  return next;
}

export function assigned(a: Alert, assignee: string, by: string, now: number): Alert {
  if (a.status === 'resolved') throw new AlertError(409, `alert ${a.id} is resolved`);
  const next = copy(a, { assignee });
  next.notes.push({ at: now, by, text: `assigned to ${assignee}` });
  return next;
}

export function noted(a: Alert, by: string, text: string, now: number): Alert {
  const next = copy(a, {});
  next.notes.push({ at: now, by, text });
  return next;
}
