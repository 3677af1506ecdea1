import { defineModel } from '../src/core/model.js';
import type { DecodedReading, VendorVector } from '../src/core/model.js';
import { humidity, milesightTlv, MILESIGHT_PORT, temperature } from './lib/milesight-tlv.js';
import { EM300_CONFIG_CHANNELS, em300UnknownChannel, em300History, em300State, recordConfiguration } from './lib/milesight-em300.js';

const COMMIT = '62c8acd';
const kind = (...k: string[]) => (v: VendorVector) => k.includes(v.kind);
const door = (s: unknown) => (s === 'open' ? [true] : s === 'close' ? [false] : []);

export default defineModel({
  id: 'milesight.em300-mcs',
  vendor: 'Milesight',
  name: 'EM300-MCS magnetic contact switch (door / window) with temperature and humidity',
  kind: 'door_access',
  description: 'Door or window contact (magnet channel 06 00: 0 = closed, 1 = open), with battery, temperature and humidity; 20 CE history records (retransmitted after lost uplinks) are stored at their own times.',
  format: 'binary',
  ports: [MILESIGHT_PORT],
  // EM300 series default reporting interval: 10 minutes; a contact change is sent at once
  reportIntervalS: 600,
  events: ['device_info'],
  metrics: ['door_open', 'battery_pct', 'temperature_c', 'humidity_pct'],
  vendorCodec: {
    codec: 'vendor/milesight-iot/em300-mcs.js',
    commit: COMMIT,
    // the second file: Milesight's current decoder (SensorDecoders em-series/em300-mcs/em300-mcs-decoder.js, cef13ba)
    vectors: ['milesight.em300-mcs.jsonl', 'milesight.em300-mcs.codec-sensordecoders-2025.jsonl'],
    expect: (d) => [
      ...(d.battery !== undefined ? [{ metric: 'battery_pct', value: d.battery }] : []),
      ...(d.temperature !== undefined ? [{ metric: 'temperature_c', value: d.temperature }] : []),
      ...(d.humidity !== undefined ? [{ metric: 'humidity_pct', value: d.humidity }] : []),
      // TTN codec: the raw byte; current decoder: "open" | "close" | "unknown"
      ...(d.magnet !== undefined ? [{ metric: 'door_open', value: d.magnet !== 0 }] : []),
      ...door(d.magnet_status).map((value) => ({ metric: 'door_open', value })),
      ...((d.history ?? []) as any[]).flatMap((p): DecodedReading[] => {
        const ts = p.timestamp * 1000;
        return [
          { metric: 'temperature_c', value: p.temperature, ts },
          { metric: 'humidity_pct', value: p.humidity, ts },
          ...door(p.magnet_status).map((value) => ({ metric: 'door_open', value, ts })),
        ];
      }),
    ],
  },
  deviations: [
    {
      id: 'magnet-undefined-values',
      reason: 'Magnet bytes other than 0 and 1: the TTN codec (62c8acd) passes the raw byte (read as open by its "0 = close" reading), Milesight\'s current decoder (SensorDecoders cef13ba) calls them "unknown". The gateway follows the current definition and stores no door_open for them rather than a guessed state.',
      commit: COMMIT,
      applies: (v) => v.kind === 'data-undefined-state' && v.vendor.data?.magnet !== undefined,
      expect: (exp) => (exp === 'error' ? exp : exp.filter((r) => r.metric !== 'door_open')),
    },
    {
      id: 'history-timestamp-sign',
      reason: 'Milesight\'s current decoder builds the 4-byte history timestamp with signed 32-bit operations (& 0xffffffff without >>> 0): times from 2038 on come out negative. The timestamp is unsigned seconds; the gateway stores the unsigned time.',
      commit: 'SensorDecoders cef13ba',
      applies: kind('history-2038'),
      expect: (exp) => (exp === 'error' ? exp : exp.map((r) => (r.ts !== undefined && r.ts < 0 ? { ...r, ts: r.ts + 2 ** 32 * 1000 } : r))),
    },
    {
      id: 'truncated-frame',
      reason: 'A frame cut inside a channel: both codecs read the missing bytes as undefined and return what they get (a 1-byte temperature becomes 0.1 °C, a missing battery byte is dropped silently, a cut history record gets a NaN time). The gateway dead-letters the frame with the offset, so no made-up value is stored.',
      commit: COMMIT,
      applies: kind('truncated'),
      expect: () => 'error',
    },
    em300UnknownChannel(COMMIT),
    'Device-information channels (FF 01, FF 09, FF 0A, FF 0F, FF 16, FF FE, FF 0B, FF FF) and replies to downlink commands (FF/FE 02 … EA) carry no readings; the TTN codec stops at them, the current decoder returns configuration fields. The gateway skips them by their sizes and stores no readings; a frame of nothing else is recorded as a device_info event with its bytes.',
    'The TTN codec (62c8acd) predates the 20 CE history channel (its vectors have none); the history vectors come from Milesight\'s current decoder.',
  ],
  decode: recordConfiguration(milesightTlv({
    ...EM300_CONFIG_CHANNELS,
    // the vendor codecs store the battery byte as is (no clamp): out-of-range values are flagged by normalise
    0x0175: { size: 1, read: (b, at) => [{ metric: 'battery_pct', value: b.u8(at) }] },
    0x0367: temperature,
    0x0468: humidity,
    0x0600: { size: 1, read: (b, at) => em300State('door_open', at, b) },
    0x20ce: em300History('door_open'),
  })),
  examples: [
    {
      description: 'battery, temperature, humidity and an open door', port: 85, hex: '01756403671001046871060001',
      readings: { battery_pct: 100, temperature_c: 27.2, humidity_pct: 56.5, door_open: true },
    },
    { description: 'door closed, frost', port: 85, hex: '0600000367CEFF', readings: { door_open: false, temperature_c: -5 } },
    { description: 'magnet byte outside 0/1: unknown, no door state', port: 85, hex: '0175640600FF', readings: { battery_pct: 100 } },
    {
      description: 'history record (20 CE) at its own time', port: 85, hex: '20CE10C75569E1007101', receivedAt: '2026-01-02T00:00:00Z',
      series: [
        { metric: 'temperature_c', ts: '2026-01-01T01:00:00Z', value: 22.5 },
        { metric: 'humidity_pct', ts: '2026-01-01T01:00:00Z', value: 56.5 },
        { metric: 'door_open', ts: '2026-01-01T01:00:00Z', value: true },
      ],
    },
    { description: 'wrong port', port: 1, hex: '060001', error: 'unknown FPort 1' },
    { description: 'truncated temperature', port: 85, hex: '036710', error: 'frame too short' },
  ],
});
