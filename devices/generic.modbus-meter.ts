import { defineModel } from '../src/core/model.js';
import { MODBUS_MAP_ATTRIBUTES, modbusDevice } from './lib/wired.js';

const perTariff = [1, 2, 3, 4].flatMap((t) => [`energy_import_t${t}_kwh`, `energy_export_t${t}_kwh`]);
const perPhase = [1, 2, 3].flatMap((l) => [`voltage_l${l}_v`, `current_l${l}_a`, `power_l${l}_w`]);
const metrics = ['energy_import_kwh', 'energy_export_kwh', 'power_w', 'voltage_v', 'current_a', ...perTariff, ...perPhase];
const { wired, decode } = modbusDevice({ metrics });
const REGISTERS = {
  unitId: 3,
  registers: [
    { metric: 'energy_import_kwh', address: 0x0100, type: 'uint32', scale: 0.01 },
    { metric: 'voltage_v', address: 0x0000, scale: 0.1 },
    { metric: 'current_a', address: 0x0001, scale: 0.01 },
    { metric: 'power_w', address: 0x0002, type: 'int32', wordOrder: 'little' },
  ],
};

export default defineModel({
  id: 'generic.modbus-meter',
  vendor: 'Generic',
  name: 'Modbus electricity meter (register map from attributes)',
  kind: 'electricity_meter',
  // register maps come from the device's attributes: no vendor codec to depart from
  deviations: [],
  description: 'Sub-meters and pump-room power meters on Modbus RTU (through a DTU) or Modbus TCP: energy, power, voltage and current from the device\'s `registers` attribute.',
  format: 'binary',
  reportIntervalS: 30,
  metrics,
  attributes: MODBUS_MAP_ATTRIBUTES,
  wired,
  decode,
  examples: [
    {
      description: 'voltage, current, power (int32, low word first) at 0-3, energy (uint32 x0.01) at 0x100',
      attributes: REGISTERS, hex: '0300000808fd01a5fc4affff03010004000f9de0',
      readings: { energy_import_kwh: 10234.56, voltage_v: 230.1, current_a: 4.21, power_w: -950 },
    },
    { description: 'a metric of another kind in the map', attributes: { registers: [{ metric: 'ph', address: 0 }] }, hex: '030000020000', error: 'metric ph is not one this model emits' },
  ],
});
