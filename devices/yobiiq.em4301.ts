import { defineModel } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { parseYobiiq, tariffReadings, YOBIIQ_PORTS } from './lib/yobiiq-tlv.js';

const TYPES = {
  0x01: { size: 4, name: 'timestamp' }, 0x03: { size: 4, name: 'dataloggerTimestamp' },
  0x04: { size: 4, name: 'importT1' }, 0x05: { size: 4, name: 'importT2' }, 0x06: { size: 4, name: 'exportT1' }, 0x07: { size: 4, name: 'exportT2' },
  0x0a: { size: 1, name: 'modbusError' },
};

export default defineModel({
  id: 'yobiiq.em4301',
  vendor: 'YOBIIQ',
  name: 'EM4301 three-phase energy meter (MID, CT)',
  kind: 'electricity_meter',
  description: 'Imported and exported active energy per tariff (T1, T2) and their sums, at the meter\'s own timestamp.',
  format: 'binary',
  ports: YOBIIQ_PORTS,
  reportIntervalS: 900,
  metrics: ['energy_import_kwh', 'energy_export_kwh', 'energy_import_t1_kwh', 'energy_import_t2_kwh', 'energy_export_t1_kwh', 'energy_export_t2_kwh', 'hardware_fault'],
  deviations: [
    'Energy in Wh becomes kWh. The tariff sum (energy_import_kwh, energy_export_kwh) is stored only when every tariff of that direction is in the frame.',
    'A non-zero modbusErrorCode (the meter did not answer the reader) is stored as hardware_fault. The codec\'s constant fields (codecVersion, genericModel, productCode, manufacturer) are not readings.',
    'Readings take the frame\'s timestamp (type 0x01); dataloggerTimestamp is when the reader last logged, not when the values were measured.',
  ],
  decode: (input) => {
    const v = parseYobiiq(input, TYPES);
    const ts = v.has('timestamp') ? v.get('timestamp')! * 1000 : undefined;
    const readings: DecodedReading[] = [];
    const at = (metric: string, value: number | boolean) => readings.push({ metric, value, ...(ts !== undefined ? { ts } : {}) });
    tariffReadings(v, { import: ['importT1', 'importT2'], export: ['exportT1', 'exportT2'] }, at);
    if (v.has('modbusError')) at('hardware_fault', v.get('modbusError') !== 0);
    return { readings, events: [] };
  },
  examples: [
    {
      description: 'Energy registers (corpus)', port: 1, hex: '0101673B240C0203673B21B4030403080F040405000000000506000000000607000000000B0A00',
      series: [
        ['energy_import_t1_kwh', 50859.78], ['energy_import_t2_kwh', 0], ['energy_import_kwh', 50859.78],
        ['energy_export_t1_kwh', 0], ['energy_export_t2_kwh', 0], ['energy_export_kwh', 0], ['hardware_fault', false],
      ].map(([metric, value]) => ({ metric: metric as string, ts: '2024-11-18T11:25:00Z', value: value as number | boolean })),
    },
    { description: 'unknown type', port: 1, hex: '0163000000', error: 'unknown data type 0x63' },
  ],
});
