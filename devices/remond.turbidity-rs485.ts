import { defineModel } from '../src/core/model.js';
import { RegisterSchema } from './lib/modbus.js';
import { modbusDevice } from './lib/wired.js';

/**
 * Remond (Shanghai) RS-485 digital turbidity sensor, Modbus RTU, 9600 baud, address 1.
 * Register map: turbidity in NTU as an IEEE-754 float32 in holding registers 0x0001-0x0002,
 * the LOW word first (0x0001 = bits 15..0, 0x0002 = bits 31..16). Source: the AusOcean
 * driver for this sensor (remond_turbidity.ino, GPL-3.0; facts only, no code taken), which
 * reads 2 holding registers from 0x0001 and assembles the float with n2 as the high word.
 * Not checked against Remond's own manual (not reachable from here): confirm the word order
 * on site (a turbidity of ~1e-40 or ~1e38 means the words are swapped).
 */
const registers = [RegisterSchema.parse({ metric: 'turbidity_ntu', address: 0x0001, type: 'float32', wordOrder: 'little' })];
const metrics = ['turbidity_ntu'];
const { wired, decode } = modbusDevice({ metrics, registers });

export default defineModel({
  id: 'remond.turbidity-rs485',
  vendor: 'Remond',
  name: 'RS-485 digital turbidity sensor',
  kind: 'water_quality',
  deviations: [
    "The register map follows AusOcean's open-source driver for this probe, not Remond's own manual (not reachable from here): confirm the word order of the float on site (docs/connectors.md).",
  ],
  description: 'Turbidity (NTU) over Modbus RTU, float32 in holding registers 0x0001-0x0002, low word first.',
  format: 'binary',
  reportIntervalS: 30,
  metrics,
  attributes: {
    connector: 'name of the modbus-rtu-tcp / modbus-tcp connector',
    unitId: 'Modbus address of the sensor (factory default 1)',
    pollS: 'poll interval, s (default: the connector\'s pollS)',
  },
  wired,
  decode,
  examples: [
    { description: '0.5 NTU (0x3F000000, low word first)', hex: '0300010400003f00', readings: { turbidity_ntu: 0.5 } },
    { description: '12.75 NTU (turbidity_high)', hex: '030001040000414c', readings: { turbidity_ntu: 12.75 } },
    { description: 'NaN (a probe out of the water)', hex: '030001040000ffc0', error: 'NaN' },
  ],
});
