import { defineModel } from '../src/core/model.js';
import type { DecodedReading, VendorVector } from '../src/core/model.js';
import { humidity, milesightTlv, MILESIGHT_PORT, temperature } from './lib/milesight-tlv.js';
import { EM300_CONFIG_CHANNELS, em300UnknownChannel, em300History, em300State, recordConfiguration } from './lib/milesight-em300.js';

const COMMIT = '0a321c6';
const kind = (...k: string[]) => (v: VendorVector) => k.includes(v.kind);
const leak = (s: unknown) => (s === 'leak' ? [true] : s === 'normal' ? [false] : []);

export default defineModel({
  id: 'milesight.em300-zld',
  vendor: 'Milesight',
  name: 'EM300-ZLD zone leak detection sensor (water leak cable) with temperature and humidity',
  kind: 'water_meter',
  description: 'Water leak on the sensing cable (channel 05 00: 0 = normal, 1 = leak), with battery, temperature and humidity; 20 CE history records are stored at their own times. Kind water_meter: leaks are the water group\'s alarms.',
  format: 'binary',
  ports: [MILESIGHT_PORT],
  // EM300 series default reporting interval: 10 minutes; a leak is sent at once
  reportIntervalS: 600,
  events: ['device_info'],
  metrics: ['leak', 'battery_pct', 'temperature_c', 'humidity_pct'],
  vendorCodec: {
    codec: 'vendor/milesight-iot/em300-zld.js',
    commit: COMMIT,
    // the second file: Milesight's current decoder (SensorDecoders em-series/em300-zld/em300-zld-decoder.js, df2f7eb)
    vectors: ['milesight.em300-zld.jsonl', 'milesight.em300-zld.codec-sensordecoders-2025.jsonl'],
    expect: (d) => [
      ...(d.battery !== undefined ? [{ metric: 'battery_pct', value: d.battery }] : []),
      ...(d.temperature !== undefined ? [{ metric: 'temperature_c', value: d.temperature }] : []),
      ...(d.humidity !== undefined ? [{ metric: 'humidity_pct', value: d.humidity }] : []),
      // TTN codec: water_leak (its codec-YAML examples, of an older file, say `water`); current decoder: leakage_status
      ...leak(d.water_leak).map((value) => ({ metric: 'leak', value })),
      ...leak(d.water).map((value) => ({ metric: 'leak', value })),
      ...leak(d.leakage_status).map((value) => ({ metric: 'leak', value })),
      ...((d.history ?? []) as any[]).flatMap((p): DecodedReading[] => {
        const ts = p.timestamp * 1000;
        return [
          { metric: 'temperature_c', value: p.temperature, ts },
          { metric: 'humidity_pct', value: p.humidity, ts },
          ...leak(p.leakage_status).map((value) => ({ metric: 'leak', value, ts })),
        ];
      }),
    ],
  },
  deviations: [
    {
      id: 'leak-undefined-values',
      reason: 'Leak bytes other than 0 and 1: the TTN codec (0a321c6) reads every non-zero byte as "leak", Milesight\'s current decoder (SensorDecoders df2f7eb) calls them "unknown". The gateway follows the current definition and stores no leak reading for them: a false leak alarm sends people out, a missing reading is caught by the next report.',
      commit: COMMIT,
      applies: (v) => v.kind === 'data-undefined-state' && v.vendor.data?.water_leak !== undefined,
      expect: (exp) => (exp === 'error' ? exp : exp.filter((r) => r.metric !== 'leak')),
    },
    {
      id: 'truncated-frame',
      reason: 'A frame cut inside a channel: both codecs read the missing bytes as undefined and return what they get (a 1-byte temperature becomes 0.1 °C, a missing leak byte reads as "leak" in the TTN codec). The gateway dead-letters the frame with the offset, so no made-up value — least of all a false leak — is stored.',
      commit: COMMIT,
      applies: kind('truncated'),
      expect: () => 'error',
    },
    em300UnknownChannel(COMMIT),
    'Device-information channels (FF 01, FF 09, FF 0A, FF 0F, FF 16, FF FE, FF 0B, FF FF) and replies to downlink commands (FF/FE 02 … EA) carry no readings; the TTN codec stops at them, the current decoder returns configuration fields. The gateway skips them by their sizes and stores no readings; a frame of nothing else is recorded as a device_info event with its bytes.',
    'The TTN codec (0a321c6) predates the 20 CE history channel (its vectors have none); the history vectors come from Milesight\'s current decoder.',
  ],
  decode: recordConfiguration(milesightTlv({
    ...EM300_CONFIG_CHANNELS,
    // the vendor codecs store the battery byte as is (no clamp): out-of-range values are flagged by normalise
    0x0175: { size: 1, read: (b, at) => [{ metric: 'battery_pct', value: b.u8(at) }] },
    0x0367: temperature,
    0x0468: humidity,
    0x0500: { size: 1, read: (b, at) => em300State('leak', at, b) },
    0x20ce: em300History('leak'),
  })),
  examples: [
    { description: 'Zone Leakage Detection Sensor (vendor example 1)', port: 85, hex: '050000', readings: { leak: false } },
    { description: 'Zone Leakage Detection Sensor (vendor example 2)', port: 85, hex: '050001', readings: { leak: true } },
    {
      description: 'periodic report: battery, temperature, humidity, dry', port: 85, hex: '01755A0367EB0004687A050000',
      readings: { battery_pct: 90, temperature_c: 23.5, humidity_pct: 61, leak: false },
    },
    {
      description: 'history record (20 CE): a leak at its own time', port: 85, hex: '20CE10C755693200C801', receivedAt: '2026-01-02T00:00:00Z',
      series: [
        { metric: 'temperature_c', ts: '2026-01-01T01:00:00Z', value: 5 },
        { metric: 'humidity_pct', ts: '2026-01-01T01:00:00Z', value: 100 },
        { metric: 'leak', ts: '2026-01-01T01:00:00Z', value: true },
      ],
    },
    { description: 'TSL version and a report-interval reply: no readings, a device_info event', port: 85, hex: 'FFFF0100FF035802', events: [{ type: 'device_info', data: { frame: 'configuration', hex: 'FFFF0100FF035802' } }] },
    { description: 'wrong port', port: 2, hex: '050001', error: 'unknown FPort 2' },
    { description: 'truncated leak channel', port: 85, hex: '0500', error: 'frame too short' },
  ],
});
