import { defineModel } from '../src/core/model.js';
import type { VendorVector } from '../src/core/model.js';
import { ELSYS, ELSYS_CODEC, ELSYS_COMMIT, ELSYS_PORTS, elsysCommonExpect, elsysDecoder, elsysDeviations, elsysHumidity, elsysTemperature, elsysVdd } from './lib/elsys.js';

const kind = (k: string) => (v: VendorVector) => v.kind === k;

export default defineModel({
  id: 'elsys.ems-door',
  vendor: 'Elsys',
  name: 'EMS Door opening sensor (reed switch, accelerometer, temperature, humidity)',
  kind: 'door_access',
  description: 'Door state from the reed switch (digital input, 0 = closed, 1 = open), the running count of openings (absolute pulse count), temperature, humidity and battery voltage.',
  format: 'binary',
  ports: [...ELSYS_PORTS],
  // Elsys periodic report (time base) of 1 h unless configured otherwise; door changes are sent at once
  reportIntervalS: 3600,
  // one 3.6 V lithium AA
  lowBatteryV: 3.2,
  metrics: ['door_open', 'door_open_count', 'temperature_c', 'humidity_pct', 'battery_v'],
  vendorCodec: {
    codec: ELSYS_CODEC,
    commit: ELSYS_COMMIT,
    vectors: ['elsys.ems-door.jsonl'],
    expect: (d) => [
      ...elsysCommonExpect(d),
      ...(d.digital !== undefined ? [{ metric: 'door_open', value: d.digital !== 0 }] : []),
      ...(d.pulseAbs !== undefined ? [{ metric: 'door_open_count', value: d.pulseAbs }] : []),
    ],
  },
  deviations: [
    ...elsysDeviations(kind),
    {
      id: 'pulse-abs-sign',
      reason: 'elsys.js builds the 4-byte absolute pulse count with (b << 24) | …, a signed 32-bit operation: counts of 2^31 and more come out negative. The count is unsigned (0 … 0xFFFFFFFF in Elsys\'s own comment); the gateway stores the unsigned value.',
      commit: ELSYS_COMMIT,
      applies: (v) => typeof v.vendor.data?.pulseAbs === 'number' && v.vendor.data.pulseAbs < 0,
      expect: (exp) => (exp === 'error' ? exp : exp.map((r) => (r.metric === 'door_open_count' ? { ...r, value: (r.value as number) + 2 ** 32 } : r))),
    },
    'Relative pulse count (type 0x0A, openings since the last report) is not stored: door_open_count, the absolute count (0x0B), gives the same by difference and survives lost uplinks.',
    'Accelerometer x/y/z (0x03, raw 1/63 g) and motion count (0x0F) are movement diagnostics with no vocabulary name; they are not stored.',
    'Types of other Elsys sensors (CO2, light, GPS …) are skipped by their sizes and not stored.',
  ],
  decode: elsysDecoder({
    [ELSYS.TEMP]: elsysTemperature,
    [ELSYS.RH]: elsysHumidity,
    [ELSYS.VDD]: elsysVdd,
    [ELSYS.EXT_DIGITAL]: (b, at) => [{ metric: 'door_open', value: b.u8(at) !== 0 }],
    [ELSYS.PULSE1_ABS]: (b, at) => [{ metric: 'door_open_count', value: b.u32be(at) }],
  }),
  examples: [
    { description: 'EMS Door accelerometer and door switch (vendor example)', port: 1, hex: '030127050A11010B000A0011', readings: { door_open_count: 655377 } },
    {
      description: 'door open: temperature, humidity, battery, state and count', port: 5, hex: '0100E20229070E100D010A00010B0000002A',
      readings: { temperature_c: 22.6, humidity_pct: 41, battery_v: 3.6, door_open: true, door_open_count: 42 },
    },
    { description: 'door closed, below zero', port: 5, hex: '01FF9C0D00', readings: { temperature_c: -10, door_open: false } },
    { description: 'count past 2^31 stays unsigned', port: 5, hex: '0B80000000', readings: { door_open_count: 2147483648 } },
    { description: 'truncated temperature', port: 5, hex: '0100', error: 'frame too short' },
    { description: 'unknown type', port: 5, hex: '0D013E00', error: 'unknown Elsys data type 0x3e' },
    { description: 'wrong port', port: 6, hex: '0D01', error: 'unknown FPort 6' },
  ],
});
