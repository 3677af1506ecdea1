import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { Bytes, requirePort, round } from './lib/bytes.js';
import { draginoBattery } from './lib/dragino.js';

export default defineModel({
  id: 'dragino.ldds75',
  vendor: 'Dragino',
  name: 'LDDS75 LoRaWAN distance detection sensor (fw v1.1.4)',
  kind: 'bin_fill',
  description: 'Ultrasonic distance to the waste surface; fill_pct from the device attribute binDepthMm. An optional DS18B20 probe reports temperature.',
  format: 'binary',
  ports: [2],
  reportIntervalS: 1200,
  lowBatteryV: 3.1,
  metrics: ['distance_mm', 'fill_pct', 'battery_v', 'temperature_c'],
  attributes: { binDepthMm: 'distance from the sensor to the bin floor, mm' },
  vendorCodec: {
    codec: 'vendor/dragino/ldds20-114.js',
    commit: '8566e9a',
    vectors: ['dragino.ldds75.jsonl'],
    expect: (d) => [
      { metric: 'battery_v', value: d.Bat },
      // "No Sensor" (0) and "Invalid Reading" (20) are the vendor's words for its sentinels: no distance
      ...(/^\d+ mm$/.test(d.Distance) ? [{ metric: 'distance_mm', value: parseInt(d.Distance, 10) }] : []),
      { metric: 'temperature_c', value: parseFloat(d.TempC_DS18B20) },
    ],
  },
  deviations: [
    'Distance 0 ("No Sensor") and 20 ("Invalid Reading") are vendor sentinels, not distances: the battery reading is kept, no distance_mm (and so no fill_pct) is stored, so a broken probe never reads as a full bin. The vendor codec gives the words instead of a number, so no vector differs.',
    {
      id: 'no-probe-temperature-zero',
      reason: 'Without a DS18B20 probe the frame carries 0x0000, which the vendor codec prints as "0.00": no temperature_c is stored for a raw 0 (a probe reading exactly 0.0 °C is lost with it; the vendor gives no presence flag to tell them apart, and a bin that reads 0.0 °C all year is the worse error).',
      commit: '8566e9a',
      applies: (v) => v.hex.slice(10, 14) === '0000',
      expect: (exp) => (exp === 'error' ? exp : exp.filter((r) => r.metric !== 'temperature_c')),
    },
    'Interrupt_flag (the uplink was triggered by the interrupt pin) and Sensor_flag are frame diagnostics, not readings.',
  ],
  decode: ({ payload, port }) => {
    requirePort(port, [2]);
    const b = new Bytes(payload);
    if (payload.length !== 8) throw new DecodeError(`frame must have 8 bytes, has ${payload.length}`);
    const readings: DecodedReading[] = [{ metric: 'battery_v', value: draginoBattery(b) }];
    const distance = b.u16be(2);
    if (distance !== 0 && distance !== 20) readings.push({ metric: 'distance_mm', value: distance });
    const t = b.i16be(5);
    if (t !== 0) readings.push({ metric: 'temperature_c', value: round(t / 10, 1) });
    return { readings, events: [] };
  },
  examples: [
    { description: 'Distance 2799 mm (corpus) in a 3 m bin', port: 2, hex: '0D3B0AEF00000001', attributes: { binDepthMm: 3000 }, readings: { battery_v: 3.387, distance_mm: 2799, fill_pct: 6.7 } },
    { description: 'no sensor: battery only', port: 2, hex: '0D3B000000000000', readings: { battery_v: 3.387 } },
    { description: 'probe at -4.5 °C', port: 2, hex: '0D3B01F400FFD301', readings: { battery_v: 3.387, distance_mm: 500, temperature_c: -4.5 } },
    { description: 'other port', port: 3, hex: '0D3B0AEF00000001', error: 'unknown FPort 3' },
  ],
});
