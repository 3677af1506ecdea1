import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading, VendorVector } from '../src/core/model.js';
import { dingtekFrame, DINGTEK_PORT } from './lib/dingtek.js';

const COMMIT = '8566e9a';

/** the vendor codec's 17-byte data frame, as printed ("1700 mm", "22 ℃", "-35 °") */
const vendorData = (d: any): DecodedReading[] => [
  { metric: 'distance_mm', value: parseInt(d.level, 10) },
  { metric: 'temperature_c', value: parseInt(d.temperature, 10) },
  { metric: 'tilt_angle_deg', value: parseFloat(d.angle) },
  { metric: 'level_alarm', value: d.full },
  { metric: 'tilt', value: d.motion },
  { metric: 'battery_low', value: d.battery },
];
const bytesOf = (v: VendorVector) => Buffer.from(v.hex, 'hex');

export default defineModel({
  id: 'dingtek.dc410',
  vendor: 'Dingtek',
  name: 'DC410 ultrasonic manhole / well level sensor',
  kind: 'bin_fill',
  description: 'Mounted under a manhole cover or over a well: ultrasonic distance to the water surface, temperature, the cover\'s tilt angle and alarm flags (level above the full threshold, cover moved, low battery). Its kind is bin_fill because a chamber filling towards overflow behaves like a bin filling up: with binDepthMm (sensor to chamber floor) fill_pct is derived and the bin_full rule warns before it overflows; a moved or lifted cover raises tilt (bin_tilted rule). The 25-byte parameter packet (upload and detection intervals, thresholds, range) is recorded as device_info.',
  format: 'binary',
  ports: [DINGTEK_PORT],
  // the periodic upload interval of the vendor's parameter-packet example (6 h); attributes.reportIntervalS overrides
  reportIntervalS: 21600,
  metrics: ['distance_mm', 'fill_pct', 'temperature_c', 'tilt_angle_deg', 'level_alarm', 'tilt', 'battery_low'],
  events: ['device_info'],
  attributes: { binDepthMm: 'distance from the sensor to the manhole or well floor, mm' },
  vendorCodec: {
    codec: 'vendor/dingtek/dc410.js',
    commit: COMMIT,
    vectors: ['dingtek.dc410.jsonl'],
    expect: (d, v) => (v.hex.length === 34 ? vendorData(d) : []),
  },
  deviations: [
    {
      id: 'angle-sign', commit: COMMIT,
      reason: 'Tilt angle: the vendor codec computes `bytes[9] & (0x0f === 0x00) ? b10 : 0 - b10`, an operator-precedence bug that makes every angle negative whatever the sign byte says (as in its DF702 codec). The gateway applies the sign byte as the layout intends (non-zero = negative), so a positive tilt keeps its sign.',
      applies: (v) => v.hex.length === 34 && v.vendor.data !== undefined && bytesOf(v)[9] === 0 && bytesOf(v)[10] !== 0,
      expect: (exp) => (exp === 'error' ? exp : exp.map((r) => (r.metric === 'tilt_angle_deg' ? { ...r, value: -(r.value as number) } : r))),
    },
    {
      id: 'frame-checks', commit: COMMIT,
      reason: 'The vendor codec decodes any 17-byte FPort 3 payload by position; the gateway first checks the Dingtek frame (0x80 start, 0x81 end, length byte = frame length) and dead-letters a corrupt one with the reason, rather than store a level from bytes that are not a DC410 frame.',
      applies: (v) => v.hex.length === 34 && v.vendor.data !== undefined && (bytesOf(v)[0] !== 0x80 || bytesOf(v)[16] !== 0x81 || bytesOf(v)[4] !== 17),
      expect: () => 'error',
    },
    'The frame counter (bytes 13-14) numbers the uplinks (LoRaWAN has its own FCnt): not a reading.',
    'The 17-byte frame is decoded whatever its packet-type byte says (0x01 data, 0x02 heartbeat), as the vendor codec does; a parameter packet (type 0x03) is 25 bytes.',
  ],
  decode: ({ payload, port }) => {
    const f = dingtekFrame(payload, port, [17, 25]);
    const b = f.b;
    if (f.length === 25) {
      if (!f.parameter) throw new DecodeError(`25-byte frame of packet type 0x${f.type.toString(16).padStart(2, '0')}: only the parameter packet (0x03) has 25 bytes`);
      return {
        readings: [],
        events: [{
          type: 'device_info',
          data: {
            periodicUploadIntervalH: b.u8(7), periodicDetectionIntervalMin: b.u8(8), fullAlarmThresholdCm: b.u8(9),
            motionAlarmThresholdDeg: b.u8(11), motionAlarmEnabled: b.u8(12) !== 0, ultrasonicRangeMm: b.u8(13) === 0 ? 2000 : 5000,
          },
        }],
      };
    }
    const angle = b.u8(10);
    return {
      readings: [
        { metric: 'distance_mm', value: b.u16be(5) },
        { metric: 'temperature_c', value: b.u8(8) },
        { metric: 'tilt_angle_deg', value: b.u8(9) !== 0 && angle !== 0 ? -angle : angle },
        { metric: 'level_alarm', value: b.u8(11) >> 4 !== 0 },
        { metric: 'tilt', value: b.u8(12) >> 4 !== 0 },
        { metric: 'battery_low', value: (b.u8(12) & 0x0f) !== 0 },
      ],
      events: [],
    };
  },
  examples: [
    {
      description: 'vendor example: heartbeat, water 1700 mm below the sensor, 22 °C, in a 2 m chamber', port: 3, hex: '8000010211' + '06A40016010000000001' + '0081', attributes: { binDepthMm: 2000 },
      readings: { distance_mm: 1700, fill_pct: 15, temperature_c: 22, tilt_angle_deg: 0, level_alarm: false, tilt: false, battery_low: false },
    },
    {
      description: 'vendor example: parameter packet (6 h uploads, 60 min detection, full at 30 cm, motion alarm at 20°, 5 m range)', port: 3, hex: '8000010319030206' + '3C1E4B14010101000000000000000000' + '81',
      events: [{ type: 'device_info', data: { periodicUploadIntervalH: 6, periodicDetectionIntervalMin: 60, fullAlarmThresholdCm: 30, motionAlarmThresholdDeg: 20, motionAlarmEnabled: true, ultrasonicRangeMm: 5000 } }],
    },
    {
      description: 'water 250 mm below the sensor: level alarm; cover tilted +35°, low battery', port: 3, hex: '800001021100FA0012002310110002' + '0081',
      readings: { distance_mm: 250, temperature_c: 18, tilt_angle_deg: 35, level_alarm: true, tilt: true, battery_low: true },
    },
    { description: 'corrupt frame (end byte)', port: 3, hex: '800001021106A4001601000000000100' + '80', error: 'must end with 0x81' },
    { description: 'wrong port', port: 2, hex: '800001021106A40016010000000001' + '0081', error: 'unknown FPort 2' },
  ],
});
