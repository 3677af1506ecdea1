import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading, VendorExpectation, VendorVector } from '../src/core/model.js';
import { Bytes, requirePort } from './lib/bytes.js';
import { draginoBattery } from './lib/dragino.js';
import { afterY2038, datalogEntries, draginoStatus, hasTimeAfter2038, noProbeTemperature, probeTemperature, unixTimeMs, vendorDatalog, vendorTime } from './lib/dragino-lb.js';

const COMMIT = '5c12ba1';
const DISTANCES = ['distance_mm', 'distance_2_mm', 'distance_3_mm'];
/** the sensor's "no sensor" (0) and "invalid reading" (20) codes, as on the LDDS75 */
const SENTINELS = [0, 20];

const distances = (values: number[], ts?: number): DecodedReading[] =>
  values.flatMap((value, i) => (SENTINELS.includes(value) ? [] : [{ metric: DISTANCES[i]!, value, ...(ts !== undefined ? { ts } : {}) }]));

function vendorReadings(d: any, v: VendorVector): DecodedReading[] {
  if (v.fPort === 2) {
    return [{ metric: 'battery_v', value: d.battery }, { metric: 'temperature_c', value: Number(d.temperature_pro) },
      ...[d.distance1, d.distance2, d.distance3].map((value, i) => ({ metric: DISTANCES[i]!, value }))];
  }
  if (v.fPort === 3) {
    return vendorDatalog(d.DATALOG).flatMap(([a, b, c, time]) =>
      [a, b, c].map((value, i) => ({ metric: DISTANCES[i]!, value: Number(value), ts: vendorTime(time!) })));
  }
  return [{ metric: 'battery_v', value: d.battery }]; // FPort 5
}

export default defineModel({
  id: 'dragino.dds75-lb',
  vendor: 'Dragino',
  name: 'DDS75-LB LoRaWAN ultrasonic distance sensor (TTN codec: three distances)',
  kind: 'bin_fill',
  description: 'Ultrasonic distance to a bin\'s waste or a tank\'s surface; fill_pct from the device attribute binDepthMm (for a tank: the distance from the sensor to its floor). Follows the layout of the vendor codec in the TTN device repository: battery, DS18B20 probe temperature and three distances (distance_mm, distance_2_mm, distance_3_mm) in an 11-byte frame; Dragino\'s DDS75-LB manual shows an 8-byte frame with one distance, which this decoder refuses rather than misread. FPort 3 carries distances logged out of coverage; FPort 5 (device status, with the battery voltage) is recorded as device_info.',
  format: 'binary',
  ports: [2, 3, 5],
  reportIntervalS: 1200,
  lowBatteryV: 3.1,
  metrics: ['battery_v', 'temperature_c', 'distance_mm', 'distance_2_mm', 'distance_3_mm', 'fill_pct'],
  events: ['device_info'],
  attributes: { binDepthMm: 'distance from the sensor to the bin or tank floor, mm' },
  vendorCodec: {
    codec: 'vendor/dragino/dds75-lb.js',
    commit: COMMIT,
    vectors: ['dragino.dds75-lb.jsonl'],
    expect: vendorReadings,
  },
  deviations: [
    {
      id: 'distance-sentinels', commit: COMMIT,
      reason: 'Distance 0 ("no sensor") and 20 ("invalid reading") are the sensor\'s codes, not distances (Dragino LDDS75/DDS75 manuals); the vendor codec prints them as distances. The gateway stores no distance (and so no fill_pct) for them, so a broken probe never reads as a full bin; the frame\'s other readings are kept.',
      applies: (v) => v.vendor.data !== undefined && (v.fPort === 2 || v.fPort === 3) && vendorReadings(v.vendor.data, v).some((r) => DISTANCES.includes(r.metric) && SENTINELS.includes(r.value as number)),
      expect: (exp: VendorExpectation) => (exp === 'error' ? exp : exp.filter((r) => !(DISTANCES.includes(r.metric) && SENTINELS.includes(r.value as number)))),
    },
    { ...noProbeTemperature, commit: COMMIT },
    {
      ...afterY2038, commit: COMMIT,
      applies: (v) => v.fPort === 3 && v.vendor.data !== undefined && hasTimeAfter2038(v.hex, true),
      expect: afterY2038.fix,
    },
    {
      id: 'frame-length', commit: COMMIT,
      reason: 'The vendor codec decodes an FPort 2 frame of any length, reading missing bytes as 0 (JavaScript bit operations on undefined): the 8-byte frame of Dragino\'s manual would come out with its temperature read from the distance bytes and a third distance of 0. The gateway refuses a frame shorter than the codec\'s 11-byte layout (dead letter with the reason) rather than store misplaced values; bytes after it are ignored, as the vendor ignores them.',
      applies: (v) => v.fPort === 2 && v.hex.length < 22,
      expect: () => 'error',
    },
    'The interrupt flag (uplink triggered by the interrupt pin), the sensor flag (probe detected) and the datalog\'s PNACKMD flag (reply to a poll) describe the frame, not the distance: not stored.',
  ],
  decode: ({ payload, port }) => {
    requirePort(port, [2, 3, 5]);
    if (port === 5) return draginoStatus(payload, { 0xf2: 'DDS75-3-LB' });
    if (port === 3) {
      // the datalog's distances are signed 16-bit in the vendor codec (the realtime frame's are unsigned)
      const readings = datalogEntries(payload).flatMap((e) => distances([e.i16be(0), e.i16be(2), e.i16be(4)], unixTimeMs(e, 7)));
      return { readings, events: [] };
    }
    // bytes after the layout are ignored, as the vendor codec ignores them
    if (payload.length < 11) throw new DecodeError(`frame too short: need 11 bytes, have ${payload.length}`);
    const b = new Bytes(payload);
    return {
      readings: [{ metric: 'battery_v', value: draginoBattery(b) }, ...probeTemperature(b, 2), ...distances([b.u16be(4), b.u16be(6), b.u16be(8)])],
      events: [],
    };
  },
  examples: [
    {
      description: 'vendor example payload (the YAML\'s expected output is another model\'s; these are the codec\'s values): 768, 3073 and 56577 mm, 25.7 °C', port: 2, hex: '0CF6010103000C01DD01FF',
      readings: { battery_v: 3.318, temperature_c: 25.7, distance_mm: 768, distance_2_mm: 3073, distance_3_mm: 56577 },
    },
    {
      description: 'bin 2 m deep, waste at 1500 mm, no temperature probe', port: 2, hex: '0D48000005DC05DE05E010', attributes: { binDepthMm: 2000 },
      readings: { battery_v: 3.4, distance_mm: 1500, distance_2_mm: 1502, distance_3_mm: 1504, fill_pct: 25 },
    },
    {
      description: 'probe at -4.5 °C, first distance "invalid reading" (20)', port: 2, hex: '0D48FFD3001401F401F410',
      readings: { battery_v: 3.4, temperature_c: -4.5, distance_2_mm: 500, distance_3_mm: 500 },
    },
    {
      description: 'datalog entry logged at 2024-02-08 23:39:47', port: 3, hex: '03E803E903EA0065C56643',
      series: [
        { metric: 'distance_mm', ts: '2024-02-08T23:39:47Z', value: 1000 }, { metric: 'distance_2_mm', ts: '2024-02-08T23:39:47Z', value: 1001 },
        { metric: 'distance_3_mm', ts: '2024-02-08T23:39:47Z', value: 1002 },
      ],
    },
    {
      description: 'device status: DDS75-3-LB v1.0.0, EU868, battery 3.6 V', port: 5, hex: 'F2010001FF0E10',
      readings: { battery_v: 3.6 },
      events: [{ type: 'device_info', data: { sensorModel: 'DDS75-3-LB', firmwareVersion: '1.0.0', frequencyBand: 'EU868', subBand: null } }],
    },
    { description: 'the 8-byte frame of the manual is not the codec\'s layout', port: 2, hex: '0D3B0AEF00000001', error: 'frame too short: need 11 bytes' },
    { description: 'unknown FPort', port: 4, hex: '0CF6010103000C01DD01FF', error: 'unknown FPort 4' },
  ],
});
