import { defineModel } from '../src/core/model.js';
import { batteryGroup, decentlabExpect, decentlabV2, DECENTLAB_PORT } from './lib/decentlab.js';

export default defineModel({
  id: 'decentlab.dl-mbx',
  vendor: 'Decentlab',
  name: 'DL-MBX ultrasonic distance / level sensor',
  kind: 'bin_fill',
  description: 'Ultrasonic distance to the waste surface; fill_pct from the device attribute binDepthMm.',
  format: 'binary',
  ports: [DECENTLAB_PORT],
  reportIntervalS: 600,
  lowBatteryV: 2.5,
  events: ['device_info'],
  metrics: ['distance_mm', 'fill_pct', 'battery_v'],
  attributes: { binDepthMm: 'distance from the sensor to the bin floor, mm' },
  vendorCodec: {
    codec: 'vendor/decentlab/dl-mbx.js',
    commit: '548adf9',
    vectors: ['decentlab.dl-mbx.jsonl'],
    expect: decentlabExpect({
      distance: { metric: 'distance_mm' },
      battery_voltage: { metric: 'battery_v' },
    }),
  },
  deviations: [
    {
      id: 'no-valid-sample-no-distance',
      reason: 'number_of_valid_samples is a diagnostic; with 0 valid samples the distance word is not a measurement (the vendor codec still prints it), so no distance_mm (and no fill_pct) is stored for it.',
      commit: '548adf9',
      applies: (v) => v.vendor.data?.number_of_valid_samples?.value === 0,
      expect: (exp) => (exp === 'error' ? exp : exp.filter((r) => r.metric !== 'distance_mm')),
    },
  ],
  decode: decentlabV2([
    { words: 2, readings: ([distance, samples]) => (samples! > 0 ? [{ metric: 'distance_mm', value: distance! }] : []) },
    batteryGroup,
  ]),
  examples: [
    { description: 'Distance and battery (corpus) in a 3 m bin', port: 1, hex: '02012F000304D200010BB1', attributes: { binDepthMm: 3000 }, readings: { distance_mm: 1234, fill_pct: 58.9, battery_v: 2.993 } },
    { description: 'Battery only (corpus)', port: 1, hex: '02012F00020BB1', readings: { battery_v: 2.993 } },
    { description: 'no valid sample', port: 1, hex: '02012F000104D20000', readings: {} },
    { description: 'protocol version 1', port: 1, hex: '01012F00020BB1', error: 'protocol version 1' },
    { description: 'truncated group', port: 1, hex: '02012F000304D2', error: 'frame too short' },
    { description: 'no sensor group (vendor vector): device info only', port: 1, hex: '024E870000', readings: {}, events: [{ type: 'device_info', data: { protocol_version: 2, device_id: 20103 } }] },
  ],
});
