import { defineModel } from '../src/core/model.js';
import type { VendorVector } from '../src/core/model.js';
import { humidity, milesightTlv, MILESIGHT_PORT, temperature } from './lib/milesight-tlv.js';

const COMMIT = '0a321c6';
const kind = (k: string) => (v: VendorVector) => v.kind === k;

export default defineModel({
  id: 'milesight.em300-zld',
  vendor: 'Milesight',
  name: 'EM300-ZLD zone leak detection sensor (water leak cable) with temperature and humidity',
  kind: 'water_meter',
  description: 'Water leak on the sensing cable (channel 05 00: 0 = normal, anything else = leak, as the vendor codec), with battery, temperature and humidity. Kind water_meter: leaks are the water group\'s alarms.',
  format: 'binary',
  ports: [MILESIGHT_PORT],
  // EM300 series default reporting interval: 10 minutes; a leak is sent at once
  reportIntervalS: 600,
  metrics: ['leak', 'battery_pct', 'temperature_c', 'humidity_pct'],
  vendorCodec: {
    codec: 'vendor/milesight-iot/em300-zld.js',
    commit: COMMIT,
    vectors: ['milesight.em300-zld.jsonl'],
    expect: (d) => [
      ...(d.battery !== undefined ? [{ metric: 'battery_pct', value: d.battery }] : []),
      ...(d.temperature !== undefined ? [{ metric: 'temperature_c', value: d.temperature }] : []),
      ...(d.humidity !== undefined ? [{ metric: 'humidity_pct', value: d.humidity }] : []),
      // codec-yaml examples of an older codec generation name the same field `water`
      ...(d.water_leak !== undefined ? [{ metric: 'leak', value: d.water_leak === 'leak' }] : []),
      ...(d.water !== undefined ? [{ metric: 'leak', value: d.water === 'leak' }] : []),
    ],
  },
  deviations: [
    {
      id: 'truncated-frame',
      reason: 'A frame cut inside a channel: the vendor codec reads the missing bytes as undefined and returns what it gets (a 1-byte temperature becomes 0.1 °C, a missing leak byte reads as "leak"). The gateway dead-letters the frame with the offset, so no made-up value — least of all a false leak — is stored.',
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
    0x0500: { size: 1, read: (b, at) => [{ metric: 'leak', value: b.u8(at) !== 0 }] },
  }),
  examples: [
    { description: 'Zone Leakage Detection Sensor (vendor example 1)', port: 85, hex: '050000', readings: { leak: false } },
    { description: 'Zone Leakage Detection Sensor (vendor example 2)', port: 85, hex: '050001', readings: { leak: true } },
    {
      description: 'periodic report: battery, temperature, humidity, dry', port: 85, hex: '01755A0367EB0004687A050000',
      readings: { battery_pct: 90, temperature_c: 23.5, humidity_pct: 61, leak: false },
    },
    { description: 'wrong port', port: 2, hex: '050001', error: 'unknown FPort 2' },
    { description: 'truncated leak channel', port: 85, hex: '0500', error: 'frame too short' },
  ],
});
