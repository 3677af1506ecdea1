import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { requirePort, round } from './lib/bytes.js';
import { dateG, dateTimeF, intLE, parseWmbus, uintLE } from './lib/wmbus.js';

/** Kamstrup info codes (VIF 0xFF, VIFE 0x25), bit -> metric */
const INFO_CODES: Array<[bit: number, metric: string]> = [
  [0x0001, 'meter_dry'], [0x0002, 'reverse_flow'], [0x0004, 'leak'], [0x0008, 'burst'], [0x0010, 'tamper'], [0x0020, 'battery_low'],
];

export default defineModel({
  id: 'kamstrup.flowiq2200',
  vendor: 'Kamstrup',
  name: 'flowIQ 2200 water meter (wireless M-Bus over LoRaWAN)',
  kind: 'water_meter',
  description: 'Volume index, flow, water temperature and the meter\'s info codes (dry, reverse flow, leak, burst, tamper, low battery), with an hourly volume profile: one reading per hour of the profile, at the meter\'s own timestamps.',
  format: 'binary',
  ports: [1],
  reportIntervalS: 3600,
  metrics: ['water_volume_m3', 'water_flow_m3h', 'temperature_c', 'meter_dry', 'reverse_flow', 'leak', 'burst', 'tamper', 'battery_low'],
  deviations: [
    'Minimum and maximum values (DIF function 2 and 1: "Min/Max Volume flow", "Min/Max Flow temperature") are statistics of the period, not the current value: not stored.',
    'Invalid raw values (0x80 for an int8…) are not stored, where the vendor codec emits Value null with a warning.',
    'The meter\'s timestamps carry no zone (the vendor output has no "Z"): they are taken as UTC, as the codec does.',
    'Low/High Ambient Temperature info codes and ALD last day have no vocabulary name: not stored.',
  ],
  decode: ({ payload, port }) => {
    requirePort(port, [1]);
    const records = parseWmbus(payload);
    let ts: number | undefined;
    for (const r of records) {
      if (r.vif === 0x6d && r.data.length === 4 && r.fn === 0) ts = dateTimeF(r.data);
      else if (r.vif === 0x6c && r.data.length === 2 && ts === undefined) ts = dateG(r.data);
    }
    const readings: DecodedReading[] = [];
    const at = (metric: string, value: number | boolean) => readings.push({ metric, value, ...(ts !== undefined ? { ts } : {}) });
    let base: { liters: number; scale: number } | undefined;
    for (const r of records) {
      // Kamstrup writes its info codes with DIF function bits set (0x52): they are flags, not a statistic
      if (r.vif === 0xff && r.vife[0] === 0x25) {
        const code = uintLE(r.data);
        for (const [bit, metric] of INFO_CODES) at(metric, (code & bit) !== 0);
        continue;
      }
      if (r.fn !== 0) continue; // min / max / error-state values
      const vif = r.vif & 0x7f;
      if (vif >= 0x10 && vif <= 0x17 && r.vif !== 0x93) {
        const scale = 10 ** ((vif & 0x07) - 6); // m3 per unit
        const v = uintLE(r.data);
        if (r.storage === 0 || r.storage === 1) {
          at('water_volume_m3', round(v * scale, 6));
          base = { liters: v, scale };
        }
      } else if (vif >= 0x38 && vif <= 0x3f) {
        const v = intLE(r.data);
        if (v !== undefined) at('water_flow_m3h', round(v * 10 ** ((vif & 0x07) - 6), 6));
      } else if (vif >= 0x58 && vif <= 0x5b) {
        const v = intLE(r.data);
        if (v !== undefined) at('temperature_c', round(v * 10 ** ((vif & 0x03) - 3), 3));
      } else if (r.vif === 0x93 && r.vife[0] === 0x13) {
        // inverse compact profile: spacing control, spacing value, then deltas stepping back from the base volume
        if (!base || ts === undefined) throw new DecodeError('volume profile without a base volume and time');
        const ctrl = r.data[0];
        const spacing = r.data[1];
        if (ctrl === undefined || spacing === undefined) throw new DecodeError('volume profile too short');
        const size = ctrl & 0x0f;
        const unit = (ctrl >> 4) & 0x03;
        const stepMs = spacing * [1000, 60_000, 3_600_000, 86_400_000][unit]!;
        if (size < 1 || size > 4 || (r.data.length - 2) % size !== 0) throw new DecodeError(`volume profile element size ${size} does not fit ${r.data.length - 2} bytes`);
        let liters = base.liters;
        for (let k = 2, n = 1; k < r.data.length; k += size, n++) {
          liters -= uintLE(r.data.subarray(k, k + size));
          if (liters < 0) throw new DecodeError('volume profile steps below zero');
          readings.push({ metric: 'water_volume_m3', value: round(liters * base.scale, 6), ts: ts - n * stepMs });
        }
      }
    }
    return { readings, events: [] };
  },
  examples: [
    {
      description: 'Volume 0.236 m3 with info codes (corpus)', port: 1, hex: '78446D0020F32A4413EC00000052FF25100042FF1C0500623B0000523B0000615B80515B80',
      series: [
        ['water_volume_m3', 0.236], ['meter_dry', false], ['reverse_flow', false], ['leak', false], ['burst', false], ['tamper', true], ['battery_low', false],
      ].map(([metric, value]) => ({ metric: metric as string, ts: '2023-10-19T00:00:00Z', value: value as number | boolean })),
    },
    {
      description: 'Hourly volume profile (corpus)', port: 1, hex: '7A08000000446D002CFD284413C1AA77004D9313186201270122012201260122012201210127012201220127012F',
      series: [7842.497, 7842.202, 7841.912, 7841.622, 7841.328, 7841.038, 7840.748, 7840.459, 7840.164, 7839.874, 7839.584, 7839.289]
        .map((value, h) => ({ metric: 'water_volume_m3', ts: new Date(Date.UTC(2023, 7, 29, 12 - h)).toISOString(), value })),
    },
    { description: 'encrypted (security mode 5)', port: 1, hex: '7A0800000500446D002CFD28', error: 'encrypted' },
    { description: 'truncated record', port: 1, hex: '784413EC00', error: 'frame too short' },
  ],
});
