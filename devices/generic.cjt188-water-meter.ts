import { defineModel } from '../src/core/model.js';
import { CJT188_METRICS } from './lib/cjt188.js';
import { cjt188Device } from './lib/wired.js';

const { wired, decode } = cjt188Device();
const METER = { meterAddress: '12345678901234' };

export default defineModel({
  id: 'generic.cjt188-water-meter',
  vendor: 'Generic',
  name: 'CJ/T 188-2004 water meter (RS-485 / M-Bus)',
  kind: 'water_meter',
  description: 'Household and sub-meters speaking CJ/T 188-2004 (meter type 0x10 cold water), polled through a DTU (connector type cjt188-tcp) with read data DI 901F: current and settlement-day cumulative flow with their unit codes, valve and battery status bits.',
  format: 'binary',
  reportIntervalS: 30,
  metrics: CJT188_METRICS,
  attributes: {
    connector: 'name of the cjt188-tcp connector (config `connectors`)',
    meterAddress: '14 digits as printed on the meter (sent least significant byte first)',
    meterType: '16 = 0x10 cold water (default), 17 hot, 18 drinking, 19 reclaimed water',
    pollS: 'poll interval, s (default: the connector\'s pollS); offline after 3 x this',
  },
  deviations: [
    'The meter\'s real-time clock in the 901F answer is not used as the reading time: meter clocks drift and carry no time zone; the poll time is.',
    'DI 901F is accepted in either byte order in an answer (meters in the field answer 1F 90 or 90 1F); requests send 1F 90 (DI0 first).',
  ],
  wired,
  decode,
  examples: [
    {
      description: '901F answer: 1234.56 m3, settlement day 1200.50 m3, valve open, battery good', attributes: METER,
      hex: '68103412907856341281161f9000563412002c500012002c0000080101262000004e16',
      readings: { water_volume_m3: 1234.56, water_volume_settlement_m3: 1200.5, valve_open: true, valve_fault: false, battery_low: false },
    },
    {
      description: 'with the FE FE FE preamble: valve closed, battery low', attributes: METER,
      hex: 'fefefe68103412907856341281161f9000028800002c008000002c0000080101262005005f16',
      readings: { water_volume_m3: 88.02, water_volume_settlement_m3: 80, valve_open: false, valve_fault: false, battery_low: true },
    },
    {
      // the decode self-test vector of a public CJ/T 188 tool tested against a DN15 meter (Aixi Wang, python_cjt188): DI echoed 90 1F, 1000.10 m3
      description: 'third-party vector: meter 00000000000012, DI echoed high byte first',
      hex: 'fefefe6810120000000000008116901f00100010002c100010002c0000000000000000ff6716',
      readings: { water_volume_m3: 1000.1, water_volume_settlement_m3: 1000.1, valve_open: true, valve_fault: false, battery_low: false },
    },
    { description: 'wrong checksum byte (0x4F, the frame sums to 0x4E)', attributes: METER, hex: '68103412907856341281161f9000563412002c500012002c0000080101262000004f16', error: 'checksum 0x4f != computed 0x4e' },
    { description: 'answer from another meter', attributes: METER, hex: 'fefefe6810120000000000008116901f00100010002c100010002c0000000000000000ff6716', error: 'answer from meter 00000000000012' },
    { description: 'a read request is not an answer', hex: 'fefefe68103412907856341201031f90001516', error: 'is a request' },
  ],
});
