/** The bench's mix of readings: six kinds of device in turn, each with the payload it publishes. */
export const KINDS = [
  { model: 'generic.water-quality', payload: (ts: number, seq: number) => ({ ts, ph: 7 + (seq % 50) / 100 }) },
  { model: 'generic.bin-fill', payload: (ts: number, seq: number) => ({ ts, fill_pct: 10 + (seq % 60) }) },
  { model: 'generic.parking', payload: (ts: number, seq: number) => ({ ts, occupied: seq % 2 === 0 }) },
  { model: 'generic.water-meter', payload: (ts: number, seq: number) => ({ ts, water_volume_m3: 100 + seq * 0.001 }) },
  { model: 'generic.electricity-meter', payload: (ts: number, seq: number) => ({ ts, energy_import_kwh: 5000 + seq * 0.01 }) },
  { model: 'generic.door-access', payload: (ts: number, seq: number) => ({ ts, door_open: seq % 2 === 1 }) },
];
