import { defineModel } from '../src/core/model.js';
import { battery, humidity, milesightTlv, temperature, MILESIGHT_PORT } from './lib/milesight-tlv.js';

export default defineModel({
  id: 'milesight.em300-di',
  vendor: 'Milesight',
  name: 'EM300-DI pulse counter (pulse-output water meters)',
  kind: 'water_meter',
  description: 'Counts the pulses of a water meter\'s pulse output. pulse_count becomes water_volume_m3 with the device attribute litresPerPulse.',
  format: 'binary',
  ports: [MILESIGHT_PORT],
  reportIntervalS: 1200,
  metrics: ['pulse_count', 'water_volume_m3', 'battery_pct', 'temperature_c', 'humidity_pct'],
  attributes: { litresPerPulse: 'litres per pulse of the meter (e.g. 10)', volumeOffsetM3: 'meter index when the counter was at 0' },
  deviations: ['Channel 05 00 (GPIO digital state) is not a reading of a water meter and is skipped.'],
  decode: milesightTlv({
    0x0175: battery,
    0x0367: temperature,
    0x0468: humidity,
    0x05c8: { size: 4, read: (b, at) => [{ metric: 'pulse_count', value: b.u32le(at) }] },
    0x0500: { size: 1, read: () => [] },
  }),
  examples: [
    { description: 'Pulse counter: battery 92 %, 256 pulses (corpus)', port: 85, hex: '01755C05C800010000', readings: { battery_pct: 92, pulse_count: 256 } },
    { description: 'with 10 l/pulse', port: 85, hex: '05C8E8030000', attributes: { litresPerPulse: 10 }, readings: { pulse_count: 1000, water_volume_m3: 10 } },
    { description: 'temperature and humidity channels', port: 85, hex: '0367EB0004688A', readings: { temperature_c: 23.5, humidity_pct: 69 } },
    { description: 'truncated pulse channel', port: 85, hex: '05C80001', error: 'frame too short' },
    { description: 'unknown channel', port: 85, hex: '0A0B01', error: 'unknown channel 0x0a0b' },
  ],
});
