import { defineModel } from '../src/core/model.js';
import { MODBUS_MAP_ATTRIBUTES, modbusDevice } from './lib/wired.js';

const metrics = ['ph', 'turbidity_ntu', 'free_chlorine_mg_l', 'conductivity_us_cm', 'tds_mg_l', 'orp_mv', 'dissolved_oxygen_mg_l', 'oxygen_saturation_pct', 'water_depth_mm', 'temperature_c'];
const { wired, decode } = modbusDevice({ metrics });
const REGISTERS = {
  unitId: 1,
  registers: [
    { metric: 'ph', address: 0, scale: 0.01 },
    { metric: 'turbidity_ntu', address: 1, type: 'float32' },
    { metric: 'free_chlorine_mg_l', address: 3, scale: 0.01 },
    { metric: 'temperature_c', address: 16, function: 'input', type: 'int16', scale: 0.1 },
  ],
};

export default defineModel({
  id: 'generic.modbus-water-quality',
  vendor: 'Generic',
  name: 'Modbus water-quality probe (register map from attributes)',
  kind: 'water_quality',
  // register maps come from the device's attributes: no vendor codec to depart from
  deviations: [],
  description: 'Any RS-485 / Modbus TCP probe on a secondary-supply tank (pH, turbidity, residual chlorine, conductivity …): the register map is the device\'s `registers` attribute. Polled by a modbus-tcp or modbus-rtu-tcp connector; adjacent registers are read together.',
  format: 'binary',
  reportIntervalS: 30,
  metrics,
  attributes: MODBUS_MAP_ATTRIBUTES,
  wired,
  decode,
  examples: [
    {
      // payload: the register image of one poll (devices/lib/modbus.ts): per read, function, start address, byte count, registers
      description: 'holding 0-3 (pH x0.01, turbidity float32, chlorine x0.01) and input 16 (temperature int16 x0.1)',
      attributes: REGISTERS, hex: '0300000802d13eb33333002a04001002fff1',
      readings: { ph: 7.21, turbidity_ntu: 0.35, free_chlorine_mg_l: 0.42, temperature_c: -1.5 },
    },
    { description: 'without a register map (decoding without a device)', hex: '0300000802d13eb33333002a04001002fff1', error: 'attributes.registers: required' },
    { description: 'a register of the map missing from the image', attributes: REGISTERS, hex: '0300000802d13eb33333002a', error: 'lacks input register 16' },
    { description: 'truncated block', attributes: REGISTERS, hex: '0300000802d13eb333', error: 'truncated' },
  ],
});
