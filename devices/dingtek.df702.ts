import { defineModel } from '../src/core/model.js';
import type { DecodedReading, VendorVector } from '../src/core/model.js';
import { angleSignDiffers, binSensorReadings, dingtekFrame, gpsEvent, DATA17, DINGTEK_PORT, GPS25 } from './lib/dingtek.js';

/** the vendor prints numbers with their unit ("4730 mm", "-90 °", "50 ℃") */
const num = (s: unknown) => parseFloat(String(s));
const layout = (v: VendorVector) => (v.hex.length / 2 === 17 ? DATA17 : GPS25);

export default defineModel({
  id: 'dingtek.df702',
  vendor: 'Dingtek',
  name: 'DF702 ultrasonic waste-bin fill-level sensor',
  kind: 'bin_fill',
  description: 'Ultrasonic distance to the waste surface (fill_pct from the device attribute binDepthMm), temperature, tilt angle and alarm flags (full, fire, tilt, low battery). The 25-byte variant also carries the bin\'s GPS position; the 25-byte parameter packet is the device configuration (device_info).',
  format: 'binary',
  ports: [DINGTEK_PORT],
  reportIntervalS: 3600,
  metrics: ['distance_mm', 'fill_pct', 'temperature_c', 'tilt_angle_deg', 'full_alarm', 'fire_alarm', 'tilt', 'battery_low'],
  events: ['device_info'],
  attributes: { binDepthMm: 'distance from the sensor to the bin floor, mm' },
  vendorCodec: {
    codec: 'vendor/dingtek/df702.js',
    commit: '0a254aa',
    vectors: ['dingtek.df702.jsonl'],
    expect: (d): DecodedReading[] => (d.level === undefined ? [] : [
      { metric: 'distance_mm', value: num(d.level) },
      { metric: 'temperature_c', value: num(d.temperature) },
      { metric: 'tilt_angle_deg', value: num(d.angle) },
      { metric: 'full_alarm', value: d.full },
      { metric: 'fire_alarm', value: d.fire },
      { metric: 'tilt', value: d.tilt },
      { metric: 'battery_low', value: d.battery },
    ]),
  },
  deviations: [
    {
      id: 'angle-sign-as-layout',
      reason: 'Tilt angle: the vendor codec tests `bytes[9] & (0x0f === 0x00)`, which is always false (operator precedence), so it always gives 0 - bytes[10]. This decoder applies the sign byte as the layout intends: negative only when its low nibble is set. The two differ when the sign nibble is clear and the angle is not 0.',
      commit: '0a254aa',
      applies: (v) => v.vendor.data?.level !== undefined && angleSignDiffers(v.hex, layout(v)),
      expect: (exp) => (exp === 'error' ? exp : exp.map((r) => (r.metric === 'tilt_angle_deg' ? { ...r, value: -(r.value as number) } : r))),
    },
    'GPS frames: longitude and latitude are the bin\'s position, not readings: they are recorded as a device_info event, decoded as IEEE-754 (Buffer.readFloatLE). The vendor codec divides the mantissa by 0x7FFFFF instead of 2^23, so 0x42E903CD gives 116.507430 where the true value is 116.507423.',
    'The parameter packet (intervals, alarm thresholds, tilt enable, ultrasonic range) is recorded as a device_info event with the vendor\'s values, without the unit suffixes.',
  ],
  decode: ({ payload, port }) => {
    const f = dingtekFrame(payload, port, [17, 25]);
    const b = f.b;
    if (f.length === 25 && f.parameter) {
      return {
        readings: [],
        events: [{
          type: 'device_info',
          data: {
            periodic_interval_h: b.u8(7), detection_interval_min: b.u8(8), full_alarm_threshold_cm: b.u8(9), fire_alarm_threshold_c: b.u8(10),
            tilt_alarm_threshold_deg: b.u8(11), tilt_enable: b.u8(12) !== 0, ultrasonic_range_mm: b.u8(13) === 0 ? 2000 : 5000,
          },
        }],
      };
    }
    if (f.length === 17) return { readings: binSensorReadings(b, DATA17), events: [] };
    return { readings: binSensorReadings(b, GPS25), events: [gpsEvent(b)] };
  },
  examples: [
    {
      description: 'Data frame, level 2000 mm (corpus), 3 m bin', port: 3, hex: '800001011107D000190000000000000081', attributes: { binDepthMm: 3000 },
      readings: { distance_mm: 2000, fill_pct: 33.3, temperature_c: 25, tilt_angle_deg: 0, full_alarm: false, fire_alarm: false, tilt: false, battery_low: false },
    },
    {
      description: 'Data frame with GPS (corpus)', port: 3, hex: '800001011907D001CD03E942EF272042190000000000000081',
      readings: { distance_mm: 2000, temperature_c: 25, tilt_angle_deg: 0, full_alarm: false, fire_alarm: false, tilt: false, battery_low: false },
      events: [{ type: 'device_info', data: { longitude: 116.507423, latitude: 40.038998 } }],
    },
    {
      description: 'tilted 35 degrees, fire alarm, low battery', port: 3, hex: '80000101110190001E0123011100000081',
      readings: { distance_mm: 400, temperature_c: 30, tilt_angle_deg: -35, full_alarm: false, fire_alarm: true, tilt: true, battery_low: true },
    },
    {
      description: 'full alarm (vendor vector: full true, level 0 mm)', port: 3, hex: '80003102110000003E0000101196D80081',
      readings: { distance_mm: 0, temperature_c: 62, tilt_angle_deg: 0, full_alarm: true, fire_alarm: false, tilt: true, battery_low: true },
    },
    {
      description: 'parameter packet (vendor vector)', port: 3, hex: '800031031901029E01E0F93101000000000000000000000081', readings: {},
      events: [{ type: 'device_info', data: { periodic_interval_h: 158, detection_interval_min: 1, full_alarm_threshold_cm: 224, fire_alarm_threshold_c: 249, tilt_alarm_threshold_deg: 49, tilt_enable: true, ultrasonic_range_mm: 2000 } }],
    },
    { description: 'bad end byte', port: 3, hex: '800001011107D000190000000000000080', error: 'must end with 0x81' },
  ],
});
