import { DateTime } from 'luxon';

/** `YYYY-MM` in a zone → [start, end) in epoch ms and the local dates of its days */
export function monthRange(month: string, tz: string): { from: number; to: number; days: string[] } | undefined {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) return undefined;
  const start = DateTime.fromObject({ year: Number(m[1]), month: Number(m[2]), day: 1 }, { zone: tz });
  if (!start.isValid) return undefined;
  const end = start.plus({ months: 1 });
  const days: string[] = [];
  for (let d = start; d < end; d = d.plus({ days: 1 })) days.push(d.toISODate()!);
  return { from: start.toMillis(), to: end.toMillis(), days };
}
