/**
 * Response times (CONTRACT v2 "Response times and reports"): how long crews take to
 * acknowledge and to resolve alerts, counted from the alert's openedAt, per site, rule or
 * kind. Pure: the alerts are read by the caller.
 *
 * - `mttaS` / `mttrS`: mean seconds to acknowledge / resolve, over the alerts that were;
 * - `p90AckS`: 90th percentile (nearest rank) of the time to acknowledge;
 * - `unacknowledgedOverS[N]`: alerts that waited more than N seconds without an
 *   acknowledgement — until it came, or until they were resolved without one, or until now
 *   for those still open. (An alert that cleared by itself after 2 minutes did not wait 15.)
 */
export const GROUP_BY = ['site', 'rule', 'kind'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface StatsAlert {
  rule: string; site: string; kind: string | null;
  openedAt: number; acknowledgedAt: number | null; resolvedAt: number | null;
}

export interface StatsGroup {
  key: string; opened: number; acknowledged: number; resolved: number;
  mttaS: number | null; mttrS: number | null; p90AckS: number | null;
  unacknowledgedOverS: Record<string, number>;
}

const round = (s: number) => Math.round(s * 1000) / 1000;
const mean = (xs: number[]) => (xs.length ? round(xs.reduce((a, b) => a + b, 0) / xs.length) : null);

/** nearest-rank percentile: the smallest value with at least p % of the values at or below it */
export function percentile(xs: number[], p: number): number | null {
  if (!xs.length) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return round(sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!);
}

export function responseStats(alerts: Iterable<StatsAlert>, opts: { groupBy: GroupBy; overS: number[]; now: number }): StatsGroup[] {
  const groups = new Map<string, StatsAlert[]>();
  for (const a of alerts) {
    const key = opts.groupBy === 'site' ? a.site : opts.groupBy === 'rule' ? a.rule : (a.kind ?? '');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(a);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, list]) => {
    const ack = list.filter((a) => a.acknowledgedAt !== null).map((a) => (a.acknowledgedAt! - a.openedAt) / 1000);
    const res = list.filter((a) => a.resolvedAt !== null).map((a) => (a.resolvedAt! - a.openedAt) / 1000);
    const waited = list.map((a) => ((a.acknowledgedAt ?? a.resolvedAt ?? opts.now) - a.openedAt) / 1000);
    const over: Record<string, number> = {};
    for (const n of opts.overS) over[String(n)] = waited.filter((w) => w > n).length;
    return { key, opened: list.length, acknowledged: ack.length, resolved: res.length, mttaS: mean(ack), mttrS: mean(res), p90AckS: percentile(ack, 90), unacknowledgedOverS: over };
  });
}
