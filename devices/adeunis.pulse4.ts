import { defineModel, DecodeError, type DecodedReading, type VendorExpectation } from '../src/core/model.js';
import { Bytes, requirePort } from './lib/bytes.js';

/** Adeunis timestamps count seconds from 2013-01-01T00:00:00Z */
const ADEUNIS_EPOCH = Date.UTC(2013, 0, 1);
/** status byte: bits 7-5 frame counter, bit 2 timestamp appended, bit 1 low battery, bit 0 configuration done */
const HAS_TIMESTAMP = 0x04;
const LOW_BATTERY = 0x02;

const CONFIG_FRAMES: Record<number, string> = { 0x10: 'configuration', 0x11: 'leakage configuration', 0x12: 'tamper configuration', 0x20: 'network configuration', 0x33: 'set register status' };

/** the vendor's timestamp ("2025-09-29T21:12:46.000", UTC without the Z) in epoch ms */
const vendorTs = (s: unknown) => (typeof s === 'string' ? { ts: Date.parse(`${s}Z`) } : {});

function decode({ payload, port }: { payload: Buffer; port?: number }) {
  requirePort(port, [1]);
  const b = new Bytes(payload);
  if (payload.length < 2) throw new DecodeError(`frame too short: ${payload.length} bytes`);
  const code = b.u8(0);
  const status = b.u8(1);
  const stamped = (status & HAS_TIMESTAMP) !== 0;
  const timeAt = (offset: number) => ({ ts: ADEUNIS_EPOCH + b.u32be(offset) * 1000 });
  const readings: DecodedReading[] = [];
  let at: { ts?: number } = {};
  const put = (metric: string, value: number | boolean) => readings.push({ metric, value, ...at });

  if (CONFIG_FRAMES[code] !== undefined) {
    const data: Record<string, unknown> = { frame: `0x${code.toString(16)} ${CONFIG_FRAMES[code]}`, payload: b.hex(0, payload.length) };
    if (code === 0x33) Object.assign(data, { requestStatus: b.u8(2), registerId: b.u16be(3) });
    return { readings: [{ metric: 'battery_low', value: (status & LOW_BATTERY) !== 0 }], events: [{ type: 'device_info' as const, data }] };
  }
  switch (code) {
    case 0x5a: case 0x5b: {
      // counter of the channel, then 0-n 16-bit deltas to the earlier samples, then the timestamp if flagged
      const end = stamped ? payload.length - 4 : payload.length;
      if (end < 6 || (end - 6) % 2 !== 0) throw new DecodeError(`0x${code.toString(16)} frame of ${payload.length} bytes: need 6 + 2 per history delta${stamped ? ' + 4 (timestamp)' : ''}`);
      if (stamped) at = timeAt(end);
      put(code === 0x5a ? 'pulse_count' : 'pulse_count_b', b.u32be(2));
      break;
    }
    case 0x46: {
      if (payload.length < (stamped ? 14 : 10)) throw new DecodeError(`0x46 frame too short: ${payload.length} bytes`);
      if (stamped) at = timeAt(10);
      put('pulse_count', b.u32be(2));
      put('pulse_count_b', b.u32be(6));
      break;
    }
    case 0x47: {
      // sent when a channel's flow exceeds its configured overflow threshold
      if (payload.length < (stamped ? 10 : 6)) throw new DecodeError(`0x47 frame too short: ${payload.length} bytes`);
      if (stamped) at = timeAt(6);
      put('burst', true);
      break;
    }
    case 0x30: {
      if (payload.length < (stamped ? 15 : 11)) throw new DecodeError(`0x30 frame too short: ${payload.length} bytes`);
      if (stamped) at = timeAt(11);
      const alarms = b.u8(2);
      put('burst', (alarms & 0x03) !== 0);
      put('tamper', (alarms & 0x0c) !== 0);
      put('leak', (alarms & 0x30) !== 0);
      break;
    }
    default:
      throw new DecodeError(`unsupported frame code 0x${code.toString(16)}`);
  }
  put('battery_low', (status & LOW_BATTERY) !== 0);
  return { readings, events: [] };
}

export default defineModel({
  id: 'adeunis.pulse4',
  vendor: 'Adeunis',
  name: 'PULSE 4 pulse counter (water / gas meters)',
  kind: 'water_meter',
  description: 'Counts the pulses of up to two meters: channel A is pulse_count (water_volume_m3 with the device attribute litresPerPulse), channel B pulse_count_b. Keep-alive and alarm frames give the flow (burst), leakage and tamper alarms; low battery from every frame.',
  format: 'binary',
  ports: [1],
  reportIntervalS: 3600,
  metrics: ['pulse_count', 'pulse_count_b', 'water_volume_m3', 'battery_low', 'burst', 'leak', 'tamper'],
  events: ['device_info'],
  attributes: { litresPerPulse: 'litres per pulse of the meter on channel A', volumeOffsetM3: 'meter index when the counter was at 0' },
  vendorCodec: {
    codec: 'vendor/adeunis/pulse_lib.js',
    commit: '0a254aa',
    vectors: ['adeunis.pulse4.jsonl'],
    expect: (data) => {
      const d = data.bytes ?? {};
      const at = vendorTs(d.timestamp);
      const out: DecodedReading[] = [];
      const put = (metric: string, value: number | boolean) => out.push({ metric, value, ...at });
      if (Array.isArray(d.counterValues)) {
        if (d.type?.startsWith('0x46')) { put('pulse_count', d.counterValues[0]); put('pulse_count_b', d.counterValues[1]); }
        else put(d.type?.includes('channel B') ? 'pulse_count_b' : 'pulse_count', d.counterValues[0]);
      }
      if (Array.isArray(d.channels)) {
        const [a, bch] = d.channels;
        put('burst', a.flow.alarm || bch.flow.alarm);
        put('tamper', a.tamperAlarm || bch.tamperAlarm);
        put('leak', a.leakageAlarm || bch.leakageAlarm);
      }
      if (d.status?.lowBattery !== undefined) put('battery_low', d.status.lowBattery);
      if (d.status?.hardwareError !== undefined) put('hardware_fault', d.status.hardwareError);
      return out;
    },
  },
  deviations: [
    'Channel alarms of the keep-alive frame (0x30) are per device: burst = flow alarm of channel A or B (flow above the configured overflow threshold), tamper = either channel\'s tamper alarm, leak = either channel\'s leakage alarm.',
    'Configuration frames (0x10, 0x11, 0x12, 0x20, 0x33) are recorded as a device_info event with their bytes, not decoded into settings (the vendor vectors leave them out).',
    {
      id: 'history-not-stored',
      reason: 'The 0x5A / 0x5B history (t-1, t-2, … from the deltas) is not stored: the vendor codec gives those samples no time, because their spacing is the device\'s configured period (frame 0x10), which the data frame does not carry. The current counter is stored at the frame\'s own timestamp (or the receive time).',
      commit: '0a254aa',
      applies: (v) => Array.isArray(v.vendor.data?.bytes?.counterValues) && v.vendor.data.bytes.counterValues.length > 1 && !v.vendor.data.bytes.type?.startsWith('0x46'),
    },
    {
      id: 'hardware-error-constant',
      reason: 'pulse_lib.js sets status.hardwareError to a constant false for every frame (GenericStatusByteParser); a flag that never changes is no reading, so hardware_fault is not stored.',
      commit: '0a254aa',
      applies: (v) => v.vendor.data?.bytes?.status?.hardwareError !== undefined,
      expect: (exp: VendorExpectation) => (exp === 'error' ? exp : exp.filter((r) => r.metric !== 'hardware_fault')),
    },
    {
      id: 'flow-alarm-frame',
      reason: 'Frame 0x47 is the flow alarm itself (sent when a channel\'s flow exceeds its overflow threshold); the vendor codec reports only the two flow values. The gateway stores burst = true at the alarm\'s time so the meter alarm rule fires. The flow values are pulses per configured flow-calculation period (frame 0x10), not a flow in m3/h, and are not stored.',
      commit: '0a254aa',
      applies: (v) => v.vendor.data?.bytes?.type?.startsWith('0x47') === true,
      expect: (exp: VendorExpectation, v) => (exp === 'error' ? exp : [...exp, { metric: 'burst', value: true, ...vendorTs(v.vendor.data.bytes.timestamp) }]),
    },
    {
      id: 'keepalive-flow-extremes-not-stored',
      reason: 'The keep-alive\'s last-24 h minimum and maximum flow are pulses per configured period (no unit without frame 0x10 and the litres per pulse) and statistics, not current values: not stored. Its alarms are.',
      commit: '0a254aa',
      applies: (v) => Array.isArray(v.vendor.data?.bytes?.channels),
    },
  ],
  decode,
  examples: [
    {
      description: '0x5a Pulse 4 data - channel A (corpus)', port: 1, hex: '5A6700000127000100020003000414ABA3E9',
      series: [{ metric: 'pulse_count', ts: '2023-12-28T19:22:17Z', value: 295 }, { metric: 'battery_low', ts: '2023-12-28T19:22:17Z', value: true }],
    },
    {
      description: '0x5a with two deltas and a timestamp (issue 12 repro, was dead-lettered): vendor counter 295 at 2023-12-28T19:22:17', port: 1, hex: '5A67000001270001000214ABA3E9',
      series: [{ metric: 'pulse_count', ts: '2023-12-28T19:22:17Z', value: 295 }, { metric: 'battery_low', ts: '2023-12-28T19:22:17Z', value: true }],
    },
    {
      description: '0x5a with six deltas and a timestamp: the timestamp is the last 4 bytes, not a delta (vendor 2232608 at 2025-10-18T19:30:59)', port: 1,
      hex: '5A6700221120008F0060007B009A001F001F1811C3F3',
      series: [{ metric: 'pulse_count', ts: '2025-10-18T19:30:59Z', value: 2232608 }, { metric: 'battery_low', ts: '2025-10-18T19:30:59Z', value: true }],
    },
    {
      description: 'no timestamp, 10 l/pulse, four deltas', port: 1, hex: '5A21000003E80000000000000000', attributes: { litresPerPulse: 10 },
      readings: { pulse_count: 1000, water_volume_m3: 10, battery_low: false },
    },
    { description: '0x5b channel B counter (vendor 3630598)', port: 1, hex: '5B2300376606', readings: { pulse_count_b: 3630598, battery_low: true } },
    {
      description: '0x46 both counters (vendor 811012 and 139583 at 2024-03-10T01:19:58)', port: 1, hex: '4665000C60040002213F150AE3BE',
      series: [
        { metric: 'pulse_count', ts: '2024-03-10T01:19:58Z', value: 811012 }, { metric: 'pulse_count_b', ts: '2024-03-10T01:19:58Z', value: 139583 },
        { metric: 'battery_low', ts: '2024-03-10T01:19:58Z', value: false },
      ],
    },
    {
      description: '0x47 flow alarm at 2025-09-15T02:54:12', port: 1, hex: '47AD0102012E17E558D4',
      series: [{ metric: 'burst', ts: '2025-09-15T02:54:12Z', value: true }, { metric: 'battery_low', ts: '2025-09-15T02:54:12Z', value: false }],
    },
    {
      description: '0x30 keep-alive: tamper and leakage alarms, no flow alarm', port: 1, hex: '30A13C016301C20076017A',
      readings: { burst: false, tamper: true, leak: true, battery_low: false },
    },
    { description: 'set register status reply', port: 1, hex: '3301010140', readings: { battery_low: false }, events: [{ type: 'device_info', data: { frame: '0x33 set register status', payload: '3301010140', requestStatus: 1, registerId: 320 } }] },
    { description: 'odd history length', port: 1, hex: '5A21000003E800', error: 'need 6 + 2 per history delta' },
    { description: 'unknown frame code', port: 1, hex: '9921', error: 'unsupported frame code 0x99' },
  ],
});
