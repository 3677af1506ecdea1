import { defineModel } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { round } from './lib/bytes.js';
import { parseYobiiq, tariffReadings, YOBIIQ_PORTS, type YobiiqType } from './lib/yobiiq-tlv.js';

/** em4301.js (7917419) CONFIG_MEASUREMENT.TYPES: every type, so none dead-letters a frame */
const TYPES: Record<number, YobiiqType> = {
  0x00: { size: 4, name: 'index' }, 0x01: { size: 4, name: 'timestamp' }, 0x03: { size: 4, name: 'dataloggerTimestamp' },
  0x04: { size: 4, name: 'importT1' }, 0x05: { size: 4, name: 'importT2' }, 0x06: { size: 4, name: 'exportT1' }, 0x07: { size: 4, name: 'exportT2' },
  0x08: { size: 4, name: 'reactiveImportT1' }, 0x09: { size: 4, name: 'reactiveImportT2' }, 0x0a: { size: 4, name: 'reactiveExportT1' }, 0x0b: { size: 4, name: 'reactiveExportT2' },
  0x0c: { size: 4, name: 'voltageL1', signed: true, resolution: 0.1 }, 0x0d: { size: 4, name: 'voltageL2', signed: true, resolution: 0.1 },
  0x0e: { size: 4, name: 'voltageL3', signed: true, resolution: 0.1 },
  0x0f: { size: 4, name: 'currentL123', signed: true }, 0x10: { size: 4, name: 'currentL1', signed: true }, 0x11: { size: 4, name: 'currentL2', signed: true },
  0x12: { size: 4, name: 'currentL3', signed: true },
  0x13: { size: 4, name: 'powerL123', signed: true }, 0x14: { size: 4, name: 'powerL1', signed: true }, 0x15: { size: 4, name: 'powerL2', signed: true },
  0x16: { size: 4, name: 'powerL3', signed: true },
  0x17: { size: 4, name: 'reactivePowerL1', signed: true }, 0x18: { size: 4, name: 'reactivePowerL2', signed: true }, 0x19: { size: 4, name: 'reactivePowerL3', signed: true },
  0x1a: { size: 4, name: 'apparentPowerL1', signed: true }, 0x1b: { size: 4, name: 'apparentPowerL2', signed: true }, 0x1c: { size: 4, name: 'apparentPowerL3', signed: true },
  0x1d: { size: 1, name: 'powerFactorL1', signed: true }, 0x1e: { size: 1, name: 'powerFactorL2', signed: true }, 0x1f: { size: 1, name: 'powerFactorL3', signed: true },
  0x20: { size: 2, name: 'phaseAngleL1', signed: true }, 0x21: { size: 2, name: 'phaseAngleL2', signed: true }, 0x22: { size: 2, name: 'phaseAngleL3', signed: true },
  0x23: { size: 2, name: 'frequency', signed: true },
  0x24: { size: 4, name: 'totalSystemActivePower' }, 0x25: { size: 4, name: 'totalSystemReactivePower' }, 0x26: { size: 4, name: 'totalSystemApparentPower' },
  0x27: { size: 4, name: 'maxDemandL1', signed: true }, 0x28: { size: 4, name: 'maxDemandL2', signed: true }, 0x29: { size: 4, name: 'maxDemandL3', signed: true },
  0x2a: { size: 4, name: 'averagePower', signed: true }, 0x2b: { size: 4, name: 'midYearOfCertification' },
  0xf0: { size: 2, name: 'manufacturedYear', opaque: true }, 0xf1: { size: 2, name: 'firmwareVersion', opaque: true }, 0xf2: { size: 2, name: 'hardwareVersion', opaque: true },
};
/** channel 11, type 0x0A is the reader's Modbus error code, not reactive energy */
const SPECIAL: Record<number, YobiiqType> = { 0x0b0a: { size: 1, name: 'modbusError' } };

/** vendor fields with no vocabulary name: power-quality diagnostics (see the deviation) */
const DIAGNOSTICS = ['frequency', 'powerFactorL1', 'powerFactorL2', 'powerFactorL3', 'phaseAngleL1', 'phaseAngleL2', 'phaseAngleL3',
  'reactivePowerL1', 'reactivePowerL2', 'reactivePowerL3', 'apparentPowerL1', 'apparentPowerL2', 'apparentPowerL3',
  'totalSystemReactivePower', 'totalSystemApparentPower', 'maximumL1CurrentDemand', 'maximumL2CurrentDemand', 'maximumL3CurrentDemand', 'averagePower'];

const vendorValue = (x: unknown): number | undefined => (typeof x === 'number' ? x : typeof x === 'object' && x !== null && typeof (x as { data?: unknown }).data === 'number' ? (x as { data: number }).data : undefined);

export default defineModel({
  id: 'yobiiq.em4301',
  vendor: 'YOBIIQ',
  name: 'EM4301 three-phase energy meter (MID, CT)',
  kind: 'electricity_meter',
  description: 'Imported and exported active and reactive energy per tariff (T1, T2) and their sums, phase voltages, currents and active power, at the meter\'s own timestamp.',
  format: 'binary',
  ports: YOBIIQ_PORTS,
  reportIntervalS: 900,
  metrics: [
    'energy_import_kwh', 'energy_export_kwh', 'energy_import_t1_kwh', 'energy_import_t2_kwh', 'energy_export_t1_kwh', 'energy_export_t2_kwh',
    'reactive_energy_import_kvarh', 'reactive_energy_export_kvarh', 'reactive_energy_import_t1_kvarh', 'reactive_energy_import_t2_kvarh',
    'reactive_energy_export_t1_kvarh', 'reactive_energy_export_t2_kvarh',
    'voltage_l1_v', 'voltage_l2_v', 'voltage_l3_v', 'current_a', 'current_l1_a', 'current_l2_a', 'current_l3_a', 'power_w', 'power_l1_w', 'power_l2_w', 'power_l3_w',
    'hardware_fault',
  ],
  vendorCodec: {
    codec: 'vendor/yobiiq/em4301.js',
    commit: '7917419',
    vectors: ['yobiiq.em4301.jsonl'],
    expect: (d) => {
      const ts = typeof d.timestamp === 'number' ? d.timestamp * 1000 : undefined;
      const out: DecodedReading[] = [];
      const put = (metric: string, x: unknown, scale = 1) => {
        const v = vendorValue(x);
        if (v !== undefined) out.push({ metric, value: round(v * scale, 6), ...(ts !== undefined ? { ts } : {}) });
      };
      const sum = (metric: string, a: unknown, b: unknown) => {
        if (vendorValue(a) !== undefined && vendorValue(b) !== undefined) put(metric, vendorValue(a)! + vendorValue(b)!, 1 / 1000);
      };
      put('energy_import_t1_kwh', d.activeEnergyImportL123T1, 1 / 1000); put('energy_import_t2_kwh', d.activeEnergyImportL123T2, 1 / 1000);
      put('energy_export_t1_kwh', d.activeEnergyExportL123T1, 1 / 1000); put('energy_export_t2_kwh', d.activeEnergyExportL123T2, 1 / 1000);
      sum('energy_import_kwh', d.activeEnergyImportL123T1, d.activeEnergyImportL123T2); sum('energy_export_kwh', d.activeEnergyExportL123T1, d.activeEnergyExportL123T2);
      put('reactive_energy_import_t1_kvarh', d.reactiveEnergyImportL123T1, 1 / 1000); put('reactive_energy_import_t2_kvarh', d.reactiveEnergyImportL123T2, 1 / 1000);
      put('reactive_energy_export_t1_kvarh', d.reactiveEnergyExportL123T1, 1 / 1000); put('reactive_energy_export_t2_kvarh', d.reactiveEnergyExportL123T2, 1 / 1000);
      sum('reactive_energy_import_kvarh', d.reactiveEnergyImportL123T1, d.reactiveEnergyImportL123T2);
      sum('reactive_energy_export_kvarh', d.reactiveEnergyExportL123T1, d.reactiveEnergyExportL123T2);
      put('voltage_l1_v', d.voltageL1N); put('voltage_l2_v', d.voltageL2N); put('voltage_l3_v', d.voltageL3N);
      put('current_a', d.currentL123, 1 / 1000); put('current_l1_a', d.currentL1, 1 / 1000); put('current_l2_a', d.currentL2, 1 / 1000); put('current_l3_a', d.currentL3, 1 / 1000);
      put('power_w', d.activePowerL123); put('power_l1_w', d.activePowerL1); put('power_l2_w', d.activePowerL2); put('power_l3_w', d.activePowerL3);
      put('power_w', d.totalSystemActivePower, 1000);
      if (typeof d.modbusErrorCode === 'number') out.push({ metric: 'hardware_fault', value: d.modbusErrorCode !== 0, ...(ts !== undefined ? { ts } : {}) });
      return out;
    },
  },
  deviations: [
    'Energy in Wh (varh) becomes kWh (kvarh), currents in mA become A. The tariff sums (energy_import_kwh, energy_export_kwh, reactive_…) are stored only when every tariff of that direction is in the frame.',
    'A non-zero modbusErrorCode (the meter did not answer the reader) is stored as hardware_fault. The codec\'s constant fields (codecVersion, genericModel, productCode, manufacturer) and the index / version / certification-year registers are not readings.',
    'Readings take the frame\'s timestamp (type 0x01); dataloggerTimestamp is when the reader last logged, not when the values were measured.',
    'A data type outside the vendor\'s table (newer firmware) ends the frame as in the vendor codec: the records before it are stored; a frame that starts with one is a dead letter.',
    {
      id: 'power-quality-not-stored',
      reason: `Power-quality diagnostics (${DIAGNOSTICS.join(', ')}) have no vocabulary name and drive no estate alert or bill; they are not stored. Energies, voltages, currents and active power are.`,
      commit: '7917419',
      applies: (v) => DIAGNOSTICS.some((k) => v.vendor.data?.[k] !== undefined),
    },
  ],
  decode: (input) => {
    const { values: v } = parseYobiiq(input, TYPES, SPECIAL);
    const ts = v.has('timestamp') ? v.get('timestamp')! * 1000 : undefined;
    const readings: DecodedReading[] = [];
    const at = (metric: string, value: number | boolean) => readings.push({ metric, value, ...(ts !== undefined ? { ts } : {}) });
    const put = (metric: string, name: string, scale = 1) => { if (v.has(name)) at(metric, round(v.get(name)! * scale, 6)); };
    tariffReadings(v, { import: ['importT1', 'importT2'], export: ['exportT1', 'exportT2'] }, at);
    tariffReadings(v, { import: ['reactiveImportT1', 'reactiveImportT2'], export: ['reactiveExportT1', 'reactiveExportT2'] }, at, 'reactive_energy');
    for (const l of [1, 2, 3]) {
      put(`voltage_l${l}_v`, `voltageL${l}`);
      put(`current_l${l}_a`, `currentL${l}`, 1 / 1000);
      put(`power_l${l}_w`, `powerL${l}`);
    }
    put('current_a', 'currentL123', 1 / 1000);
    put('power_w', 'powerL123');
    put('power_w', 'totalSystemActivePower', 1000);
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
    {
      description: 'instantaneous values (issue 12 repro: type 0x0C dead-lettered the frame): vendor 239.4 V and 4402 mA', port: 1, hex: '0101673B240C020C0000095A051000001132',
      series: [{ metric: 'voltage_l1_v', ts: '2024-11-18T11:25:00Z', value: 239.4 }, { metric: 'current_l1_a', ts: '2024-11-18T11:25:00Z', value: 4.402 }],
    },
    {
      description: 'reactive energy on channel 10 type 0x0A is not the Modbus error code', port: 1, hex: '0101673B240C070800000064080900000032090A000000C80A0B00000001',
      series: [
        ['reactive_energy_import_t1_kvarh', 0.1], ['reactive_energy_import_t2_kvarh', 0.05], ['reactive_energy_import_kvarh', 0.15],
        ['reactive_energy_export_t1_kvarh', 0.2], ['reactive_energy_export_t2_kvarh', 0.001], ['reactive_energy_export_kvarh', 0.201],
      ].map(([metric, value]) => ({ metric: metric as string, ts: '2024-11-18T11:25:00Z', value: value as number })),
    },
    {
      description: 'a type outside the vendor table ends the frame; the energy before it is kept', port: 1, hex: '0101673B240C0204000003E8036300000000',
      series: [{ metric: 'energy_import_t1_kwh', ts: '2024-11-18T11:25:00Z', value: 1 }],
    },
    { description: 'unknown type first: nothing to decode', port: 1, hex: '0163000000', error: 'unknown data type 0x63' },
    { description: 'truncated value', port: 1, hex: '0101673B240C0204000003', error: 'frame too short' },
  ],
});
