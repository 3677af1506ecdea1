import { defineModel, type DecodedReading } from '../src/core/model.js';
import { battery, fieldsPastInfo, hasInfoFields, humidity, milesightTlv, temperature, MILESIGHT_PORT, type VendorLayout } from './lib/milesight-tlv.js';

/** em300-di.js (27d8ce2) data channels, for the read-past-info deviation only. */
const VENDOR_LAYOUT: Record<number, VendorLayout> = {
  0x0175: { size: 1, read: (b, at) => ({ battery: b[at] }) },
  0x0367: { size: 2, read: (b, at) => ({ temperature: b.readInt16LE(at) / 10 }) },
  0x0468: { size: 1, read: (b, at) => ({ humidity: b[at]! / 2 }) },
  0x0500: { size: 1, read: (b, at) => ({ gpio: b[at] }) },
  0x05c8: { size: 4, read: (b, at) => ({ pulse: b.readUInt32LE(at) }) },
};

interface VendorPoint { timestamp: number; temperature?: number; humidity?: number; pulse?: number; gpio?: number }

function fromVendor(d: Record<string, unknown>): DecodedReading[] {
  const out: DecodedReading[] = [];
  const put = (p: Record<string, unknown>, ts?: number) => {
    const at = ts === undefined ? {} : { ts };
    if (p.battery !== undefined) out.push({ metric: 'battery_pct', value: p.battery as number, ...at });
    if (p.temperature !== undefined) out.push({ metric: 'temperature_c', value: p.temperature as number, ...at });
    if (p.humidity !== undefined) out.push({ metric: 'humidity_pct', value: p.humidity as number, ...at });
    if (p.pulse !== undefined) out.push({ metric: 'pulse_count', value: p.pulse as number, ...at });
  };
  put(d);
  for (const p of (d.history as VendorPoint[] | undefined) ?? []) put(p as unknown as Record<string, unknown>, p.timestamp * 1000);
  return out;
}

const hasGpio = (d: Record<string, unknown> | undefined) =>
  d !== undefined && (d.gpio !== undefined || ((d.history as VendorPoint[] | undefined) ?? []).some((p) => p.gpio !== undefined));

export default defineModel({
  id: 'milesight.em300-di',
  vendor: 'Milesight',
  name: 'EM300-DI pulse counter (pulse-output water meters)',
  kind: 'water_meter',
  description: 'Counts the pulses of a water meter\'s pulse output. pulse_count becomes water_volume_m3 with the device attribute litresPerPulse. Stored history records (channel 20 CE, sent after a gap in coverage) keep their own timestamps.',
  format: 'binary',
  ports: [MILESIGHT_PORT],
  reportIntervalS: 1200,
  metrics: ['pulse_count', 'water_volume_m3', 'battery_pct', 'temperature_c', 'humidity_pct'],
  events: ['device_info'],
  attributes: { litresPerPulse: 'litres per pulse of the meter (e.g. 10)', volumeOffsetM3: 'meter index when the counter was at 0' },
  vendorCodec: {
    codec: 'vendor/milesight-iot/em300-di.js',
    commit: '27d8ce2',
    vectors: ['milesight.em300-di.jsonl'],
    expect: (d) => fromVendor(d),
  },
  deviations: [
    'An unknown channel makes the frame a dead letter (its length is unknown, so nothing after it can be delimited, and the raw frame is kept for inspection); the vendor codecs stop there and return what came before. No vendor vector has one.',
    {
      id: 'gpio-not-stored',
      reason: 'Channel 05 00 and the history records of GPIO mode carry the digital input state of the interface (the device wired as a contact, not as a pulse counter). It is not a reading of a water meter and has no meaning this model can name, so it is not stored; the pulse counter, temperature and humidity are.',
      commit: '27d8ce2',
      applies: (v) => hasGpio(v.vendor.data) || hasGpio(fieldsPastInfo(v.hex, VENDOR_LAYOUT)),
    },
    {
      id: 'reads-past-device-info',
      reason: 'em300-di.js (27d8ce2) stops at the first 0xFF (device information) channel and drops the readings after it. Those channels have fixed sizes (Milesight\'s 2025 codecs read past them), so the gateway records them as a device_info event and keeps the pulse count, battery, temperature and humidity that follow.',
      commit: '27d8ce2',
      applies: (v) => !hasInfoFields(v.vendor.data) && fieldsPastInfo(v.hex, VENDOR_LAYOUT) !== undefined,
      expect: (_exp, v) => fromVendor(fieldsPastInfo(v.hex, VENDOR_LAYOUT)!),
    },
  ],
  decode: milesightTlv({
    0x0175: battery,
    0x0367: temperature,
    0x0468: humidity,
    0x05c8: { size: 4, read: (b, at) => [{ metric: 'pulse_count', value: b.u32le(at) }] },
    0x0500: { size: 1, read: () => [] },
    // history record: time (s), temperature, humidity, mode (1 = GPIO, 2 = pulse), GPIO state, pulse count
    0x20ce: {
      size: 13,
      read: (b, at) => {
        const ts = b.u32le(at) * 1000;
        const mode = b.u8(at + 7);
        return [
          { metric: 'temperature_c', value: b.i16le(at + 4) / 10, ts },
          { metric: 'humidity_pct', value: b.u8(at + 6) / 2, ts },
          ...(mode === 2 ? [{ metric: 'pulse_count', value: b.u32le(at + 9), ts }] : []),
        ];
      },
    },
  }),
  examples: [
    { description: 'Pulse counter: battery 92 %, 256 pulses (corpus)', port: 85, hex: '01755C05C800010000', readings: { battery_pct: 92, pulse_count: 256 } },
    { description: 'with 10 l/pulse', port: 85, hex: '05C8E8030000', attributes: { litresPerPulse: 10 }, readings: { pulse_count: 1000, water_volume_m3: 10 } },
    { description: 'temperature and humidity channels', port: 85, hex: '0367EB0004688A', readings: { temperature_c: 23.5, humidity_pct: 69 } },
    {
      description: 'TSL version and battery (FF FF channel, issue 12 repro)', port: 85, hex: 'FFFF010001755C',
      readings: { battery_pct: 92 }, events: [{ type: 'device_info', data: { tsl_version: 'v1.0' } }],
    },
    {
      description: 'history records (channel 20 CE, issue 12): pulse mode, vendor 815 and 827450 pulses at their own times', port: 85,
      hex: '20CE5EEB226B87013C02002F03000020CE26C5406698002102003AA00C00',
      series: [
        { metric: 'temperature_c', ts: '2026-12-16T19:49:50Z', value: 39.1 }, { metric: 'humidity_pct', ts: '2026-12-16T19:49:50Z', value: 30 },
        { metric: 'pulse_count', ts: '2026-12-16T19:49:50Z', value: 815 },
        { metric: 'temperature_c', ts: '2024-05-12T13:33:26Z', value: 15.2 }, { metric: 'humidity_pct', ts: '2024-05-12T13:33:26Z', value: 16.5 },
        { metric: 'pulse_count', ts: '2024-05-12T13:33:26Z', value: 827450 },
      ],
    },
    { description: 'truncated pulse channel', port: 85, hex: '05C80001', error: 'frame too short' },
    { description: 'unknown channel', port: 85, hex: '0A0B01', error: 'unknown channel 0x0a0b' },
  ],
});
