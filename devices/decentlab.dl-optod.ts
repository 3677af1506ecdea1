import { defineModel } from '../src/core/model.js';
import { batteryGroup, decentlabExpect, decentlabV2, signed, DECENTLAB_PORT } from './lib/decentlab.js';

export default defineModel({
  id: 'decentlab.dl-optod',
  vendor: 'Decentlab',
  name: 'DL-OPTOD optical dissolved oxygen and temperature sensor',
  kind: 'water_quality',
  description: 'Dissolved oxygen (concentration and saturation) and water temperature.',
  format: 'binary',
  ports: [DECENTLAB_PORT],
  reportIntervalS: 600,
  lowBatteryV: 2.5,
  events: ['device_info'],
  metrics: ['dissolved_oxygen_mg_l', 'oxygen_saturation_pct', 'temperature_c', 'sensor_fault', 'battery_v'],
  vendorCodec: {
    codec: 'vendor/decentlab/dl-optod.js',
    commit: '95e6979',
    vectors: ['decentlab.dl-optod.jsonl'],
    expect: decentlabExpect({
      status: { metric: 'sensor_fault', as: (v) => v !== 0 },
      temperature: { metric: 'temperature_c' },
      oxygen_saturation: { metric: 'oxygen_saturation_pct' },
      oxygen_concentration: { metric: 'dissolved_oxygen_mg_l' },
      battery_voltage: { metric: 'battery_v' },
    }),
  },
  deviations: ['The alternative concentration in ppm equals mg/L for water: not stored twice.'],
  decode: decentlabV2([
    {
      words: 5,
      readings: ([status, t, sat, conc]) => [
        { metric: 'sensor_fault', value: status !== 0 },
        { metric: 'temperature_c', value: signed(t!, 100) },
        { metric: 'oxygen_saturation_pct', value: signed(sat!, 100) },
        { metric: 'dissolved_oxygen_mg_l', value: signed(conc!, 100) },
      ],
    },
    batteryGroup,
  ]),
  examples: [
    { description: 'Oxygen 8.69 mg/L, 97.52 % (corpus)', port: 1, hex: '02186C000300008862A618836583650C60', readings: { sensor_fault: false, temperature_c: 21.46, oxygen_saturation_pct: 97.52, dissolved_oxygen_mg_l: 8.69, battery_v: 3.168 } },
    { description: 'sensor reports a fault', port: 1, hex: '02186C000100018862800080008000', readings: { sensor_fault: true, temperature_c: 21.46, oxygen_saturation_pct: 0, dissolved_oxygen_mg_l: 0 } },
    { description: 'no sensor group (vendor vector): device info only', port: 1, hex: '024E870000', readings: {}, events: [{ type: 'device_info', data: { protocol_version: 2, device_id: 20103 } }] },
  ],
});
