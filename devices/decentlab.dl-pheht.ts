import { defineModel } from '../src/core/model.js';
import { batteryGroup, decentlabExpect, decentlabV2, signed, DECENTLAB_PORT } from './lib/decentlab.js';

export default defineModel({
  id: 'decentlab.dl-pheht',
  vendor: 'Decentlab',
  name: 'DL-PHEHT pH, ORP (redox) and temperature sensor',
  kind: 'water_quality',
  description: 'pH, redox potential and water temperature of a secondary-supply tank or pipe.',
  format: 'binary',
  ports: [DECENTLAB_PORT],
  reportIntervalS: 600,
  lowBatteryV: 2.5,
  events: ['device_info'],
  metrics: ['ph', 'orp_mv', 'temperature_c', 'sensor_fault', 'battery_v'],
  vendorCodec: {
    codec: 'vendor/decentlab/dl-pheht.js',
    commit: '62c8acd',
    vectors: ['decentlab.dl-pheht.jsonl'],
    expect: decentlabExpect({
      status: { metric: 'sensor_fault', as: (v) => v !== 0 },
      temperature: { metric: 'temperature_c' },
      ph: { metric: 'ph' },
      redox: { metric: 'orp_mv' },
      battery_voltage: { metric: 'battery_v' },
    }),
  },
  deviations: ['pH-mV (the electrode\'s raw potential) is a diagnostic and is not stored; a non-zero status word is stored as sensor_fault.'],
  decode: decentlabV2([
    {
      words: 5,
      readings: ([status, t, ph, redox]) => [
        { metric: 'sensor_fault', value: status !== 0 },
        { metric: 'temperature_c', value: signed(t!, 100) },
        { metric: 'ph', value: signed(ph!, 100) },
        { metric: 'orp_mv', value: signed(redox!, 10, 1) },
      ],
    },
    batteryGroup,
  ]),
  examples: [
    { description: 'pH 7.11, redox -15.7 mV (corpus)', port: 1, hex: '0252B800030000884282C77F637FF60C5C', readings: { sensor_fault: false, temperature_c: 21.14, ph: 7.11, orp_mv: -15.7, battery_v: 3.164 } },
    { description: 'Battery only (corpus)', port: 1, hex: '0252B800020C5C', readings: { battery_v: 3.164 } },
    { description: 'pH 9.30 excursion', port: 1, hex: '0252B800010000884283A27F637FF6', readings: { sensor_fault: false, temperature_c: 21.14, ph: 9.3, orp_mv: -15.7 } },
    { description: 'unknown sensor flag', port: 1, hex: '0252B800040C5C', error: 'unknown sensor flags' },
    { description: 'no sensor group (vendor vector): device info only', port: 1, hex: '024E870000', readings: {}, events: [{ type: 'device_info', data: { protocol_version: 2, device_id: 20103 } }] },
  ],
});
