import { defineModel } from '../src/core/model.js';
import type { VendorVector } from '../src/core/model.js';
import { humidity, milesightTlv, MILESIGHT_PORT, temperature } from './lib/milesight-tlv.js';

const COMMIT = '62c8acd';
const kind = (k: string) => (v: VendorVector) => v.kind === k;

export default defineModel({
  id: 'milesight.em300-mcs',
  vendor: 'Milesight',
  name: 'EM300-MCS magnetic contact switch (door / window) with temperature and humidity',
  kind: 'door_access',
  description: 'Door or window contact (magnet channel 06 00: 0 = closed, anything else open, as Milesight\'s payload definition "0: close, 1: open"), with battery, temperature and humidity.',
  format: 'binary',
  ports: [MILESIGHT_PORT],
  // EM300 series default reporting interval: 10 minutes; a contact change is sent at once
  reportIntervalS: 600,
  metrics: ['door_open', 'battery_pct', 'temperature_c', 'humidity_pct'],
  vendorCodec: {
    codec: 'vendor/milesight-iot/em300-mcs.js',
    commit: COMMIT,
    vectors: ['milesight.em300-mcs.jsonl'],
    expect: (d) => [
      ...(d.battery !== undefined ? [{ metric: 'battery_pct', value: d.battery }] : []),
      ...(d.temperature !== undefined ? [{ metric: 'temperature_c', value: d.temperature }] : []),
      ...(d.humidity !== undefined ? [{ metric: 'humidity_pct', value: d.humidity }] : []),
      ...(d.magnet !== undefined ? [{ metric: 'door_open', value: d.magnet !== 0 }] : []),
    ],
  },
  deviations: [
    {
      id: 'truncated-frame',
      reason: 'A frame cut inside a channel: the vendor codec reads the missing bytes as undefined and returns what it gets (a 1-byte temperature becomes 0.1 °C, a missing battery byte is dropped silently). The gateway dead-letters the frame with the offset, so no made-up value is stored.',
      commit: COMMIT,
      applies: kind('truncated'),
      expect: () => 'error',
    },
    {
      id: 'unknown-channel',
      reason: 'A channel this codec does not know (e.g. 20 CE history of newer firmware): its length is unknown, so nothing after it can be parsed. The vendor codec stops there and silently returns the channels before it; the gateway dead-letters the whole frame with the channel id (kept raw in the dead-letter store for replay) rather than storing part of a frame it cannot account for.',
      commit: COMMIT,
      applies: kind('unknown-channel'),
      expect: () => 'error',
    },
    'Device-information channels (FF 01, FF 09, FF 0A, FF 0F, FF 16, FF FE, FF 0B) sent after a join stop the vendor codec (it knows none of them) and yield no readings; the gateway skips them by their sizes and stores no readings either.',
  ],
  decode: milesightTlv({
    // the vendor codec stores the battery byte as is (no clamp): out-of-range values are flagged by normalise
    0x0175: { size: 1, read: (b, at) => [{ metric: 'battery_pct', value: b.u8(at) }] },
    0x0367: temperature,
    0x0468: humidity,
    0x0600: { size: 1, read: (b, at) => [{ metric: 'door_open', value: b.u8(at) !== 0 }] },
  }),
  examples: [
    {
      description: 'battery, temperature, humidity and an open door', port: 85, hex: '01756403671001046871060001',
      readings: { battery_pct: 100, temperature_c: 27.2, humidity_pct: 56.5, door_open: true },
    },
    { description: 'door closed, frost', port: 85, hex: '0600000367CEFF', readings: { door_open: false, temperature_c: -5 } },
    { description: 'wrong port', port: 1, hex: '060001', error: 'unknown FPort 1' },
    { description: 'truncated temperature', port: 85, hex: '036710', error: 'frame too short' },
  ],
});
