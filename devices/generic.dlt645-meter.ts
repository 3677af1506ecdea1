import { defineModel } from '../src/core/model.js';
import { DLT645_METRICS } from './lib/dlt645.js';
import { dlt645Device } from './lib/wired.js';

const { wired, decode } = dlt645Device();
const METER = { meterAddress: '123456789012' };

export default defineModel({
  id: 'generic.dlt645-meter',
  vendor: 'Generic',
  name: 'DL/T 645-2007 electricity meter (RS-485)',
  kind: 'electricity_meter',
  description: 'Single- and three-phase sub-meters speaking DL/T 645-2007, polled through a DTU (connector type dlt645-tcp). Reads forward active energy (total and tariffs 1-4, DI 0001FF00), voltage, current and active power (phase A items, or the blocks with attributes.phases = 3).',
  format: 'binary',
  reportIntervalS: 30,
  metrics: DLT645_METRICS,
  attributes: {
    connector: 'name of the dlt645-tcp connector (config `connectors`)',
    meterAddress: '12 digits as printed on the meter (sent least significant byte first)',
    phases: '1 (default: phase-A voltage, current, total power) or 3 (voltage, current and power blocks, per phase)',
    pollS: 'poll interval, s (default: the connector\'s pollS); offline after 3 x this',
  },
  deviations: [
    'A follow-up-frame answer (0xB1) is decoded as it stands; follow-up frames (control 0x12) are not requested: the items read here fit one frame.',
    'An energy block of a meter with more than 4 tariffs carries them all; tariffs 5 and up are not stored (the vocabulary names energy_import_t1_kwh to _t4_kwh).',
    'Power is converted from the meter\'s kW to W; a negative current or power (sign bit) is stored as sent and flagged out of range where the vocabulary has no negative values.',
  ],
  wired,
  decode,
  examples: [
    {
      description: 'energy block 0001FF00 (total and four tariffs), no preamble', attributes: METER,
      hex: '68129078563412689118333234339a785634343373333533833397786633333333333616',
      readings: { energy_import_kwh: 12345.67, energy_import_t1_kwh: 4000.01, energy_import_t2_kwh: 5000.02, energy_import_t3_kwh: 3345.64, energy_import_t4_kwh: 0 },
    },
    {
      description: 'one poll of a single-phase meter: energy block with the FE FE FE FE preamble, then voltage, current, power', attributes: METER,
      hex: 'fefefefe68129078563412689118333234339a785634343373333533833397786633333333333616' + '6812907856341268910633343435cb550d16' + '6812907856341268910733343535568433fc16' + '6812907856341268910733333635854a34f216',
      readings: { energy_import_kwh: 12345.67, energy_import_t1_kwh: 4000.01, energy_import_t2_kwh: 5000.02, energy_import_t3_kwh: 3345.64, energy_import_t4_kwh: 0, voltage_v: 229.8, current_a: 5.123, power_w: 1175.2 },
    },
    {
      description: 'energy block of a meter with 6 tariffs: total and tariffs 1-4 stored', attributes: METER,
      hex: '6812907856341268912033323433333334333343333333533333336333333373333333333333333333333816',
      readings: { energy_import_kwh: 100, energy_import_t1_kwh: 10, energy_import_t2_kwh: 20, energy_import_t3_kwh: 30, energy_import_t4_kwh: 40 },
    },
    { description: 'wrong checksum byte (0x0E, the frame sums to 0x0D)', attributes: METER, hex: '6812907856341268910633343435cb550e16', error: 'checksum 0x0e != computed 0x0d' },
    { description: 'a data byte corrupted on the line (0x55 -> 0x56): the checksum no longer matches', attributes: METER, hex: '6812907856341268910633343435cb560d16', error: 'checksum 0x0d != computed 0x0e' },
    { description: 'answer from another meter (123456789013) on the same bus', attributes: METER, hex: '6813907856341268910633343435cb550e16', error: 'answer from meter 123456789013' },
    { description: 'abnormal answer 0xD1: no such data', attributes: METER, hex: 'fefefefe6812907856341268d101358d16', error: 'no such data' },
    { description: 'a read request (control 0x11) is not an answer', hex: 'fefefefe68129078563412681104333234336716', error: 'control code 0x11' },
    // the broadcast "read address" frame every DL/T 645-2007 text prints (68 AA…AA 68 13 00 DF 16): a valid frame, but not an answer
    { description: 'broadcast read-address request', hex: 'fefefefe68aaaaaaaaaaaa681300df16', error: 'control code 0x13' },
  ],
});
