/** The bench's fleet: its admin token, its mix of readings, and how it is provisioned (single-node and cluster bench). */

export const TOKEN = 'bench-admin-token-0123456789';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Asia/Shanghai, the default rules' zone (no daylight saving since 1991) */
const SHANGHAI = 8 * HOUR;
/**
 * where the bench's meters stand still, local time: the default water_leak_suspected's night
 * (config/rules.yaml: nightStart 2, nightEnd 4) and ten minutes before it, a margin from when the
 * rule counted an interval by its later reading alone (until bda40e3, the night's first reading
 * counted the flow since the reading before it; now both readings must be in the night)
 */
const NIGHT = [2 * HOUR - 10 * 60_000, 4 * HOUR] as const;

/**
 * When `ts` falls where the bench's meters stand still (01:50 to 04:00 in Asia/Shanghai):
 * when that stretch began that day (01:50 there); else undefined.
 */
export function leakNightFrom(ts: number): number | undefined {
  const inDay = (((ts + SHANGHAI) % DAY) + DAY) % DAY;
  return inDay >= NIGHT[0] && inDay < NIGHT[1] ? ts - inDay + NIGHT[0] : undefined;
}

/**
 * A bench water meter's index at `ts`: a litre per second of the day, none at night. The
 * default rules open water_leak_suspected on flow between 02:00 and 04:00 Asia/Shanghai, and at
 * the bench's rates every later message of the meter repeated the open alert (a row, an outbox
 * row, an MQTT publish, an SSE event each): a run between 18:00 and 20:00 UTC measured 1/6 of its
 * messages as alert updates, 32 k readings/s where the same code did 46-49 k (2026-12-04). The
 * load is meant to be quiet for the rules at any hour (the alert probe measures alerts), so the
 * index stays put from 01:50 to 04:00 there (leakNightFrom); outside it, it rises with every
 * message as before (each message is at least a millisecond after the last,
 * test/unit/bench/fleet.test.ts).
 */
export function waterIndex(ts: number): number {
  const local = ts + SHANGHAI;
  const day = Math.floor(local / DAY);
  const inDay = local - day * DAY;
  const dayMs = inDay < NIGHT[0] ? inDay : inDay < NIGHT[1] ? NIGHT[0] : inDay - (NIGHT[1] - NIGHT[0]);
  // milliseconds outside the night since 2026-01-01 (day 20 454), a litre per second
  return 100 + ((day - 20_454) * (DAY - (NIGHT[1] - NIGHT[0])) + dayMs) / 1e6;
}

/** The bench's mix of readings: six kinds of device in turn, each with the payload it publishes. */
export const KINDS = [
  { model: 'generic.water-quality', payload: (ts: number, seq: number) => ({ ts, ph: 7 + (seq % 50) / 100 }) },
  { model: 'generic.bin-fill', payload: (ts: number, seq: number) => ({ ts, fill_pct: 10 + (seq % 60) }) },
  { model: 'generic.parking', payload: (ts: number, seq: number) => ({ ts, occupied: seq % 2 === 0 }) },
  { model: 'generic.water-meter', payload: (ts: number) => ({ ts, water_volume_m3: waterIndex(ts) }) },
  { model: 'generic.electricity-meter', payload: (ts: number, seq: number) => ({ ts, energy_import_kwh: 5000 + seq * 0.01 }) },
  { model: 'generic.door-access', payload: (ts: number, seq: number) => ({ ts, door_open: seq % 2 === 1 }) },
];

export async function api(base: string, path: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(base + path, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  if (res.status >= 300) throw new Error(`${base}${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** bulk provisioning, 1 000 rows a request; the credentials by device id */
export async function provision(http: string, rows: Array<{ id: string; model: string; site: string }>): Promise<Map<string, string>> {
  const creds = new Map<string, string>();
  for (let i = 0; i < rows.length; i += 1000) {
    const r = await api(http, '/api/v1/devices/bulk', { method: 'POST', body: JSON.stringify(rows.slice(i, i + 1000)) });
    for (const c of r.credentials) creds.set(c.id, c.password);
  }
  return creds;
}
