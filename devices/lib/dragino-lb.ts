/**
 * Pieces the newer Dragino nodes (LB/LS generation, SW3L, LWL03A) share on top of
 * devices/lib/dragino.ts:
 * - FPort 3 datalog: the sensor keeps readings while out of coverage and sends them later,
 *   11 bytes per entry, each ending in a big-endian unsigned unix time (seconds, UTC);
 * - FPort 5 device status: sensor model, firmware, frequency band, sub-band, battery (mV);
 * - helpers for the models' `vendorCodec.expect`: Dragino's codecs print times as
 *   "YYYY-MM-DD HH:MM:SS" and datalogs as "[a,b,…],[a,b,…],".
 */
import { DecodeError, type Decoded, type DecodedReading, type VendorExpectation } from '../../src/core/model.js';
import { Bytes, round } from './bytes.js';

export const DATALOG_ENTRY = 11;

/** The entries of an FPort 3 datalog frame, each an 11-byte view. */
export function datalogEntries(payload: Buffer): Bytes[] {
  if (payload.length === 0 || payload.length % DATALOG_ENTRY !== 0) {
    throw new DecodeError(`datalog must be a whole number of ${DATALOG_ENTRY}-byte entries, has ${payload.length} bytes`);
  }
  const entries: Bytes[] = [];
  for (let at = 0; at < payload.length; at += DATALOG_ENTRY) entries.push(new Bytes(payload.subarray(at, at + DATALOG_ENTRY)));
  return entries;
}

/** unix seconds (unsigned, UTC) at `at` as epoch ms */
export const unixTimeMs = (b: Bytes, at: number): number => b.u32be(at) * 1000;

const BANDS: Record<number, string> = {
  1: 'EU868', 2: 'US915', 3: 'IN865', 4: 'AU915', 5: 'KZ865', 6: 'RU864', 7: 'AS923', 8: 'AS923_1',
  9: 'AS923_2', 10: 'AS923_3', 11: 'CN470', 12: 'EU433', 13: 'KR920', 14: 'MA869',
};

/**
 * FPort 5 device status (7 bytes): battery_v is a reading, the rest is recorded as a
 * device_info event. `models` maps the sensor-model byte to the vendor's name.
 */
export function draginoStatus(payload: Buffer, models: Record<number, string>): Decoded {
  if (payload.length !== 7) throw new DecodeError(`device status must have 7 bytes, has ${payload.length}`);
  const b = new Bytes(payload);
  const model = b.u8(0);
  return {
    readings: [{ metric: 'battery_v', value: round(b.u16be(5) / 1000, 3) }],
    events: [{
      type: 'device_info',
      data: {
        sensorModel: models[model] ?? `0x${model.toString(16).padStart(2, '0')}`,
        firmwareVersion: `${b.u8(1) & 0x0f}.${(b.u8(2) >> 4) & 0x0f}.${b.u8(2) & 0x0f}`,
        frequencyBand: BANDS[b.u8(3)] ?? null,
        subBand: b.u8(4) === 0xff ? null : b.u8(4),
      },
    }],
  };
}

/** A configuration reply: no readings, its fields recorded as a device_info event. */
export function deviceInfo(data: Record<string, unknown>): Decoded {
  return { readings: [], events: [{ type: 'device_info', data }] };
}

// ---- for vendorCodec.expect (the vendors' printed output back to values) ----

/** "2026-03-01 12:00:00" as printed by the codecs (run with TZ=UTC) to epoch ms */
export const vendorTime = (s: string): number => Date.parse(`${s.replace(' ', 'T')}Z`);

/** "[a,b,c],[d,e,f]," to [["a","b","c"],["d","e","f"]] */
export function vendorDatalog(s: string): string[][] {
  return [...s.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]!.split(','));
}

/**
 * Dragino's codecs build the 32-bit time with `bytes[i] << 24 | …`, a signed int: from
 * 2038-01-19 on they print dates before 1970. The field is unsigned seconds; this maps the
 * vendor's time back (a reading the vendor stamps at t < 0 is the same reading at t + 2^32 s).
 */
export const afterY2038 = {
  id: 'time-after-2038',
  reason: 'The vendor codec reads the 32-bit unix time as a signed int (bytes[7] << 24 | …), so a time from 2038-01-19 on comes out before 1970. The field is unsigned seconds (as the device counts them); the gateway reads it so, the reading is the same at the right time.',
  fix: (exp: VendorExpectation): VendorExpectation =>
    exp === 'error' ? exp : exp.map((r: DecodedReading) => (r.ts !== undefined && r.ts < 0 ? { ...r, ts: r.ts + 2 ** 32 * 1000 } : r)),
};

/** Does the frame (realtime: time at 7; datalog: each entry's time at 7) hold a time from 2038 on? */
export function hasTimeAfter2038(hex: string, datalog: boolean): boolean {
  const b = Buffer.from(hex, 'hex');
  const starts = datalog ? Array.from({ length: Math.floor(b.length / DATALOG_ENTRY) }, (_, i) => i * DATALOG_ENTRY) : [0];
  return starts.some((s) => b.length >= s + 11 && b[s + 7]! >= 0x80);
}

/**
 * The optional DS18B20 probe (signed 0.1 °C). Without a probe the frame carries 0x0000,
 * which the codecs print as "0.00": a raw 0 stores no temperature (same rule as the LDDS75).
 */
export function probeTemperature(b: Bytes, at: number): DecodedReading[] {
  const t = b.i16be(at);
  return t === 0 ? [] : [{ metric: 'temperature_c', value: round(t / 10, 1) }];
}

export const noProbeTemperature = {
  id: 'no-probe-temperature',
  reason: 'Without a DS18B20 probe the frame carries 0x0000, which the vendor codec prints as temperature "0.00". No temperature_c is stored for a raw 0, so a missing probe never reads as water or a bin at 0 °C (a probe reading exactly 0.0 °C is lost with it: the frame has no presence flag to tell them apart).',
  applies: (v: { fPort: number; vendor: { data?: any } }) => v.fPort === 2 && v.vendor.data?.temperature_pro === '0.00',
  expect: (exp: VendorExpectation): VendorExpectation => (exp === 'error' ? exp : exp.filter((r) => r.metric !== 'temperature_c')),
};
