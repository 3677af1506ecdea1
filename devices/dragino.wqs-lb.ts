import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading, VendorVector } from '../src/core/model.js';
import { Bytes, requirePort, round } from './lib/bytes.js';
import { draginoBattery } from './lib/dragino.js';
import { datalogEntries, draginoStatus, noProbeTemperature, probeTemperature, unixTimeMs, vendorDatalog, vendorTime, afterY2038, hasTimeAfter2038 } from './lib/dragino-lb.js';

const COMMIT = '5c12ba1';

/**
 * The probes fitted, by bit of the probe mask (byte 4 in the realtime frame, byte 6 of a
 * datalog entry), in the order their values follow. The datalog's values are signed.
 */
const PROBES: Array<{ bit: number; metric: string; value: (raw: number) => number; vendorKey: string }> = [
  { bit: 5, metric: 'turbidity_ntu', value: (r) => round(r / 10, 1), vendorKey: 'turbidity' },
  { bit: 4, metric: 'dissolved_oxygen_mg_l', value: (r) => round(r / 100, 2), vendorKey: 'dissolved_oxygen' },
  { bit: 3, metric: 'orp_mv', value: (r) => r, vendorKey: 'ORP' },
  { bit: 2, metric: 'conductivity_us_cm', value: (r) => r * 10, vendorKey: 'EC_K10' }, // K=10 electrode: 10 uS/cm steps
  { bit: 1, metric: 'conductivity_us_cm', value: (r) => r, vendorKey: 'EC_K1' },
  { bit: 0, metric: 'ph', value: (r) => round(r / 100, 2), vendorKey: 'PH' },
];
const fitted = (mask: number) => PROBES.filter((p) => (mask >> p.bit) & 1);
/** a datalog entry holds room for three values: the first three fitted probes */
const LOGGED = 3;

function vendorReadings(d: any, v: VendorVector): DecodedReading[] {
  if (v.fPort === 2) {
    return [{ metric: 'battery_v', value: d.battery }, { metric: 'temperature_c', value: Number(d.temperature_pro) },
      ...PROBES.filter((p) => d[p.vendorKey] !== undefined).map((p) => ({ metric: p.metric, value: d[p.vendorKey] }))];
  }
  if (v.fPort === 3) {
    // the vendor prints the values only, in probe order; the mask says which is which
    const probes = fitted(Buffer.from(v.hex, 'hex')[6]! & 0x3f).slice(0, LOGGED);
    return vendorDatalog(d.DATALOG).flatMap((entry) => probes.map((p, i) => ({ metric: p.metric, value: Number(entry[i]), ts: vendorTime(entry[3]!) })));
  }
  return [{ metric: 'battery_v', value: d.battery }]; // FPort 5
}

export default defineModel({
  id: 'dragino.wqs-lb',
  vendor: 'Dragino',
  name: 'WQS-LB LoRaWAN water quality sensor',
  kind: 'water_quality',
  description: 'Up to six probes, as the probe mask of each frame says: turbidity (NTU), dissolved oxygen (mg/l), ORP (mV), conductivity (K=10 or K=1 electrode, uS/cm) and pH, plus an optional DS18B20 water temperature. The water-quality rules (pH range, turbidity) apply. FPort 3 carries the first three probes\' values logged out of coverage, at their own times; FPort 5 (device status, with the battery voltage) is recorded as device_info.',
  format: 'binary',
  ports: [2, 3, 5],
  reportIntervalS: 1200,
  lowBatteryV: 3.1,
  metrics: ['battery_v', 'temperature_c', 'turbidity_ntu', 'dissolved_oxygen_mg_l', 'orp_mv', 'conductivity_us_cm', 'ph'],
  events: ['device_info'],
  vendorCodec: {
    codec: 'vendor/dragino/wqs-lb.js',
    commit: COMMIT,
    vectors: ['dragino.wqs-lb.jsonl'],
    expect: vendorReadings,
  },
  deviations: [
    { ...noProbeTemperature, commit: COMMIT },
    {
      ...afterY2038, commit: COMMIT,
      applies: (v) => v.fPort === 3 && v.vendor.data !== undefined && hasTimeAfter2038(v.hex, true),
      expect: afterY2038.fix,
    },
    {
      id: 'frame-length', commit: COMMIT,
      reason: 'The vendor codec reads as many values as the probe mask names whatever the frame\'s length, missing bytes as 0 (JavaScript bit operations on undefined): a cut frame gives pH 0 or turbidity 0, which would raise or clear water-quality alarms. The gateway refuses a frame shorter than its probe mask needs (dead letter with the reason); bytes after the named probes are ignored, as the vendor ignores them.',
      applies: (v) => v.fPort === 2 && v.vendor.data !== undefined && (v.hex.length < 10 || v.hex.length < 10 + 4 * fitted(Buffer.from(v.hex, 'hex')[4]! & 0x3f).length),
      expect: () => 'error',
    },
    'The interrupt flag (uplink triggered by the interrupt pin) and the datalog\'s PNACKMD flag (reply to a poll) describe the frame, not the water: not stored.',
    'A datalog entry has room for three values: with more than three probes fitted, the vendor codec (and so the gateway) logs the first three in mask order (turbidity, DO, ORP, EC, pH); the others are only in the realtime frames.',
    'Both conductivity bits (K=10 and K=1 electrode) map to conductivity_us_cm; with both set, which one probe cannot be, the later value (K=1, the vendor\'s order too) is stored.',
    'The datalog uses the probe mask of each entry; the vendor codec uses the first entry\'s for all. They are the same for a frame the device builds (one probe set), which is all the vectors hold.',
  ],
  decode: ({ payload, port }) => {
    requirePort(port, [2, 3, 5]);
    if (port === 5) return draginoStatus(payload, { 0x3c: 'WQS01-LB' });
    if (port === 3) {
      const readings = datalogEntries(payload).flatMap((e) => {
        const ts = unixTimeMs(e, 7);
        return fitted(e.u8(6) & 0x3f).slice(0, LOGGED).map((p, i) => ({ metric: p.metric, value: p.value(e.i16be(i * 2)), ts }));
      });
      return { readings, events: [] };
    }
    const b = new Bytes(payload);
    if (payload.length < 5) throw new DecodeError(`frame too short: need 5 bytes, have ${payload.length}`);
    const probes = fitted(b.u8(4) & 0x3f);
    // bytes after the named probes are ignored, as the vendor codec ignores them
    if (payload.length < 5 + 2 * probes.length) throw new DecodeError(`probe mask 0x${(b.u8(4) & 0x3f).toString(16)} needs ${5 + 2 * probes.length} bytes, frame has ${payload.length}`);
    const readings: DecodedReading[] = [{ metric: 'battery_v', value: draginoBattery(b) }, ...probeTemperature(b, 2)];
    // ORP can be negative (reducing water); the other probes are unsigned
    probes.forEach((p, i) => readings.push({ metric: p.metric, value: p.value(p.bit === 3 ? b.i16be(5 + 2 * i) : b.u16be(5 + 2 * i)) }));
    return { readings, events: [] };
  },
  examples: [
    {
      description: 'vendor example payload without its 2 stray bytes (the YAML\'s expected output is another model\'s; these are the codec\'s values): EC 12 uS/cm, pH 4.77', port: 2, hex: '0CF6010103000C01DD',
      readings: { battery_v: 3.318, temperature_c: 25.7, conductivity_us_cm: 12, ph: 4.77 },
    },
    {
      description: 'five probes: 0.8 NTU, 8.26 mg/l DO, ORP -120 mV, 530 uS/cm (K=10), pH 7.21, water 14.5 °C', port: 2, hex: '0D4800913D0008033AFF88003502D1',
      readings: { battery_v: 3.4, temperature_c: 14.5, turbidity_ntu: 0.8, dissolved_oxygen_mg_l: 8.26, orp_mv: -120, conductivity_us_cm: 530, ph: 7.21 },
    },
    {
      description: 'datalog: pH and ORP logged at 2024-02-08 23:39:47', port: 3, hex: 'FF8802D100000965C56643',
      series: [{ metric: 'orp_mv', ts: '2024-02-08T23:39:47Z', value: -120 }, { metric: 'ph', ts: '2024-02-08T23:39:47Z', value: 7.21 }],
    },
    {
      description: 'device status: WQS01-LB v1.1.0, CN470, battery 3.55 V', port: 5, hex: '3C01100BFF0DDE',
      readings: { battery_v: 3.55 },
      events: [{ type: 'device_info', data: { sensorModel: 'WQS01-LB', firmwareVersion: '1.1.0', frequencyBand: 'CN470', subBand: null } }],
    },
    {
      description: 'vendor example payload as given: mask 0x03 names two probes (9 bytes), the 2 bytes after them are ignored', port: 2, hex: '0CF6010103000C01DD01FF',
      readings: { battery_v: 3.318, temperature_c: 25.7, conductivity_us_cm: 12, ph: 4.77 },
    },
    { description: 'pH probe named but its value cut off', port: 2, hex: '0CF60101010C', error: 'needs 7 bytes' },
    { description: 'unknown FPort', port: 4, hex: '0CF601010100C8', error: 'unknown FPort 4' },
  ],
});
