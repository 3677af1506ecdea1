import { defineModel } from '../src/core/model.js';
import type { DecodedReading, VendorVector } from '../src/core/model.js';
import { angleSignDiffers, binSensorReadings, dingtekFrame, gpsEvent, DATA17, DINGTEK_PORT, GPS25 } from './lib/dingtek.js';

const layout = (v: VendorVector) => (v.hex.length / 2 === 17 ? DATA17 : GPS25);

export default defineModel({
  id: 'dingtek.df703',
  vendor: 'Dingtek',
  name: 'DF703 ultrasonic fill-level sensor',
  kind: 'bin_fill',
  description: 'The DF702 data frame with numeric output: distance (fill_pct from binDepthMm), temperature, angle, full, fire, fall (tilt) and battery alarms; the 25-byte variant adds the bin\'s GPS position (device_info), the 25-byte parameter packet is the device configuration (device_info).',
  format: 'binary',
  ports: [DINGTEK_PORT],
  reportIntervalS: 3600,
  metrics: ['distance_mm', 'fill_pct', 'temperature_c', 'tilt_angle_deg', 'full_alarm', 'fire_alarm', 'tilt', 'battery_low'],
  events: ['device_info'],
  attributes: { binDepthMm: 'distance from the sensor to the bin floor, mm' },
  vendorCodec: {
    // TTN's df703-codec.yaml (ba16c84) names vendor/dingtek/df703.js; the vectors come from Dingtek's own codec, which gives that YAML's examples exactly
    codec: 'cndingtek/Chirpstack_codec: Chirpstack_DF703_script_V1.0.js',
    commit: '87bb8e9',
    vectors: ['dingtek.df703.jsonl'],
    expect: (d): DecodedReading[] => (d.level === undefined ? [] : [
      { metric: 'distance_mm', value: d.level },
      { metric: 'temperature_c', value: d.temperature },
      { metric: 'tilt_angle_deg', value: d.angle },
      { metric: 'full_alarm', value: d.alarmLevel },
      { metric: 'fire_alarm', value: d.alarmFire },
      { metric: 'tilt', value: d.alarmFall },
      { metric: 'battery_low', value: d.alarmBattery },
    ]),
  },
  deviations: [
    {
      id: 'angle-sign-as-layout',
      reason: 'Tilt angle: the vendor codec tests `bytes[9] & (0x0f === 0x00)`, always false (operator precedence), so it always gives 0 - bytes[10]. This decoder applies the sign byte as the layout intends: negative only when its low nibble is set. The two differ when the sign nibble is clear and the angle is not 0.',
      commit: '87bb8e9',
      applies: (v) => v.vendor.data?.level !== undefined && angleSignDiffers(v.hex, layout(v)),
      expect: (exp) => (exp === 'error' ? exp : exp.map((r) => (r.metric === 'tilt_angle_deg' ? { ...r, value: -(r.value as number) } : r))),
    },
    'alarmFall (the bin fell over) is stored as tilt; frameCounter is a sequence number, not a reading.',
    'GPS frames: longitude and latitude are the bin\'s position, not readings: they are recorded as a device_info event, decoded as IEEE-754 (Buffer.readFloatLE). The vendor codec divides the mantissa by 0x7FFFFF instead of 2^23 (116.507430 where the true value is 116.507423).',
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
            firmware: `${b.u8(5)}.${b.u8(6)}`, upload_interval_h: b.u8(7), detect_interval_min: b.u8(8), level_threshold_cm: b.u8(9),
            fire_threshold_c: b.u8(10), fall_threshold_deg: b.u8(11), fall_enable: b.u8(12) !== 0, work_mode: b.u8(14),
          },
        }],
      };
    }
    if (f.length === 17) return { readings: binSensorReadings(b, DATA17), events: [] };
    return { readings: binSensorReadings(b, GPS25), events: [gpsEvent(b)] };
  },
  examples: [
    {
      description: 'Data frame, level 2000 mm (corpus), 3 m bin', port: 3, hex: '800001011107D000190000000000010081', attributes: { binDepthMm: 3000 },
      readings: { distance_mm: 2000, fill_pct: 33.3, temperature_c: 25, tilt_angle_deg: 0, full_alarm: false, fire_alarm: false, tilt: false, battery_low: false },
    },
    {
      // issue 12: the GPS frame gave nothing, silently; vendor: level 2000, temperature 25, angle 0, no alarms, position 116.507430 / 40.038999
      description: 'heartbeat with GPS (vendor YAML example)', port: 3, hex: '800001011907D001CD03E942EF272042190000000000010081',
      readings: { distance_mm: 2000, temperature_c: 25, tilt_angle_deg: 0, full_alarm: false, fire_alarm: false, tilt: false, battery_low: false },
      events: [{ type: 'device_info', data: { longitude: 116.507423, latitude: 40.038998 } }],
    },
    {
      description: 'parameter packet (vendor YAML example)', port: 3, hex: '8000010319010418011E4B1E00000000000000000000000081', readings: {},
      events: [{ type: 'device_info', data: { firmware: '1.4', upload_interval_h: 24, detect_interval_min: 1, level_threshold_cm: 30, fire_threshold_c: 75, fall_threshold_deg: 30, fall_enable: false, work_mode: 0 } }],
    },
    { description: 'fallen over', port: 3, hex: '800001011100C80016000A001000020081', readings: { distance_mm: 200, temperature_c: 22, tilt_angle_deg: 10, full_alarm: false, fire_alarm: false, tilt: true, battery_low: false } },
    { description: 'bad start byte', port: 3, hex: '810001011107D000190000000000010081', error: 'must start with 0x80' },
  ],
});
