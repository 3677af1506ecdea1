import { defineModel } from '../src/core/model.js';
import { battery, fieldsPastInfo, hasInfoFields, milesightTlv, MILESIGHT_PORT, type VendorLayout } from './lib/milesight-tlv.js';

/** ws301.js (17be71c) data channels, for the read-past-info deviation only. */
const VENDOR_LAYOUT: Record<number, VendorLayout> = {
  0x0175: { size: 1, read: (b, at) => ({ battery: b[at] }) },
  0x0300: { size: 1, read: (b, at) => ({ door: b[at] === 0 ? 'close' : 'open' }) },
  0x0400: { size: 1, read: (b, at) => ({ install: b[at] === 0 ? 'yes' : 'no' }) },
};

const fromVendor = (d: Record<string, unknown>) => [
  ...(d.battery !== undefined ? [{ metric: 'battery_pct', value: d.battery as number }] : []),
  ...(d.door !== undefined ? [{ metric: 'door_open', value: d.door === 'open' }] : []),
  ...(d.install !== undefined ? [{ metric: 'tamper', value: d.install === 'no' }] : []),
];

export default defineModel({
  id: 'milesight.ws301',
  vendor: 'Milesight',
  name: 'WS301 magnetic contact switch',
  kind: 'door_access',
  description: 'Door / window contact. "install: no" (the magnet is not mounted, or the device was removed) is reported as tamper.',
  format: 'binary',
  ports: [MILESIGHT_PORT],
  reportIntervalS: 1080,
  metrics: ['door_open', 'tamper', 'battery_pct'],
  events: ['device_info'],
  vendorCodec: {
    codec: 'vendor/milesight-iot/ws301.js',
    commit: '17be71c',
    vectors: ['milesight.ws301.jsonl'],
    expect: (d) => fromVendor(d),
  },
  deviations: [
    'An unknown channel makes the frame a dead letter (its length is unknown, so nothing after it can be delimited, and the raw frame is kept for inspection); the vendor codecs stop there and return what came before. No vendor vector has one.',
    {
      id: 'reads-past-device-info',
      reason: 'ws301.js (17be71c) stops at the first 0xFF (device information) channel and drops the door state after it. Those channels have fixed sizes (Milesight\'s 2025 codecs read past them), so the gateway records them as a device_info event and keeps the door, install and battery readings that follow.',
      commit: '17be71c',
      applies: (v) => !hasInfoFields(v.vendor.data) && fieldsPastInfo(v.hex, VENDOR_LAYOUT) !== undefined,
      expect: (_exp, v) => fromVendor(fieldsPastInfo(v.hex, VENDOR_LAYOUT)!),
    },
  ],
  decode: milesightTlv({
    0x0175: battery,
    0x0300: { size: 1, read: (b, at) => [{ metric: 'door_open', value: b.u8(at) !== 0 }] },
    // install state: 0 = installed ("yes"), anything else = not installed ("no")
    0x0400: { size: 1, read: (b, at) => [{ metric: 'tamper', value: b.u8(at) !== 0 }] },
  }),
  examples: [
    { description: 'Door open (corpus)', port: 85, hex: '030001', readings: { door_open: true } },
    { description: 'Not installed (corpus)', port: 85, hex: '040001', readings: { tamper: true } },
    { description: 'closed, installed, battery 100 %', port: 85, hex: '017564030000040000', readings: { battery_pct: 100, door_open: false, tamper: false } },
    {
      description: 'TSL version before the door state (FF FF channel, issue 12)', port: 85, hex: 'FFFF0100030001',
      readings: { door_open: true }, events: [{ type: 'device_info', data: { tsl_version: 'v1.0' } }],
    },
    { description: 'truncated', port: 85, hex: '0300', error: 'frame too short' },
  ],
});
