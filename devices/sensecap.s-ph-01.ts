import { defineModel } from '../src/core/model.js';
import { RegisterSchema } from './lib/modbus.js';
import { modbusDevice } from './lib/wired.js';

/**
 * SenseCAP S-PH-01 (Seeed Studio, Shenzhen) RS-485 pH and temperature probe.
 * Register map: S-PH-01 datasheet, ch. 6 "Modbus Communication Protocol": 0x0000
 * temperature INT16, -4000..8000 = -40.00..80.00 °C; 0x0001 pH INT16, 0..1400 =
 * 0.00..14.00; read with function 3 or 4; 9600 8N1, default address 1. Checked against
 * two independent public transcriptions of that table (a minimalmodbus driver class
 * "SPH01" quoting ch. 6, and the register guide in Frey210/aquanotes-triangle modbus.md),
 * not against the PDF itself, which was not reachable from here.
 */
const registers = [
  RegisterSchema.parse({ metric: 'temperature_c', address: 0x0000, type: 'int16', scale: 0.01 }),
  RegisterSchema.parse({ metric: 'ph', address: 0x0001, type: 'int16', scale: 0.01 }),
];
const metrics = ['ph', 'temperature_c'];
const { wired, decode } = modbusDevice({ metrics, registers });

export default defineModel({
  id: 'sensecap.s-ph-01',
  vendor: 'SenseCAP (Seeed Studio)',
  name: 'S-PH-01 RS-485 pH and temperature sensor',
  kind: 'water_quality',
  deviations: [
    'The register map is taken from two public copies of the SenseCAP datasheet table, not checked against a probe here; the Modbus framing and batching are checked against a real pymodbus slave.',
  ],
  description: 'pH and water temperature over Modbus RTU (RS-485, 9600 8N1, address 1 by default), polled through a DTU or Modbus gateway. Fixed register map: holding 0x0000 temperature, 0x0001 pH, both x0.01.',
  format: 'binary',
  reportIntervalS: 30,
  metrics,
  attributes: {
    connector: 'name of the modbus-rtu-tcp / modbus-tcp connector',
    unitId: 'Modbus address of the probe (factory default 1)',
    pollS: 'poll interval, s (default: the connector\'s pollS)',
  },
  wired,
  decode,
  examples: [
    { description: 'holding 0x0000-0x0001: 21.50 °C, pH 7.05', hex: '03000004086602c1', readings: { temperature_c: 21.5, ph: 7.05 } },
    { description: 'below freezing, pH 9.12 (ph_out_of_range)', hex: '03000004febb0390', readings: { temperature_c: -3.25, ph: 9.12 } },
    { description: 'only the temperature register', hex: '030000020866', error: 'lacks holding register 1' },
  ],
});
