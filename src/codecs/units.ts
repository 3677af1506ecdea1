/**
 * Unit conversions a user codec's mapping may declare: `{"unit": "degF"}` on a field whose
 * metric is in Cel. Each entry is from-unit → [vocabulary unit, convert]. Names follow
 * SenML / UCUM spelling as the vocabulary does, with common aliases.
 */
type Convert = (v: number) => number;
const factor = (f: number): Convert => (v) => v * f;

const TABLE: Record<string, Array<[from: string[], convert: Convert]>> = {
  Cel: [[['degF', '°F', 'F'], (v) => ((v - 32) * 5) / 9], [['K'], (v) => v - 273.15], [['dCel'], factor(0.1)]],
  mm: [[['cm'], factor(10)], [['m'], factor(1000)], [['in'], factor(25.4)], [['ft'], factor(304.8)]],
  m3: [[['L', 'l'], factor(0.001)], [['dm3'], factor(0.001)], [['gal'], factor(0.003785411784)]],
  'm3/h': [[['L/h', 'l/h'], factor(0.001)], [['L/min', 'l/min'], factor(0.06)], [['L/s', 'l/s'], factor(3.6)]],
  V: [[['mV'], factor(0.001)]],
  mV: [[['V'], factor(1000)]],
  A: [[['mA'], factor(0.001)]],
  W: [[['kW'], factor(1000)]],
  kWh: [[['Wh'], factor(0.001)], [['MWh'], factor(1000)]],
  'mg/l': [[['ug/l', 'µg/l'], factor(0.001)], [['g/l'], factor(1000)]],
  'uS/cm': [[['mS/cm'], factor(1000)], [['S/m'], factor(10_000)]],
  min: [[['s'], factor(1 / 60)], [['h'], factor(60)]],
  '%': [[['/', 'ratio'], factor(100)]],
  '%RH': [[['/', 'ratio'], factor(100)]],
};

/** The conversion from `from` into the vocabulary unit `to`; undefined when none is known. */
export function converter(from: string, to: string | null): Convert | undefined {
  if (to === null) return undefined;
  if (from === to) return (v) => v;
  for (const [names, convert] of TABLE[to] ?? []) if (names.includes(from)) return convert;
  return undefined;
}

/** For error messages: the units a metric's values may be declared in. */
export function knownUnits(to: string | null): string[] {
  if (to === null) return [];
  return [to, ...(TABLE[to] ?? []).flatMap(([names]) => names)];
}
