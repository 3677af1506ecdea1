/** The bench's fleet: its admin token, its mix of readings, and how it is provisioned (single-node and cluster bench). */

export const TOKEN = 'bench-admin-token-0123456789';

/** The bench's mix of readings: six kinds of device in turn, each with the payload it publishes. */
export const KINDS = [
  { model: 'generic.water-quality', payload: (ts: number, seq: number) => ({ ts, ph: 7 + (seq % 50) / 100 }) },
  { model: 'generic.bin-fill', payload: (ts: number, seq: number) => ({ ts, fill_pct: 10 + (seq % 60) }) },
  { model: 'generic.parking', payload: (ts: number, seq: number) => ({ ts, occupied: seq % 2 === 0 }) },
  { model: 'generic.water-meter', payload: (ts: number, seq: number) => ({ ts, water_volume_m3: 100 + seq * 0.001 }) },
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
