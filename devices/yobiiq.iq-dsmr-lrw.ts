import { defineModel } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { round } from './lib/bytes.js';
import { parseYobiiq, tariffReadings, YOBIIQ_PORTS } from './lib/yobiiq-tlv.js';

const TYPES = {
  0xfe: { size: 4, name: 'deviceTimestamp' }, 0x02: { size: 4, name: 'telegramTimestamp' },
  0x06: { size: 4, name: 'importT1' }, 0x08: { size: 4, name: 'importT2' }, 0x0a: { size: 4, name: 'exportT1' }, 0x0c: { size: 4, name: 'exportT2' },
  0x22: { size: 4, name: 'voltageL1', signed: true }, 0x26: { size: 4, name: 'currentL1', signed: true },
};

export default defineModel({
  id: 'yobiiq.iq-dsmr-lrw',
  vendor: 'YOBIIQ',
  name: 'IQ-DSMR-LRW P1/DSMR smart electricity meter reader',
  kind: 'electricity_meter',
  description: 'Reads a smart meter\'s P1 port: energy delivered to the client (import) and by the client (export) per tariff with their sums, voltage and current of phase L1.',
  format: 'binary',
  ports: YOBIIQ_PORTS,
  reportIntervalS: 900,
  metrics: ['energy_import_kwh', 'energy_export_kwh', 'energy_import_t1_kwh', 'energy_import_t2_kwh', 'energy_export_t1_kwh', 'energy_export_t2_kwh', 'voltage_l1_v', 'current_l1_a'],
  deviations: [
    '"Delivered to client" is import, "delivered by client" is export; Wh become kWh; tariff sums only when both tariffs are in the frame.',
    'Readings take deviceTimestamp (UTC). The DSMR telegram timestamp is the meter\'s local time written as if it were UTC (here one hour ahead in winter), so it is not used.',
  ],
  decode: (input) => {
    const v = parseYobiiq(input, TYPES);
    const ts = v.has('deviceTimestamp') ? v.get('deviceTimestamp')! * 1000 : undefined;
    const readings: DecodedReading[] = [];
    const at = (metric: string, value: number) => readings.push({ metric, value, ...(ts !== undefined ? { ts } : {}) });
    tariffReadings(v, { import: ['importT1', 'importT2'], export: ['exportT1', 'exportT2'] }, at);
    if (v.has('voltageL1')) at('voltage_l1_v', round(v.get('voltageL1')! / 10, 1));
    if (v.has('currentL1')) at('current_l1_a', v.get('currentL1')!);
    return { readings, events: [] };
  },
  examples: [
    {
      description: 'P1 telegram (corpus)', port: 1, hex: 'FFFE6729D530DD026729E2F4DD0601EB1DB8DD080243F1FEDD0A0000009BDD0C00000000DD22000008D4DD2600000003',
      series: [
        ['energy_import_t1_kwh', 32185.784], ['energy_import_t2_kwh', 38007.294], ['energy_import_kwh', 70193.078],
        ['energy_export_t1_kwh', 0.155], ['energy_export_t2_kwh', 0], ['energy_export_kwh', 0.155], ['voltage_l1_v', 226], ['current_l1_a', 3],
      ].map(([metric, value]) => ({ metric: metric as string, ts: '2024-11-05T08:20:00Z', value: value as number })),
    },
    { description: 'truncated value', port: 1, hex: 'DD0601EB', error: 'frame too short' },
  ],
});
