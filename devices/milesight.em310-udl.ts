import { defineModel } from '../src/core/model.js';
import { battery, channelAt, fieldsPastInfo, hasInfoFields, milesightTlv, MILESIGHT_PORT, type VendorLayout } from './lib/milesight-tlv.js';

/** The vendor codecs' layout of the data channels (for the read-past-info deviation only). */
const VENDOR_LAYOUT: Record<number, VendorLayout> = {
  0x0175: { size: 1, read: (b, at) => ({ battery: b[at] }) },
  0x0382: { size: 2, read: (b, at) => ({ distance: b.readUInt16LE(at) }) },
  0x0400: { size: 1, read: (b, at) => ({ tilt: b[at] === 0 ? 'normal' : 'tilt' }) },
};
const OLD_CODEC = '62c8acd';

const tiltValue = (s: unknown): boolean | undefined => (s === 'tilt' ? true : s === 'normal' ? false : undefined);

export default defineModel({
  id: 'milesight.em310-udl',
  vendor: 'Milesight',
  name: 'EM310-UDL ultrasonic distance / level sensor (waste bins)',
  kind: 'bin_fill',
  description: 'Ultrasonic distance to the waste surface; fill_pct from the device attribute binDepthMm.',
  format: 'binary',
  ports: [MILESIGHT_PORT],
  reportIntervalS: 1200,
  metrics: ['distance_mm', 'fill_pct', 'tilt', 'battery_pct'],
  events: ['device_info'],
  attributes: { binDepthMm: 'distance from the sensor to the bin floor, mm' },
  vendorCodec: {
    codec: 'vendor/milesight-iot/em310-udl.js',
    commit: '62c8acd',
    vectors: ['milesight.em310-udl.jsonl', 'milesight.em310-udl.codec-em310-udl-2025.jsonl'],
    expect: (d) => {
      const tilt = tiltValue(d.tilt ?? d.position);
      return [
        ...(d.battery !== undefined ? [{ metric: 'battery_pct', value: d.battery }] : []),
        ...(d.distance !== undefined ? [{ metric: 'distance_mm', value: d.distance }] : []),
        ...(tilt !== undefined ? [{ metric: 'tilt', value: tilt }] : []),
      ];
    },
  },
  deviations: [
    'An unknown channel makes the frame a dead letter (its length is unknown, so nothing after it can be delimited, and the raw frame is kept for inspection); the vendor codecs stop there and return what came before. No vendor vector has one.',
    'Key drift in the vendor codec: em310-udl.js (62c8acd) emits tilt: "tilt" | "normal", the 2025 rewrite (5c12ba1) emits position: "tilt" for the same bytes. Both come from channel 04 00; this decoder maps that channel to the boolean tilt, so either codec generation\'s devices give the same reading.',
    {
      id: 'tilt-undefined-values',
      reason: 'Channel 04 00 defines 0 = normal and 1 = tilt. The 2025 codec (5c12ba1) reports any other byte as position "unknown"; the 62c8acd codec calls it "tilt" only because it tests `!== 0`. The gateway stores no tilt reading for such a byte rather than a tilt alarm no firmware documents.',
      commit: OLD_CODEC,
      applies: (v) => {
        const at = channelAt(v.hex, 0x0400, VENDOR_LAYOUT);
        return v.vendor.data?.tilt === 'tilt' && at !== undefined && Buffer.from(v.hex, 'hex')[at]! > 1;
      },
      expect: (exp) => (exp === 'error' ? exp : exp.filter((r) => r.metric !== 'tilt')),
    },
    {
      id: 'reads-past-device-info',
      reason: 'The 62c8acd codec stops at the first 0xFF (device information) channel and drops the readings after it. Those channels have fixed sizes (the vendor\'s 2025 codec reads past them), so the gateway records them as a device_info event and keeps the distance, battery and tilt that follow.',
      commit: OLD_CODEC,
      applies: (v) => !hasInfoFields(v.vendor.data) && fieldsPastInfo(v.hex, VENDOR_LAYOUT) !== undefined,
      expect: (exp, v) => {
        const d = fieldsPastInfo(v.hex, VENDOR_LAYOUT)!;
        const tilt = tiltValue(d.tilt);
        return [
          ...(d.battery !== undefined ? [{ metric: 'battery_pct', value: d.battery as number }] : []),
          ...(d.distance !== undefined ? [{ metric: 'distance_mm', value: d.distance as number }] : []),
          ...(tilt !== undefined ? [{ metric: 'tilt', value: tilt }] : []),
        ];
      },
    },
  ],
  decode: milesightTlv(
    {
      0x0175: battery,
      0x0382: { size: 2, read: (b, at) => [{ metric: 'distance_mm', value: b.u16le(at) }] },
      // 0 = normal, 1 = tilt; other values are undefined (the 2025 codec: "unknown")
      0x0400: { size: 1, read: (b, at) => (b.u8(at) <= 1 ? [{ metric: 'tilt', value: b.u8(at) === 1 }] : []) },
    },
    { 0xff02: { size: 2, read: (b, at) => ({ collection_interval: b.u16le(at) }) } },
  ),
  examples: [
    {
      description: 'Distance, battery and tilt (corpus), in a 3 m bin', port: 85, hex: '01755C03824408040001', attributes: { binDepthMm: 3000 },
      readings: { battery_pct: 92, distance_mm: 2116, fill_pct: 29.5, tilt: true },
    },
    { description: 'upright bin', port: 85, hex: '0382B400040000', attributes: { binDepthMm: 1200 }, readings: { distance_mm: 180, fill_pct: 85, tilt: false } },
    {
      description: 'TSL version and reading (issue 12 repro: the FF FF channel dead-lettered the frame)', port: 85, hex: 'FFFF010001755C03824408',
      readings: { battery_pct: 92, distance_mm: 2116 }, events: [{ type: 'device_info', data: { tsl_version: 'v1.0' } }],
    },
    {
      description: 'join-time device information only (vendor 2025 codec: sn, reset_event)', port: 85, hex: 'FF166784D17893420013FFFE01',
      readings: {}, events: [{ type: 'device_info', data: { sn: '6784d17893420013', reset_event: 'reset' } }],
    },
    { description: 'reply to a report-interval downlink', port: 85, hex: 'FF035802', readings: {}, events: [{ type: 'device_info', data: { report_interval: 600 } }] },
    { description: 'battery byte 255 passed through as the vendor does (flagged out_of_range)', port: 85, hex: '0175FF', readings: { battery_pct: 255 } },
    { description: 'wrong port', port: 1, hex: '01755C', error: 'unknown FPort 1' },
    { description: 'truncated distance', port: 85, hex: '0382B4', error: 'frame too short' },
  ],
});
