import { defineModel } from '../src/core/model.js';
import type { VendorVector } from '../src/core/model.js';
import { ELSYS, ELSYS_CODEC, ELSYS_COMMIT, ELSYS_PORTS, elsysCommonExpect, elsysDecoder, elsysDeviations, elsysHumidity, elsysTemperature, elsysVdd } from './lib/elsys.js';

const kind = (k: string) => (v: VendorVector) => v.kind === k;

export default defineModel({
  id: 'elsys.elt-ultrasonic',
  vendor: 'Elsys',
  name: 'ELT Ultrasonic distance sensor (bins, tanks)',
  kind: 'bin_fill',
  description: 'Ultrasonic distance to the surface of a bin or tank (fill_pct from the device attribute binDepthMm), with the enclosure\'s temperature, humidity and battery voltage.',
  format: 'binary',
  ports: [...ELSYS_PORTS],
  // Elsys periodic report (time base) of 1 h unless configured otherwise
  reportIntervalS: 3600,
  // 3.6 V lithium AA cells
  lowBatteryV: 3.2,
  metrics: ['distance_mm', 'fill_pct', 'temperature_c', 'humidity_pct', 'battery_v'],
  attributes: { binDepthMm: 'distance from the sensor to the bin or tank floor, mm' },
  vendorCodec: {
    codec: ELSYS_CODEC,
    commit: ELSYS_COMMIT,
    vectors: ['elsys.elt-ultrasonic.jsonl'],
    attributes: { binDepthMm: 2000 },
    expect: (d) => [
      ...elsysCommonExpect(d),
      ...(d.distance !== undefined ? [{ metric: 'distance_mm', value: d.distance }] : []),
    ],
  },
  deviations: [
    ...elsysDeviations(kind),
    'Barometric pressure (type 0x14) is the enclosure\'s barometer, with no bearing on the level; not stored.',
    'Accelerometer x/y/z (0x03, raw 1/63 g) is a mounting diagnostic with no vocabulary name; not stored.',
    'Types of other Elsys sensors (CO2, light, GPS …) are skipped by their sizes and not stored.',
  ],
  decode: elsysDecoder({
    [ELSYS.TEMP]: elsysTemperature,
    [ELSYS.RH]: elsysHumidity,
    [ELSYS.VDD]: elsysVdd,
    [ELSYS.DISTANCE]: (b, at) => [{ metric: 'distance_mm', value: b.u16be(at) }],
  }),
  examples: [
    {
      description: 'ELT Ultrasonic temperature, humidity, accelerometer, distance and pressure (vendor example, commented out in the codec YAML) in a 10 m tank',
      port: 1, hex: '0100E202290301270514060101110E2311', attributes: { binDepthMm: 10000 },
      readings: { temperature_c: 22.6, humidity_pct: 41, distance_mm: 8977, fill_pct: 10.2 },
    },
    { description: 'bin 1.2 m deep, 300 mm to the surface, frost', port: 5, hex: '01FF9C070E100E012C', attributes: { binDepthMm: 1200 }, readings: { temperature_c: -10, battery_v: 3.6, distance_mm: 300, fill_pct: 75 } },
    { description: 'truncated distance', port: 5, hex: '0E01', error: 'frame too short' },
    { description: 'wrong port', port: 2, hex: '0E012C', error: 'unknown FPort 2' },
  ],
});
