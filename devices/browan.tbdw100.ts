import { defineModel, DecodeError } from '../src/core/model.js';
import { Bytes, requirePort, round } from './lib/bytes.js';

export default defineModel({
  id: 'browan.tbdw100',
  vendor: 'Browan',
  name: 'TBDW100 door & window sensor (TABS)',
  kind: 'door_access',
  description: 'Door contact with an event counter; board temperature.',
  format: 'binary',
  ports: [100],
  reportIntervalS: 3600,
  lowBatteryV: 2.7,
  metrics: ['door_open', 'door_open_count', 'battery_v', 'temperature_c'],
  vendorCodec: {
    codec: 'vendor/browan/tbdw100.js',
    commit: 'adb031d',
    vectors: ['browan.tbdw100.jsonl'],
    expect: (d) => [
      { metric: 'door_open', value: d.status === 1 },
      { metric: 'battery_v', value: d.battery },
      { metric: 'temperature_c', value: d.temperatureBoard },
      { metric: 'door_open_count', value: d.count },
    ],
  },
  deviations: ['"time" (minutes since the last event) is not stored: the reading time and door_open history carry it.'],
  decode: ({ payload, port }) => {
    requirePort(port, [100]);
    if (payload.length !== 8) throw new DecodeError(`frame must have 8 bytes, has ${payload.length}`);
    const b = new Bytes(payload);
    return {
      readings: [
        { metric: 'door_open', value: (b.u8(0) & 0x01) !== 0 },
        { metric: 'battery_v', value: round((25 + (b.u8(1) & 0x0f)) / 10, 1) },
        { metric: 'temperature_c', value: (b.u8(2) & 0x7f) - 32 },
        { metric: 'door_open_count', value: b.u24le(5) },
      ],
      events: [],
    };
  },
  examples: [
    { description: 'Door closed, 14986 events (corpus)', port: 100, hex: '00CB3500008A3A00', readings: { door_open: false, battery_v: 3.6, temperature_c: 21, door_open_count: 14986 } },
    { description: 'door open', port: 100, hex: '01C93A0500010000', readings: { door_open: true, battery_v: 3.4, temperature_c: 26, door_open_count: 1 } },
    { description: 'short frame', port: 100, hex: '00CB35', error: 'must have 8 bytes' },
  ],
});
