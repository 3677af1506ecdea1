/**
 * YOBIIQ measurement frames (FPort 1-10): repeated [channel][type][value, big-endian], the
 * value's size fixed by the type. Each model gives the vendor codec's full type table, so
 * every type the device can send is at least skipped by its size. A type outside the table
 * (newer firmware) ends the frame the way the vendor codec does: the records before it are
 * kept, the rest cannot be delimited. Only a frame with nothing decodable is a DecodeError.
 */
import { DecodeError, type DecodeInput } from '../../src/core/model.js';
import { Bytes, requirePort, round } from './bytes.js';

export interface YobiiqType {
  /** value size in bytes; a function for variable records (power-failure event log) */
  size: number | ((b: Bytes, at: number) => number);
  name: string;
  signed?: boolean;
  /** scale of the raw integer (0.1 V) */
  resolution?: number;
  /** not a number: versions, sub-meter readings, event logs are only skipped */
  opaque?: boolean;
}

export const YOBIIQ_PORTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

export interface YobiiqFrame {
  values: Map<string, number>;
  /** why decoding stopped before the end of the frame, if it did */
  stopped?: string;
}

/**
 * @param special records identified by channel and type together ((channel << 8) | type),
 *   checked before the type table (EM4301: channel 11 type 0x0A is the Modbus error code).
 */
export function parseYobiiq(input: DecodeInput, types: Record<number, YobiiqType>, special: Record<number, YobiiqType> = {}): YobiiqFrame {
  requirePort(input.port, YOBIIQ_PORTS);
  const b = new Bytes(input.payload);
  if (input.payload.length < 3) throw new DecodeError(`frame too short: ${input.payload.length} bytes`);
  const values = new Map<string, number>();
  let records = 0;
  let i = 0;
  while (i < input.payload.length) {
    if (i + 2 > input.payload.length) throw new DecodeError(`truncated record header at byte ${i}`);
    const key = (b.u8(i) << 8) | b.u8(i + 1);
    const type = b.u8(i + 1);
    const t = own(special, key) ?? own(types, type);
    if (!t) {
      const reason = `unknown data type 0x${type.toString(16).padStart(2, '0')} at byte ${i + 1}`;
      if (records === 0) throw new DecodeError(reason);
      return { values, stopped: reason };
    }
    const at = i + 2;
    const size = typeof t.size === 'function' ? t.size(b, at) : t.size;
    b.slice(at, size); // bounds: a truncated record is a DecodeError, never a guessed value
    if (!t.opaque) {
      let v = size === 1 ? b.u8(at) : size === 2 ? b.u16be(at) : size === 4 ? b.u32be(at) : NaN;
      if (Number.isNaN(v)) throw new DecodeError(`type 0x${type.toString(16)} has size ${size}`);
      if (t.signed && v >= 2 ** (8 * size - 1)) v -= 2 ** (8 * size);
      if (t.resolution !== undefined) v = round(v * t.resolution, Math.max(0, -Math.floor(Math.log10(t.resolution))));
      values.set(t.name, v);
    }
    records++;
    i = at + size;
  }
  return { values };
}

function own<T>(table: Record<number, T>, key: number): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/**
 * Energy registers in Wh per tariff -> kWh readings per tariff, and the tariff sum of a
 * direction only when every tariff of it is in the frame (a partial sum would look like a
 * counter going backwards).
 */
export function tariffReadings(v: Map<string, number>, names: { import: [string, string]; export: [string, string] }, at: (metric: string, value: number) => void, prefix = 'energy', unitDivisor = 1000): void {
  for (const dir of ['import', 'export'] as const) {
    const [t1, t2] = names[dir];
    const unit = prefix === 'energy' ? 'kwh' : 'kvarh';
    if (v.has(t1)) at(`${prefix}_${dir}_t1_${unit}`, round(v.get(t1)! / unitDivisor, 3));
    if (v.has(t2)) at(`${prefix}_${dir}_t2_${unit}`, round(v.get(t2)! / unitDivisor, 3));
    if (v.has(t1) && v.has(t2)) at(`${prefix}_${dir}_${unit}`, round((v.get(t1)! + v.get(t2)!) / unitDivisor, 3));
  }
}
