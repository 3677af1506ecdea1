/**
 * YOBIIQ measurement frames (FPort 1-10): repeated [channel][type][value, big-endian], the
 * value's size fixed by the type. Each model gives its type table; an unknown type is a
 * DecodeError (its size is unknown).
 */
import { DecodeError, type DecodeInput } from '../../src/core/model.js';
import { Bytes, requirePort, round } from './bytes.js';

export interface YobiiqType { size: number; name: string; signed?: boolean }

export const YOBIIQ_PORTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

export function parseYobiiq(input: DecodeInput, types: Record<number, YobiiqType>): Map<string, number> {
  requirePort(input.port, YOBIIQ_PORTS);
  const b = new Bytes(input.payload);
  if (input.payload.length < 3) throw new DecodeError(`frame too short: ${input.payload.length} bytes`);
  const out = new Map<string, number>();
  let i = 0;
  while (i < input.payload.length) {
    if (i + 2 > input.payload.length) throw new DecodeError(`truncated record header at byte ${i}`);
    const type = b.u8(i + 1);
    const t = types[type];
    if (!t) throw new DecodeError(`unknown data type 0x${type.toString(16)} at byte ${i + 1}`);
    const at = i + 2;
    let v: number;
    if (t.size === 1) v = t.signed ? b.i8(at) : b.u8(at);
    else if (t.size === 2) v = t.signed ? b.i16be(at) : b.u16be(at);
    else if (t.size === 4) v = t.signed ? b.i32be(at) : b.u32be(at);
    else throw new DecodeError(`type size ${t.size}`);
    out.set(t.name, v);
    i = at + t.size;
  }
  return out;
}

/**
 * Energy registers in Wh per tariff -> kWh readings per tariff, and the tariff sum of a
 * direction only when every tariff of it is in the frame (a partial sum would look like a
 * counter going backwards).
 */
export function tariffReadings(v: Map<string, number>, names: { import: [string, string]; export: [string, string] }, at: (metric: string, value: number) => void): void {
  for (const dir of ['import', 'export'] as const) {
    const [t1, t2] = names[dir];
    if (v.has(t1)) at(`energy_${dir}_t1_kwh`, round(v.get(t1)! / 1000, 3));
    if (v.has(t2)) at(`energy_${dir}_t2_kwh`, round(v.get(t2)! / 1000, 3));
    if (v.has(t1) && v.has(t2)) at(`energy_${dir}_kwh`, round((v.get(t1)! + v.get(t2)!) / 1000, 3));
  }
}
