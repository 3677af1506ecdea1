import { defineModel } from '../src/core/model.js';
import { binSensorReadings, dingtekFrame, DATA17, DINGTEK_PORT } from './lib/dingtek.js';

export default defineModel({
  id: 'dingtek.df703',
  vendor: 'Dingtek',
  name: 'DF703 ultrasonic fill-level sensor',
  kind: 'bin_fill',
  description: 'The DF702 data frame with numeric output: distance (fill_pct from binDepthMm), temperature, angle, fire, fall (tilt) and battery alarms.',
  format: 'binary',
  ports: [DINGTEK_PORT],
  reportIntervalS: 3600,
  metrics: ['distance_mm', 'fill_pct', 'temperature_c', 'tilt_angle_deg', 'fire_alarm', 'tilt', 'battery_low'],
  attributes: { binDepthMm: 'distance from the sensor to the bin floor, mm' },
  deviations: [
    'df703.js is not in the TTN index; the layout follows the DF702 frame and the corpus example. alarmLevel (full) is not stored (fill_pct and bin_full do that); alarmFall is stored as tilt; the frame counter is not a reading.',
  ],
  decode: ({ payload, port }) => {
    const f = dingtekFrame(payload, port, [17, 25]);
    if (f.parameter || f.length !== 17) return { readings: [], events: [] };
    return { readings: binSensorReadings(f.b, DATA17), events: [] };
  },
  examples: [
    {
      description: 'Data frame, level 2000 mm (corpus), 3 m bin', port: 3, hex: '800001011107D000190000000000010081', attributes: { binDepthMm: 3000 },
      readings: { distance_mm: 2000, fill_pct: 33.3, temperature_c: 25, tilt_angle_deg: 0, fire_alarm: false, tilt: false, battery_low: false },
    },
    { description: 'fallen over', port: 3, hex: '800001011100C80016000A001000020081', readings: { distance_mm: 200, temperature_c: 22, tilt_angle_deg: 10, fire_alarm: false, tilt: true, battery_low: false } },
    { description: 'bad start byte', port: 3, hex: '810001011107D000190000000000010081', error: 'must start with 0x80' },
  ],
});
