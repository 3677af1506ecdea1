import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading, VendorVector } from '../src/core/model.js';
import { Bytes, requirePort, round } from './lib/bytes.js';

const EVENT_BYTES = 11;

/** the vendor codec prints times in the local zone of the machine that runs it; the vectors were made in UTC */
const vendorLocalTime = (s: string): number => Date.parse(`${s.replace(' ', 'T')}Z`);

/** One door event (FPort 2, and each entry of an FPort 3 datalog), stamped with the time the sensor logged it. */
function doorEvent(b: Bytes, at: number): DecodedReading[] {
  const ts = b.u32be(at + 7) * 1000;
  return [
    { metric: 'door_open', value: (b.u8(at) & 0x01) !== 0, ts },
    { metric: 'door_alarm', value: (b.u8(at) & 0x02) !== 0, ts },
    { metric: 'door_open_count', value: b.u24be(at + 1), ts },
    { metric: 'door_open_duration_min', value: b.u24be(at + 4), ts },
  ];
}

const BANDS: Record<number, string> = {
  1: 'EU868', 2: 'US915', 3: 'IN865', 4: 'AU915', 5: 'KZ865', 6: 'RU864', 7: 'AS923',
  8: 'AS923_1', 9: 'AS923_2', 10: 'AS923_3', 11: 'CN470', 12: 'EU433', 13: 'KR920', 14: 'MA869',
};

/** the vendor's door-event fields (FPort 2 data, or one parsed datalog entry) as readings */
function vendorEvent(alarm: string, status: string, count: number, duration: number, time: string): DecodedReading[] {
  const ts = vendorLocalTime(time);
  return [
    { metric: 'door_open', value: status === 'OPEN', ts },
    { metric: 'door_alarm', value: alarm === 'TRUE', ts },
    { metric: 'door_open_count', value: count, ts },
    { metric: 'door_open_duration_min', value: duration, ts },
  ];
}

/** the logged times whose top bit is set (the vendor reads them as int32) */
const highBitTime = (v: VendorVector) => {
  if (v.fPort !== 2 && v.fPort !== 3) return false;
  const p = Buffer.from(v.hex, 'hex');
  for (let at = 0; at + EVENT_BYTES <= p.length; at += EVENT_BYTES) if (p[at + 7]! & 0x80) return true;
  return false;
};

export default defineModel({
  id: 'dragino.lds03a',
  vendor: 'Dragino',
  name: 'LDS03A outdoor open/close door sensor',
  kind: 'door_access',
  description: 'Door events on FPort 2 carry their own time; FPort 3 is the datalog of events the sensor stored while out of coverage, each at its logged time. FPort 4 answers a configuration query (uplink interval, alarm settings), FPort 5 is the device status (model, firmware, band, battery): both recorded as device_info events.',
  format: 'binary',
  ports: [2, 3, 4, 5],
  reportIntervalS: 7200,
  metrics: ['door_open', 'door_alarm', 'door_open_count', 'door_open_duration_min', 'battery_v'],
  events: ['device_info'],
  vendorCodec: {
    codec: 'vendor/dragino/lds03a.js',
    commit: '0a254aa',
    vectors: ['dragino.lds03a.jsonl'],
    expect: (d, v) => {
      if (v.fPort === 2) return vendorEvent(d.ALARM, d.DOOR_OPEN_STATUS, d.DOOR_OPEN_TIMES, d.LAST_DOOR_OPEN_DURATION, d.TIME);
      if (v.fPort === 3) {
        // the vendor prints the log as "[TRUE,OPEN,12,3,2026-11-22 08:00:00],[…],"
        return [...String(d.DATALOG).matchAll(/\[(TRUE|FALSE),(OPEN|CLOSE),(\d+),(\d+),([^\]]+)\]/g)]
          .flatMap((m) => vendorEvent(m[1]!, m[2]!, Number(m[3]), Number(m[4]), m[5]!));
      }
      if (v.fPort === 5) return [{ metric: 'battery_v', value: d.BAT }];
      return [];
    },
  },
  deviations: [
    {
      id: 'event-time-uint32',
      reason: 'The vendor codec builds the logged time with bytes[7] << 24, a signed 32-bit result in JavaScript, so a time with the top bit set prints as 1901-2038 instead of 2038-2106. The sensor counts unsigned Unix seconds: this decoder reads them as uint32, 2^32 s later than the vendor for those frames.',
      commit: '0a254aa',
      applies: highBitTime,
      expect: (exp) => (exp === 'error' ? exp : exp.map((r) => (r.ts !== undefined && r.ts < 0 ? { ...r, ts: r.ts + 2 ** 32 * 1000 } : r))),
    },
  ],
  decode: ({ payload, port }) => {
    const p = requirePort(port, [2, 3, 4, 5]);
    const b = new Bytes(payload);
    if (p === 4) {
      if (payload.length !== 7) throw new DecodeError(`configuration frame must have 7 bytes, has ${payload.length}`);
      return {
        readings: [],
        events: [{ type: 'device_info', data: { tdc: b.u24be(0), disalarm: b.u8(3) & 0x01, keep_status: b.u8(4) & 0x01, keep_time: b.u16be(5) } }],
      };
    }
    if (p === 5) {
      if (payload.length !== 7) throw new DecodeError(`status frame must have 7 bytes, has ${payload.length}`);
      const data: Record<string, unknown> = {
        sensor_model: b.u8(0) === 0x0a ? 'LDS03A' : `0x${b.u8(0).toString(16).padStart(2, '0')}`,
        firmware_version: `${b.u8(1) & 0x0f}.${b.u8(2) >> 4}.${b.u8(2) & 0x0f}`,
        frequency_band: BANDS[b.u8(3)] ?? `0x${b.u8(3).toString(16).padStart(2, '0')}`,
        sub_band: b.u8(4) === 0xff ? null : b.u8(4),
      };
      return { readings: [{ metric: 'battery_v', value: round(b.u16be(5) / 1000, 3) }], events: [{ type: 'device_info', data }] };
    }
    if (p === 2) {
      if (payload.length !== EVENT_BYTES) throw new DecodeError(`event frame must have ${EVENT_BYTES} bytes, has ${payload.length}`);
      return { readings: doorEvent(b, 0), events: [] };
    }
    // FPort 3: the datalog, whole 11-byte entries only (the vendor codec would read a partial entry's missing bytes as 0)
    if (payload.length === 0 || payload.length % EVENT_BYTES !== 0) {
      throw new DecodeError(`datalog must be a whole number of ${EVENT_BYTES}-byte entries, has ${payload.length} bytes`);
    }
    const readings: DecodedReading[] = [];
    for (let at = 0; at < payload.length; at += EVENT_BYTES) readings.push(...doorEvent(b, at));
    return { readings, events: [] };
  },
  examples: [
    {
      description: 'Distance Detection (corpus: configuration reply on FPort 4)', port: 4, hex: '31618E5740618E', readings: {},
      events: [{ type: 'device_info', data: { tdc: 3236238, disalarm: 1, keep_status: 0, keep_time: 24974 } }],
    },
    {
      description: 'door opened, 12 openings so far, logged at 2026-11-22T08:00:00Z', port: 2, hex: '0100000C0000036B02A100',
      series: [
        { metric: 'door_open', ts: '2026-11-22T08:00:00Z', value: true }, { metric: 'door_alarm', ts: '2026-11-22T08:00:00Z', value: false },
        { metric: 'door_open_count', ts: '2026-11-22T08:00:00Z', value: 12 }, { metric: 'door_open_duration_min', ts: '2026-11-22T08:00:00Z', value: 3 },
      ],
    },
    {
      // issue 12: the datalog was dead-lettered; vendor: [TRUE,OPEN,44641,38,2031-07-02 09:31:00],[TRUE,CLOSE,3998,2932,2031-08-26 04:30:52]
      description: 'datalog of two events logged out of coverage (vendor vector), each at its own time', port: 3, hex: '0300AE6100002673AD82D402000F9E000B7473F5BEFC',
      series: [
        { metric: 'door_open', ts: '2031-07-02T09:31:00Z', value: true }, { metric: 'door_alarm', ts: '2031-07-02T09:31:00Z', value: true },
        { metric: 'door_open_count', ts: '2031-07-02T09:31:00Z', value: 44641 }, { metric: 'door_open_duration_min', ts: '2031-07-02T09:31:00Z', value: 38 },
        { metric: 'door_open', ts: '2031-08-26T04:30:52Z', value: false }, { metric: 'door_alarm', ts: '2031-08-26T04:30:52Z', value: true },
        { metric: 'door_open_count', ts: '2031-08-26T04:30:52Z', value: 3998 }, { metric: 'door_open_duration_min', ts: '2031-08-26T04:30:52Z', value: 2932 },
      ],
    },
    {
      // issue 12: the status frame was dead-lettered; vendor: LDS03A, fw 1.4.14, AS923, sub-band 2, 3.086 V
      description: 'device status (vendor vector): battery and device info', port: 5, hex: '0A014E07020C0E', readings: { battery_v: 3.086 },
      events: [{ type: 'device_info', data: { sensor_model: 'LDS03A', firmware_version: '1.4.14', frequency_band: 'AS923', sub_band: 2 } }],
    },
    { description: 'truncated event', port: 2, hex: '01000000', error: 'must have 11 bytes' },
    { description: 'datalog with a partial entry', port: 3, hex: '0100A8FB00092570E1477801', error: 'whole number of 11-byte entries' },
  ],
});
