import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { Bytes, requirePort } from './lib/bytes.js';
import { afterY2038, datalogEntries, deviceInfo, draginoStatus, hasTimeAfter2038, unixTimeMs, vendorDatalog, vendorTime } from './lib/dragino-lb.js';

const COMMIT = 'af5ac51';
const PORTS = [2, 3, 4, 5];

/** status byte: bit 0 leak now, bit 1 alarm (leak longer than the alarm time); then count, last duration, time */
function leakReadings(b: Bytes): DecodedReading[] {
  const ts = unixTimeMs(b, 7);
  return [
    { metric: 'leak', value: (b.u8(0) & 0x01) !== 0, ts },
    { metric: 'leak_alarm', value: (b.u8(0) & 0x02) !== 0, ts },
    { metric: 'leak_count', value: b.u24be(1), ts },
    { metric: 'leak_duration_min', value: b.u24be(4), ts },
  ];
}

const vendorLeak = (leak: boolean, alarm: boolean, count: number, duration: number, ts: number): DecodedReading[] => [
  { metric: 'leak', value: leak, ts }, { metric: 'leak_alarm', value: alarm, ts },
  { metric: 'leak_count', value: count, ts }, { metric: 'leak_duration_min', value: duration, ts },
];

export default defineModel({
  id: 'dragino.lwl03a',
  vendor: 'Dragino',
  name: 'LWL03A LoRaWAN water leak sensor',
  kind: 'water_meter',
  description: 'Floor water-leak probe. Its kind is water_meter because that is where an estate looks for water trouble: leak drives the meter_alarm rule like a meter\'s own leak bit. Each event carries its own time (the sensor logs events out of coverage; FPort 3 sends them later), the leak count so far and the duration of the last leak (minutes). FPort 4 (configuration) and 5 (device status, with the battery voltage) are recorded as device_info.',
  format: 'binary',
  ports: PORTS,
  reportIntervalS: 7200,
  lowBatteryV: 3.1,
  metrics: ['leak', 'leak_alarm', 'leak_count', 'leak_duration_min', 'battery_v'],
  events: ['device_info'],
  vendorCodec: {
    codec: 'vendor/dragino/lwl03a.js',
    commit: COMMIT,
    vectors: ['dragino.lwl03a.jsonl'],
    expect: (d, v) => {
      if (v.fPort === 3) {
        return vendorDatalog(d.DATALOG).flatMap(([alarm, leak, count, duration, time]) =>
          vendorLeak(leak === 'LEAK', alarm === 'TRUE', Number(count), Number(duration), vendorTime(time!)));
      }
      if (v.fPort === 5) return [{ metric: 'battery_v', value: d.BAT }];
      if (v.fPort === 4) return [];
      return vendorLeak(d.WATER_LEAK_STATUS === 'LEAK', d.ALARM === 'TRUE', d.WATER_LEAK_TIMES, d.LAST_WATER_LEAK_DURATION, vendorTime(d.TIME));
    },
  },
  deviations: [
    {
      ...afterY2038, commit: COMMIT,
      applies: (v) => (v.fPort === 2 || v.fPort === 3) && v.vendor.data !== undefined && hasTimeAfter2038(v.hex, v.fPort === 3),
      expect: afterY2038.fix,
    },
    {
      id: 'data-on-fport-2-only', commit: COMMIT,
      reason: 'The vendor codec decodes an 11-byte frame on any FPort other than 3, 4 and 5 as a leak event; the LWL03A sends its events on FPort 2. A frame on another port is not this layout (another application on the device, or a misrouted uplink): the gateway dead-letters it with the port named instead of storing a leak state from it.',
      applies: (v) => !PORTS.includes(v.fPort) && v.vendor.data !== undefined,
      expect: () => 'error',
    },
    'The TDC bit (this uplink is the periodic one, not an event) describes the frame, not the water: not stored.',
  ],
  decode: ({ payload, port }) => {
    requirePort(port, PORTS);
    if (port === 5) return draginoStatus(payload, { 0x14: 'LWL03A' });
    const b = new Bytes(payload);
    if (port === 4) {
      if (payload.length !== 8) throw new DecodeError(`configuration frame must have 8 bytes, has ${payload.length}`);
      return deviceInfo({ tdcS: b.u24be(0), disalarm: b.u8(3) & 0x01, keepStatus: b.u8(4) & 0x01, keepTimeS: b.u16be(5), leakAlarmTimeMin: b.u8(7) });
    }
    if (port === 3) return { readings: datalogEntries(payload).flatMap(leakReadings), events: [] };
    if (payload.length !== 11) throw new DecodeError(`frame must have 11 bytes, has ${payload.length}`);
    return { readings: leakReadings(b), events: [] };
  },
  examples: [
    {
      description: 'vendor example: leak, 10 leaks so far, last one 10 min, at 2022-10-29 07:14:58', port: 2, hex: '0100000A00000A635CD2F2',
      series: [
        { metric: 'leak', ts: '2022-10-29T07:14:58Z', value: true }, { metric: 'leak_alarm', ts: '2022-10-29T07:14:58Z', value: false },
        { metric: 'leak_count', ts: '2022-10-29T07:14:58Z', value: 10 }, { metric: 'leak_duration_min', ts: '2022-10-29T07:14:58Z', value: 10 },
      ],
    },
    {
      description: 'leak alarm (leak longer than the alarm time), periodic uplink', port: 2, hex: '0700000300002D635CD2F2',
      series: [
        { metric: 'leak', ts: '2022-10-29T07:14:58Z', value: true }, { metric: 'leak_alarm', ts: '2022-10-29T07:14:58Z', value: true },
        { metric: 'leak_count', ts: '2022-10-29T07:14:58Z', value: 3 }, { metric: 'leak_duration_min', ts: '2022-10-29T07:14:58Z', value: 45 },
      ],
    },
    {
      description: 'configuration reply: 2 h uplinks, leak alarm after 30 min', port: 4, hex: '001C20000100001E',
      events: [{ type: 'device_info', data: { tdcS: 7200, disalarm: 0, keepStatus: 1, keepTimeS: 0, leakAlarmTimeMin: 30 } }],
    },
    {
      description: 'device status: LWL03A v1.0.5, EU868, battery 3.05 V', port: 5, hex: '14010501FF0BEA',
      readings: { battery_v: 3.05 },
      events: [{ type: 'device_info', data: { sensorModel: 'LWL03A', firmwareVersion: '1.0.5', frequencyBand: 'EU868', subBand: null } }],
    },
    { description: 'short event', port: 2, hex: '0100000A00000A635C', error: 'frame must have 11 bytes' },
    { description: 'event on another port', port: 6, hex: '0100000A00000A635CD2F2', error: 'unknown FPort 6' },
  ],
});
