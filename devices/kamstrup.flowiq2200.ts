import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading, VendorExpectation, VendorVector } from '../src/core/model.js';
import { requirePort, round } from './lib/bytes.js';
import { bcdLE, dateG, dateTimeF, dateTimeI, intLE, parseWmbus, stepBack, uintLE, type WmbusRecord } from './lib/wmbus.js';

/** Kamstrup info codes (VIF 0xFF, VIFE 0x25), bit -> metric (mbusparser.js InfocodeTableWater, bits 0-5) */
const INFO_CODES: Array<[bit: number, metric: string]> = [
  [0x0001, 'meter_dry'], [0x0002, 'reverse_flow'], [0x0004, 'leak'], [0x0008, 'burst'], [0x0010, 'tamper'], [0x0020, 'battery_low'],
];
const INFO_TYPES: Record<string, string> = { Dry: 'meter_dry', Reverse: 'reverse_flow', Leak: 'leak', Burst: 'burst', Tamper: 'tamper', 'Low Battery': 'battery_low' };
const VENDOR_TYPES: Record<string, string> = { Volume: 'water_volume_m3', 'Volume flow': 'water_flow_m3h', 'Flow temperature': 'temperature_c', 'External temperature': 'ambient_temperature_c' };
const COMMIT = '078c09e';

const hasExtension = (r: WmbusRecord) => (r.vif & 0x80) !== 0;
/** the binary value as the meter codes it (type B, signed), or BCD (type A); undefined = the meter's "invalid" */
const numeric = (r: WmbusRecord) => (r.bcd ? bcdLE(r.data) : intLE(r.data));
/** a volume index counts up from 0: binary volumes are read unsigned */
const volume = (r: WmbusRecord) => (r.bcd ? bcdLE(r.data) : uintLE(r.data));

interface StorageTime { ts: number; dateOnly: boolean }

/** The meter's time for each storage number: date/time (type F or I) or date only (type G) records of function 0. */
function storageTimes(records: WmbusRecord[]): Map<number, StorageTime> {
  const times = new Map<number, StorageTime>();
  for (const r of records) {
    if (r.fn !== 0 || hasExtension(r)) continue;
    let ts: number | undefined;
    if (r.vif === 0x6d && r.data.length === 4) ts = dateTimeF(r.data);
    else if (r.vif === 0x6d && r.data.length === 6) ts = dateTimeI(r.data);
    else if (r.vif === 0x6c && r.data.length === 2) ts = dateG(r.data);
    else continue;
    if (ts !== undefined) times.set(r.storage, { ts, dateOnly: r.vif === 0x6c });
  }
  return times;
}

/**
 * A volume of a stored (storage >= 1) value dated by a date-only record is the meter's
 * billing-date ("target") reading: the index at the start of that day, sent later. It is
 * water_volume_target_m3 at the target date, so it never replaces the current index.
 */
const isTarget = (storage: number, t: StorageTime | undefined) => storage >= 1 && t?.dateOnly === true;

function decode({ payload, port }: { payload: Buffer; port?: number }) {
  requirePort(port, [1]);
  const records = parseWmbus(payload);
  const times = storageTimes(records);
  const readings: DecodedReading[] = [];
  const put = (metric: string, value: number | boolean, storage: number) => {
    const t = times.get(storage);
    readings.push({ metric, value, ...(t ? { ts: t.ts } : {}) });
  };
  for (const r of records) {
    // Kamstrup writes its info codes with DIF function bits set (0x52): they are flags, not a statistic
    if (r.vif === 0xff && r.vife[0] === 0x25) {
      const code = uintLE(r.data);
      for (const [bit, metric] of INFO_CODES) put(metric, (code & bit) !== 0, r.storage);
      continue;
    }
    if (r.fn !== 0) continue; // min / max / error-state values
    if (hasExtension(r)) {
      if (r.vife[0] === 0x13 && r.vif >= 0x90 && r.vif <= 0x97) readings.push(...profile(r, records, times));
      continue; // other orthogonal VIFEs (reverse volume, per-hour …) are not the plain quantity
    }
    const v = r.vif >= 0x10 && r.vif <= 0x17 ? volume(r) : numeric(r);
    if (v === undefined) continue;
    if (r.vif >= 0x10 && r.vif <= 0x17) {
      put(isTarget(r.storage, times.get(r.storage)) ? 'water_volume_target_m3' : 'water_volume_m3', round(v * 10 ** ((r.vif & 0x07) - 6), 6), r.storage);
    } else if (r.vif >= 0x38 && r.vif <= 0x3f) put('water_flow_m3h', round(v * 10 ** ((r.vif & 0x07) - 6), 6), r.storage);
    else if (r.vif >= 0x58 && r.vif <= 0x5b) put('temperature_c', round(v * 10 ** ((r.vif & 0x03) - 3), 3), r.storage);
    else if (r.vif >= 0x64 && r.vif <= 0x67) put('ambient_temperature_c', round(v * 10 ** ((r.vif & 0x03) - 3), 3), r.storage);
  }
  return { readings, events: [] };
}

/**
 * Inverse compact volume profile (EN 13757-3 Annex F): spacing control (element size, spacing
 * unit, increment mode), spacing value, then one element per step back in time from the base
 * volume of the same storage number. Increment mode 1: the register rose by the element since
 * the earlier sample; 2: it fell; 3: signed difference. An invalid element (all ones, or the
 * sign bit alone in mode 3) or a reserved spacing ends the profile: the samples before it stand.
 */
function profile(r: WmbusRecord, records: WmbusRecord[], times: Map<number, StorageTime>): DecodedReading[] {
  const base = records.find((o) => o !== r && o.fn === 0 && o.vif === (r.vif & 0x7f) && o.storage === r.storage);
  const baseValue = base ? volume(base) : undefined;
  const t = times.get(r.storage);
  if (baseValue === undefined) throw new DecodeError('volume profile without a valid base volume of its storage number');
  if (t === undefined) throw new DecodeError('volume profile without a time for its storage number');
  if (r.data.length < 3) throw new DecodeError('volume profile too short');
  const ctrl = r.data[0]!;
  const spacing = r.data[1]!;
  const size = ctrl & 0x0f;
  const unit = (ctrl >> 4) & 0x03;
  const mode = (ctrl >> 6) & 0x03;
  if (size < 1 || size > 4) throw new DecodeError(`volume profile element size ${size}`);
  if (mode === 0) throw new DecodeError('volume profile of absolute values (increment mode 0) is not supported');
  if ((r.data.length - 2) % size !== 0) throw new DecodeError(`volume profile element size ${size} does not fit ${r.data.length - 2} bytes`);
  const scale = 10 ** ((r.vif & 0x07) - 6);
  const metric = isTarget(r.storage, t) ? 'water_volume_target_m3' : 'water_volume_m3';
  const out: DecodedReading[] = [];
  let value = baseValue;
  let ts = t.ts;
  for (let k = 2; k < r.data.length; k += size) {
    const el = r.data.subarray(k, k + size);
    const delta = mode === 3 ? intLE(el) : uintLE(el) === 2 ** (8 * size) - 1 ? undefined : uintLE(el);
    const prev = stepBack(ts, unit, spacing);
    if (delta === undefined || prev === undefined) break;
    ts = prev;
    value = mode === 2 ? value + delta : value - delta;
    out.push({ metric, value: round(value * scale, 6), ts });
  }
  return out;
}

/** vendor Timestamp ("2027-04-14T19:00:00.000", UTC without the Z) */
const vendorTs = (s: unknown) => (typeof s === 'string' ? { ts: Date.parse(`${s}Z`) } : {});

interface VendorValue { Type: string; Value: number | boolean | null; Unit: string; Timestamp: string | null }

function records(v: VendorVector): WmbusRecord[] {
  try { return parseWmbus(Buffer.from(v.hex, 'hex')); } catch { return []; }
}

export default defineModel({
  id: 'kamstrup.flowiq2200',
  vendor: 'Kamstrup',
  name: 'flowIQ 2200 water meter (wireless M-Bus over LoRaWAN)',
  kind: 'water_meter',
  description: 'Volume index, flow, water and ambient temperature and the meter\'s info codes (dry, reverse flow, leak, burst, tamper, low battery), each at the time of its storage number; the billing-date (target) volume as water_volume_target_m3 at the target date; the hourly volume profile as one reading per step, at the meter\'s own timestamps.',
  format: 'binary',
  ports: [1],
  reportIntervalS: 3600,
  metrics: ['water_volume_m3', 'water_volume_target_m3', 'water_flow_m3h', 'temperature_c', 'ambient_temperature_c', 'meter_dry', 'reverse_flow', 'leak', 'burst', 'tamper', 'battery_low'],
  vendorCodec: {
    codec: 'vendor/kamstrup/mbusparser.js',
    commit: COMMIT,
    vectors: ['kamstrup.flowiq2200.jsonl'],
    expect: (data) => {
      const out: DecodedReading[] = [];
      for (const x of (data.values ?? []) as VendorValue[]) {
        const metric = VENDOR_TYPES[x.Type] ?? INFO_TYPES[x.Type];
        if (metric === undefined || x.Value === null) continue;
        out.push({ metric, value: x.Value, ...vendorTs(x.Timestamp) });
      }
      return out;
    },
  },
  deviations: [
    'The meter\'s timestamps carry no zone (the vendor output has no "Z"): they are taken as UTC, as the codec does.',
    'Invalid raw values (the sign bit alone for binary, a nibble above 9 for BCD) are not stored, where the vendor codec emits Value null with a warning.',
    'A stored value (storage number >= 1) dated by a date/time record, as the flowIQ\'s hourly log value is, is the current reading at that time. Orthogonal VIFEs other than the inverse compact profile (reverse volume, per-hour values …) are not the plain quantity and are not stored.',
    {
      id: 'billing-date-volume',
      reason: 'The volume of a storage number dated by a date-only record (type G, 42 6C: the billing or "target" date) is the index at that date, not the current one: the vendor lists it as one more "Volume" (and even as latestVolume). The gateway stores it as water_volume_target_m3 at the target date, so the current water_volume_m3 is never replaced by an older billing value and a bill can query the target reading directly.',
      commit: COMMIT,
      applies: (v) => records(v).some((r) => r.vif === 0x6c && r.storage >= 1),
      expect: (exp: VendorExpectation, v) => {
        if (exp === 'error') return exp;
        const recs = records(v);
        const targets = new Set(recs.filter((r) => r.vif === 0x6c && r.storage >= 1 && r.fn === 0).map((r) => dateG(r.data)).filter((t) => t !== undefined));
        return exp.map((r) => (r.metric === 'water_volume_m3' && r.ts !== undefined && targets.has(r.ts) ? { ...r, metric: 'water_volume_target_m3' } : r));
      },
    },
    {
      id: 'hundred-year-bits',
      reason: 'mbusparser.js reads a type F date with the hundred-year bits 0 as 19xx (2026 becomes 1926). EN 13757-3 Annex A recommends reading the years 00-80 as 2000-2080 in that case, since most meters leave those bits at 0; the gateway does, so readings are not stamped a century early.',
      commit: COMMIT,
      applies: (v) => records(v).some((r) => r.vif === 0x6d && r.data.length === 4 && (r.data[0]! & 0x80) === 0 && ((r.data[1]! >> 5) & 0x03) === 0
        && ((((r.data[2]! >> 5) & 0x07) | ((r.data[3]! >> 4) << 3)) <= 80)),
      expect: (exp: VendorExpectation) => {
        if (exp === 'error') return exp;
        return exp.map((r) => {
          if (r.ts === undefined || new Date(r.ts).getUTCFullYear() >= 1981) return r;
          const d = new Date(r.ts);
          d.setUTCFullYear(d.getUTCFullYear() + 100);
          return { ...r, ts: d.getTime() };
        });
      },
    },
    {
      id: 'volume-top-bit',
      reason: 'mbusparser.js reads binary values as signed with `1 << (8 * size)`, which JavaScript computes as 1 for 4 bytes (shift counts are taken modulo 32): a 4-byte volume with the top bit set comes out as the unsigned value minus one, neither signed nor unsigned. A volume index counts up from 0, so the gateway reads it unsigned (one litre more than the vendor here; its profile steps shift alike).',
      commit: COMMIT,
      applies: (v) => records(v).some((r) => r.fn === 0 && !r.bcd && r.vif >= 0x10 && r.vif <= 0x17 && r.data.length === 4 && (r.data[3]! & 0x80) !== 0),
      expect: (exp: VendorExpectation, v) => {
        if (exp === 'error') return exp;
        const tops = records(v).filter((r) => r.fn === 0 && !r.bcd && r.vif >= 0x10 && r.vif <= 0x17 && r.data.length === 4 && (r.data[3]! & 0x80) !== 0);
        const unit = 10 ** ((tops[0]!.vif & 0x07) - 6);
        return exp.map((r) => (r.metric === 'water_volume_m3' || r.metric === 'water_volume_target_m3' ? { ...r, value: round((r.value as number) + unit, 6) } : r));
      },
    },
    {
      id: 'min-max-not-stored',
      reason: 'Minimum and maximum values (DIF function 2 and 1: "Min/Max Volume flow", "Min/Max Flow temperature") are statistics of the logging period, not current values: not stored.',
      commit: COMMIT,
      applies: (v) => ((v.vendor.data?.values ?? []) as VendorValue[]).some((x) => /^(Min|Max) (Volume flow|Flow temperature|External temperature)$/.test(x.Type)),
    },
    {
      id: 'no-vocabulary-name',
      reason: 'The Low / High Ambient Temperature info-code bits and ALD last day (acoustic leak detection bookkeeping) have no vocabulary name and raise no estate alert: not stored. The six water-meter info codes are.',
      commit: COMMIT,
      applies: (v) => ((v.vendor.data?.values ?? []) as VendorValue[]).some((x) => ['Low Ambient Temperature', 'High Ambient Temperature', 'ALD last day'].includes(x.Type)),
    },
  ],
  decode,
  examples: [
    {
      description: 'Volume 0.236 m3 with info codes (corpus)', port: 1, hex: '78446D0020F32A4413EC00000052FF25100042FF1C0500623B0000523B0000615B80515B80',
      series: [
        ['water_volume_m3', 0.236], ['meter_dry', false], ['reverse_flow', false], ['leak', false], ['burst', false], ['tamper', true], ['battery_low', false],
      ].map(([metric, value]) => ({ metric: metric as string, ts: '2023-10-19T00:00:00Z', value: value as number | boolean })),
    },
    {
      description: 'Hourly volume profile (corpus)', port: 1, hex: '7A08000000446D002CFD284413C1AA77004D9313186201270122012201260122012201210127012201220127012F',
      series: [7842.497, 7842.202, 7841.912, 7841.622, 7841.328, 7841.038, 7840.748, 7840.459, 7840.164, 7839.874, 7839.584, 7839.289]
        .map((value, h) => ({ metric: 'water_volume_m3', ts: new Date(Date.UTC(2023, 7, 29, 12 - h)).toISOString(), value })),
    },
    {
      description: 'current volume and billing-date volume (issue 12 repro): vendor 123.456 m3 at 2026-03-15T10:00 and 120 m3 at the target date 2026-03-01', port: 1,
      hex: '78046D002A4F33041340E20100426C41334413C0D40100',
      series: [{ metric: 'water_volume_m3', ts: '2026-03-15T10:00:00Z', value: 123.456 }, { metric: 'water_volume_target_m3', ts: '2026-03-01T00:00:00Z', value: 120 }],
    },
    {
      description: 'BCD volume, DIF 0x0C (issue 12 repro): vendor 12345.678 m3, not 305419.896', port: 1, hex: '78046D002A4F330C1378563412',
      series: [{ metric: 'water_volume_m3', ts: '2026-03-15T10:00:00Z', value: 12345.678 }],
    },
    {
      description: 'profile with the invalid delta 0xFFFF (issue 12 repro): the profile ends there, vendor 123.456 and 123.44 m3', port: 1,
      hex: '78446D002A4F33441340E201004D93130862011000FFFF2000',
      series: [{ metric: 'water_volume_m3', ts: '2026-03-15T10:00:00Z', value: 123.456 }, { metric: 'water_volume_m3', ts: '2026-03-15T09:00:00Z', value: 123.44 }],
    },
    {
      description: 'profile in increment mode 2 (the register fell: earlier samples are higher)', port: 1, hex: '78446D002A4F33441340E20100' + '4D931306A2011000 2000'.replace(/ /g, ''),
      series: [
        { metric: 'water_volume_m3', ts: '2026-03-15T10:00:00Z', value: 123.456 }, { metric: 'water_volume_m3', ts: '2026-03-15T09:00:00Z', value: 123.472 },
        { metric: 'water_volume_m3', ts: '2026-03-15T08:00:00Z', value: 123.504 },
      ],
    },
    {
      description: 'hundred-year bits 0 with year 26: 2026 (EN 13757-3), the vendor codec says 1926', port: 1, hex: '78046D000A4F33041340E20100',
      series: [{ metric: 'water_volume_m3', ts: '2026-03-15T10:00:00Z', value: 123.456 }],
    },
    { description: 'encrypted (security mode 5)', port: 1, hex: '7A0800000500446D002CFD28', error: 'encrypted' },
    { description: 'truncated record', port: 1, hex: '784413EC00', error: 'frame too short' },
  ],
});
