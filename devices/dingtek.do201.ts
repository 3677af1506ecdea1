import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { round } from './lib/bytes.js';
import { dingtekFrame, DINGTEK_PORT } from './lib/dingtek.js';

export default defineModel({
  id: 'dingtek.do201',
  vendor: 'Dingtek',
  name: 'DO201 ultrasonic + geomagnetic parking occupancy sensor',
  kind: 'parking',
  description: 'Bay occupancy from an ultrasonic and a geomagnetic sensor, with each detector\'s own alarm, the raw distance to the vehicle, magnetic field, temperature, humidity and battery. The 16-byte parameter packet is the device configuration (device_info).',
  format: 'binary',
  ports: [DINGTEK_PORT],
  reportIntervalS: 3600,
  lowBatteryV: 3.2,
  metrics: ['occupied', 'distance_alarm', 'magnetic_alarm', 'vehicle_distance_mm', 'magnetic_x', 'magnetic_y', 'magnetic_z', 'temperature_c', 'humidity_pct', 'battery_v', 'battery_low'],
  events: ['device_info'],
  vendorCodec: {
    codec: 'vendor/dingtek/do201.js',
    commit: '4bb8330',
    vectors: ['dingtek.do201.jsonl'],
    expect: (d): DecodedReading[] => (d.level === undefined ? [] : [
      { metric: 'vehicle_distance_mm', value: d.level },
      { metric: 'occupied', value: d.alarmPark },
      { metric: 'distance_alarm', value: d.alarmLevel },
      { metric: 'magnetic_alarm', value: d.alarmMagnet },
      { metric: 'battery_low', value: d.alarmBattery },
      { metric: 'battery_v', value: d.volt },
      { metric: 'magnetic_x', value: d.xMagnet },
      { metric: 'magnetic_y', value: d.yMagnet },
      { metric: 'magnetic_z', value: d.zMagnet },
      { metric: 'temperature_c', value: d.temperature },
      { metric: 'humidity_pct', value: d.humidity },
    ]),
  },
  deviations: [
    'Dingtek calls a parked vehicle an alarm: alarmPark (b7 high nibble) is stored as occupied. alarmLevel and alarmMagnet are the two detectors\' own decisions (ultrasonic distance, magnetic change past their configured thresholds), stored as distance_alarm and magnetic_alarm, not as a sensor fault: both are set whenever a car is parked.',
    'frameCounter is a sequence number, not a reading.',
  ],
  decode: ({ payload, port }) => {
    const f = dingtekFrame(payload, port, [16, 23]);
    const b = f.b;
    if (f.length === 16) {
      if (!f.parameter) throw new DecodeError(`16-byte frame must be a parameter packet (type 0x03), has type 0x${f.type.toString(16)}`);
      return {
        readings: [],
        events: [{
          type: 'device_info',
          data: { firmware: `${b.u8(5)}.${b.u8(6)}`, upload_interval_h: b.u8(7), detect_interval_min: b.u8(8), level_threshold_cm: b.u8(9), magnet_threshold: b.u16be(10), battery_threshold_pct: b.u8(12) },
        }],
      };
    }
    return {
      readings: [
        { metric: 'vehicle_distance_mm', value: b.u16be(5) },
        { metric: 'occupied', value: b.u8(7) >> 4 !== 0 },
        { metric: 'distance_alarm', value: (b.u8(7) & 0x0f) !== 0 },
        { metric: 'magnetic_alarm', value: b.u8(8) >> 4 !== 0 },
        { metric: 'battery_low', value: (b.u8(8) & 0x0f) !== 0 },
        { metric: 'battery_v', value: round(b.u16be(9) / 100, 2) },
        { metric: 'magnetic_x', value: b.i16be(11) },
        { metric: 'magnetic_y', value: b.i16be(13) },
        { metric: 'magnetic_z', value: b.i16be(15) },
        { metric: 'temperature_c', value: b.i8(17) },
        { metric: 'humidity_pct', value: b.u8(18) },
      ],
      events: [],
    };
  },
  examples: [
    {
      description: 'Data frame (corpus)', port: 3, hex: '800031021706B4000001610010FFF6FFF08B2D00010081',
      readings: { vehicle_distance_mm: 1716, occupied: false, distance_alarm: false, magnetic_alarm: false, battery_low: false, battery_v: 3.53, magnetic_x: 16, magnetic_y: -10, magnetic_z: -16, temperature_c: -117, humidity_pct: 45 },
    },
    {
      description: 'vehicle parked, both detectors see it', port: 3, hex: '8000310217012C111001540120FF00FE70143C00020081',
      readings: { vehicle_distance_mm: 300, occupied: true, distance_alarm: true, magnetic_alarm: true, battery_low: false, battery_v: 3.4, magnetic_x: 288, magnetic_y: -256, magnetic_z: -400, temperature_c: 20, humidity_pct: 60 },
    },
    {
      description: 'parameter packet (vendor vector)', port: 3, hex: '80000103100102232E2747790B000081', readings: {},
      events: [{ type: 'device_info', data: { firmware: '1.2', upload_interval_h: 35, detect_interval_min: 46, level_threshold_cm: 39, magnet_threshold: 18297, battery_threshold_pct: 11 } }],
    },
    { description: 'length byte disagrees', port: 3, hex: '800031021806B4000001610010FFF6FFF08B2D00010081', error: 'length byte' },
  ],
});
