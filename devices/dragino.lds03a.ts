import { defineModel, DecodeError } from '../src/core/model.js';
import { Bytes, requirePort } from './lib/bytes.js';

export default defineModel({
  id: 'dragino.lds03a',
  vendor: 'Dragino',
  name: 'LDS03A outdoor open/close door sensor',
  kind: 'door_access',
  description: 'Door events on FPort 2 carry their own time (the sensor logs events while out of coverage). FPort 4 answers a configuration query (uplink interval, alarm settings): no readings.',
  format: 'binary',
  ports: [2, 4],
  reportIntervalS: 7200,
  metrics: ['door_open', 'door_alarm', 'door_open_count', 'door_open_duration_min'],
  deviations: ['FPort 4 (TDC, DISALARM, KEEP_STATUS, KEEP_TIME) is device configuration, not a reading: decoded to nothing.'],
  decode: ({ payload, port }) => {
    requirePort(port, [2, 4]);
    const b = new Bytes(payload);
    if (port === 4) {
      if (payload.length !== 7) throw new DecodeError(`configuration frame must have 7 bytes, has ${payload.length}`);
      return { readings: [], events: [] };
    }
    if (payload.length < 11) throw new DecodeError(`frame too short: need 11 bytes, have ${payload.length}`);
    const ts = b.u32be(7) * 1000;
    return {
      readings: [
        { metric: 'door_open', value: (b.u8(0) & 0x01) !== 0, ts },
        { metric: 'door_alarm', value: (b.u8(0) & 0x02) !== 0, ts },
        { metric: 'door_open_count', value: b.u24be(1), ts },
        { metric: 'door_open_duration_min', value: b.u24be(4), ts },
      ],
      events: [],
    };
  },
  examples: [
    { description: 'Distance Detection (corpus: configuration reply on FPort 4)', port: 4, hex: '31618E5740618E', readings: {} },
    {
      description: 'door opened, 12 openings so far, logged at 2026-11-22T08:00:00Z', port: 2, hex: '0100000C0000036B02A100',
      series: [
        { metric: 'door_open', ts: '2026-11-22T08:00:00Z', value: true }, { metric: 'door_alarm', ts: '2026-11-22T08:00:00Z', value: false },
        { metric: 'door_open_count', ts: '2026-11-22T08:00:00Z', value: 12 }, { metric: 'door_open_duration_min', ts: '2026-11-22T08:00:00Z', value: 3 },
      ],
    },
    { description: 'truncated event', port: 2, hex: '01000000', error: 'frame too short' },
  ],
});
