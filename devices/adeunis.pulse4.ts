import { defineModel, DecodeError } from '../src/core/model.js';
import { Bytes, requirePort } from './lib/bytes.js';

/** Adeunis timestamps count seconds from 2013-01-01T00:00:00Z */
const ADEUNIS_EPOCH = Date.UTC(2013, 0, 1);

export default defineModel({
  id: 'adeunis.pulse4',
  vendor: 'Adeunis',
  name: 'PULSE 4 pulse counter (water / gas meters)',
  kind: 'water_meter',
  description: 'Counts a meter\'s pulses on channel A; pulse_count becomes water_volume_m3 with the device attribute litresPerPulse. Status flags: low battery, hardware error.',
  format: 'binary',
  ports: [1],
  reportIntervalS: 3600,
  metrics: ['pulse_count', 'water_volume_m3', 'battery_low', 'hardware_fault'],
  attributes: { litresPerPulse: 'litres per pulse of the meter', volumeOffsetM3: 'meter index when the counter was at 0' },
  deviations: [
    'The frame\'s history (t-1, t-2, … from the four deltas) is not stored: the spacing of the history samples is the device\'s configured period, which the frame does not carry, so their timestamps cannot be known from the frame alone. The current counter is stored at the frame\'s own timestamp.',
    'Only channel A (frame 0x5A) is mapped: a device has one pulse_count. Other frame codes are refused.',
  ],
  decode: ({ payload, port }) => {
    requirePort(port, [1]);
    const b = new Bytes(payload);
    if (payload.length < 2) throw new DecodeError(`frame too short: ${payload.length} bytes`);
    const code = b.u8(0);
    if (code !== 0x5a) throw new DecodeError(`unsupported frame code 0x${code.toString(16)}`);
    const status = b.u8(1);
    const hasTimestamp = (status & 0x04) !== 0;
    if (payload.length < (hasTimestamp ? 18 : 14)) throw new DecodeError(`frame too short: need ${hasTimestamp ? 18 : 14} bytes, have ${payload.length}`);
    const ts = hasTimestamp ? ADEUNIS_EPOCH + b.u32be(14) * 1000 : undefined;
    const at = ts === undefined ? {} : { ts };
    return {
      readings: [
        { metric: 'pulse_count', value: b.u32be(2), ...at },
        { metric: 'battery_low', value: (status & 0x02) !== 0, ...at },
        { metric: 'hardware_fault', value: (status & 0x08) !== 0, ...at },
      ],
      events: [],
    };
  },
  examples: [
    {
      description: '0x5a Pulse 4 data - channel A (corpus)', port: 1, hex: '5A6700000127000100020003000414ABA3E9',
      series: [
        { metric: 'pulse_count', ts: '2023-12-28T19:22:17Z', value: 295 }, { metric: 'battery_low', ts: '2023-12-28T19:22:17Z', value: true },
        { metric: 'hardware_fault', ts: '2023-12-28T19:22:17Z', value: false },
      ],
    },
    {
      description: 'no timestamp, 10 l/pulse', port: 1, hex: '5A21000003E80000000000000000', attributes: { litresPerPulse: 10 },
      readings: { pulse_count: 1000, water_volume_m3: 10, battery_low: false, hardware_fault: false },
    },
    { description: 'keep-alive frame', port: 1, hex: '3021', error: 'unsupported frame code 0x30' },
  ],
});
