import { defineModel } from '../src/core/model.js';
import { round } from './lib/bytes.js';
import { dingtekFrame, DINGTEK_PORT } from './lib/dingtek.js';

export default defineModel({
  id: 'dingtek.do201',
  vendor: 'Dingtek',
  name: 'DO201 ultrasonic + geomagnetic parking occupancy sensor',
  kind: 'parking',
  description: 'Bay occupancy from an ultrasonic and a geomagnetic sensor, with the raw distance to the vehicle, magnetic field, temperature, humidity and battery.',
  format: 'binary',
  ports: [DINGTEK_PORT],
  reportIntervalS: 3600,
  lowBatteryV: 3.2,
  metrics: ['occupied', 'vehicle_distance_mm', 'magnetic_x', 'magnetic_y', 'magnetic_z', 'temperature_c', 'humidity_pct', 'battery_v', 'battery_low', 'sensor_fault'],
  deviations: [
    'Dingtek calls a parked vehicle an alarm: alarmPark (b7 high nibble) is stored as occupied.',
    'alarmLevel and alarmMagnet are the two detectors\' own alarms; either set is stored as sensor_fault (a detector disagreeing or failing), which feeds the parking_sensor_fault rule.',
    'Temperature is int8 b17 as the layout says; the corpus frame gives -117 °C, which is the vendor\'s own output for that frame and is stored as such.',
    'The 16-byte parameter packet (b3 = 0x03) is configuration: no readings.',
  ],
  decode: ({ payload, port }) => {
    const f = dingtekFrame(payload, port, [16, 23]);
    if (f.parameter || f.length !== 23) return { readings: [], events: [] };
    const b = f.b;
    return {
      readings: [
        { metric: 'vehicle_distance_mm', value: b.u16be(5) },
        { metric: 'occupied', value: b.u8(7) >> 4 !== 0 },
        { metric: 'sensor_fault', value: (b.u8(7) & 0x0f) !== 0 || b.u8(8) >> 4 !== 0 },
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
      readings: { vehicle_distance_mm: 1716, occupied: false, sensor_fault: false, battery_low: false, battery_v: 3.53, magnetic_x: 16, magnetic_y: -10, magnetic_z: -16, temperature_c: -117, humidity_pct: 45 },
    },
    {
      description: 'vehicle parked', port: 3, hex: '8000310217012C100001540120FF00FE70143C00020081',
      readings: { vehicle_distance_mm: 300, occupied: true, sensor_fault: false, battery_low: false, battery_v: 3.4, magnetic_x: 288, magnetic_y: -256, magnetic_z: -400, temperature_c: 20, humidity_pct: 60 },
    },
    { description: 'length byte disagrees', port: 3, hex: '800031021806B4000001610010FFF6FFF08B2D00010081', error: 'length byte' },
  ],
});
