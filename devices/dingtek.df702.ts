import { defineModel } from '../src/core/model.js';
import { binSensorReadings, dingtekFrame, DATA17, DINGTEK_PORT } from './lib/dingtek.js';

export default defineModel({
  id: 'dingtek.df702',
  vendor: 'Dingtek',
  name: 'DF702 ultrasonic waste-bin fill-level sensor',
  kind: 'bin_fill',
  description: 'Ultrasonic distance to the waste surface (fill_pct from the device attribute binDepthMm), temperature, tilt angle and alarm flags (fire, tilt, low battery). The 25-byte variant also carries the bin\'s GPS position.',
  format: 'binary',
  ports: [DINGTEK_PORT],
  reportIntervalS: 3600,
  metrics: ['distance_mm', 'fill_pct', 'temperature_c', 'tilt_angle_deg', 'fire_alarm', 'tilt', 'battery_low'],
  attributes: { binDepthMm: 'distance from the sensor to the bin floor, mm' },
  deviations: [
    'The vendor codec\'s "full" flag is not stored: the gateway derives fullness from fill_pct and the bin_full rule, with per-bin thresholds.',
    'Tilt angle: the vendor codec computes 0 - b10 because of an operator-precedence bug (its sign test on b9 is always false). This decoder applies the sign byte as the layout intends (non-zero = negative); for the corpus frames (b9 = 0, b10 = 0) both give 0.',
    'GPS frames: longitude and latitude are not readings (they belong in the device\'s attributes). If decoded, use IEEE-754 (Buffer.readFloatLE): the vendor codec divides the mantissa by 0x7FFFFF instead of 2^23, so 0x42E903CD gives 116.507430 where the true value is 116.507423.',
  ],
  decode: ({ payload, port }) => {
    const f = dingtekFrame(payload, port, [17, 25]);
    if (f.parameter) return { readings: [], events: [] };
    // the 25-byte GPS frame moves the same fields behind the two floats (b16, b17, b18, b19/b20)
    const at = f.length === 17 ? DATA17 : { temperature: 16, sign: 17, angle: 18, alarms: 19 };
    return { readings: binSensorReadings(f.b, at), events: [] };
  },
  examples: [
    {
      description: 'Data frame, level 2000 mm (corpus), 3 m bin', port: 3, hex: '800001011107D000190000000000000081', attributes: { binDepthMm: 3000 },
      readings: { distance_mm: 2000, fill_pct: 33.3, temperature_c: 25, tilt_angle_deg: 0, fire_alarm: false, tilt: false, battery_low: false },
    },
    {
      description: 'Data frame with GPS (corpus)', port: 3, hex: '800001011907D001CD03E942EF272042190000000000000081',
      readings: { distance_mm: 2000, temperature_c: 25, tilt_angle_deg: 0, fire_alarm: false, tilt: false, battery_low: false },
    },
    {
      description: 'tilted 35 degrees, fire alarm, low battery', port: 3, hex: '80000101110190001E0123011100000081',
      readings: { distance_mm: 400, temperature_c: 30, tilt_angle_deg: -35, fire_alarm: true, tilt: true, battery_low: true },
    },
    { description: 'parameter packet', port: 3, hex: '80000103190000000000000000000000000000000000000081', readings: {} },
    { description: 'bad end byte', port: 3, hex: '800001011107D000190000000000000080', error: 'must end with 0x81' },
  ],
});
