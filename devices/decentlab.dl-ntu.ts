import { defineModel } from '../src/core/model.js';
import { round } from './lib/bytes.js';
import { batteryGroup, decentlabExpect, decentlabV2, signed, DECENTLAB_PORT } from './lib/decentlab.js';

export default defineModel({
  id: 'decentlab.dl-ntu',
  vendor: 'Decentlab',
  name: 'DL-NTU optical turbidity and temperature sensor',
  kind: 'water_quality',
  description: 'Turbidity (NTU) and water temperature.',
  format: 'binary',
  ports: [DECENTLAB_PORT],
  reportIntervalS: 600,
  lowBatteryV: 2.5,
  events: ['device_info'],
  metrics: ['turbidity_ntu', 'temperature_c', 'sensor_fault', 'battery_v'],
  vendorCodec: {
    codec: 'vendor/decentlab/dl-ntu.js',
    commit: '0a254aa',
    vectors: ['decentlab.dl-ntu.jsonl'],
    expect: decentlabExpect({
      status: { metric: 'sensor_fault', as: (v) => v !== 0 },
      temperature: { metric: 'temperature_c' },
      turbidity_in_ntu: { metric: 'turbidity_ntu' },
      battery_voltage: { metric: 'battery_v' },
    }),
  },
  deviations: ['Turbidity in FNU and in mg/L are the same measurement in other units: only NTU (the GB 5749 unit) is stored.'],
  decode: decentlabV2([
    {
      words: 5,
      readings: ([status, t, ntu]) => [
        { metric: 'sensor_fault', value: status !== 0 },
        { metric: 'temperature_c', value: signed(t!, 100) },
        { metric: 'turbidity_ntu', value: round(ntu! / 10, 1) },
      ],
    },
    batteryGroup,
  ]),
  examples: [
    { description: 'Turbidity 31.8 NTU (corpus)', port: 1, hex: '022332000300008885013E013E02330B10', readings: { sensor_fault: false, temperature_c: 21.81, turbidity_ntu: 31.8, battery_v: 2.832 } },
    { description: 'Battery only (corpus)', port: 1, hex: '02233200020B10', readings: { battery_v: 2.832 } },
    { description: 'trailing bytes', port: 1, hex: '02233200020B1000', error: 'after the last sensor group' },
    { description: 'no sensor group (vendor vector): device info only', port: 1, hex: '024E870000', readings: {}, events: [{ type: 'device_info', data: { protocol_version: 2, device_id: 20103 } }] },
  ],
});
