import { defineModel } from '../src/core/model.js';
import { batteryGroup, decentlabExpect, decentlabV2, signed, DECENTLAB_PORT } from './lib/decentlab.js';

export default defineModel({
  id: 'decentlab.dl-ctd10',
  vendor: 'Decentlab',
  name: 'DL-CTD10 water depth, temperature and electrical conductivity sensor',
  kind: 'water_quality',
  description: 'Tank level (water depth), water temperature and conductivity.',
  format: 'binary',
  ports: [DECENTLAB_PORT],
  reportIntervalS: 600,
  lowBatteryV: 2.5,
  events: ['device_info'],
  metrics: ['water_depth_mm', 'temperature_c', 'conductivity_us_cm', 'battery_v'],
  vendorCodec: {
    codec: 'vendor/decentlab/dl-ctd10.js',
    commit: '56ac631',
    vectors: ['decentlab.dl-ctd10.jsonl'],
    expect: decentlabExpect({
      water_depth: { metric: 'water_depth_mm' },
      temperature: { metric: 'temperature_c' },
      electrical_conductivity: { metric: 'conductivity_us_cm' },
      battery_voltage: { metric: 'battery_v' },
    }),
  },
  deviations: ['The freezing flag is a diagnostic and is not stored.'],
  decode: decentlabV2([
    {
      words: 4,
      readings: ([depth, t, ec]) => [
        { metric: 'water_depth_mm', value: depth! - 32768 },
        { metric: 'temperature_c', value: signed(t!, 10, 1) },
        { metric: 'conductivity_us_cm', value: ec! },
      ],
    },
    batteryGroup,
  ]),
  examples: [
    { description: 'Depth 4232 mm, 100 µS/cm (corpus)', port: 1, hex: '0207D9000390888081006400000C60', readings: { water_depth_mm: 4232, temperature_c: 12.9, conductivity_us_cm: 100, battery_v: 3.168 } },
    { description: 'sensor group only', port: 1, hex: '0207D900018000807A01F40000', readings: { water_depth_mm: 0, temperature_c: 12.2, conductivity_us_cm: 500 } },
    { description: 'no sensor group (vendor vector): device info only', port: 1, hex: '024E870000', readings: {}, events: [{ type: 'device_info', data: { protocol_version: 2, device_id: 20103 } }] },
  ],
});
