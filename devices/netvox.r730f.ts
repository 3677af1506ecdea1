import { defineModel } from '../src/core/model.js';
import { contactStatus, NETVOX_PORTS, netvoxContactReference, netvoxDecoder } from './lib/netvox.js';

export default defineModel({
  id: 'netvox.r730f',
  vendor: 'Netvox',
  name: 'R730F wireless reed switch open / close detection sensor',
  kind: 'door_access',
  description: 'Reed switch on a door or window (0 = closed, 1 = open) with battery voltage and the device\'s low-battery flag; the R730 sibling of the R718F, same frames (device type 0x7D in Netvox\'s shared codec, which has no R730F device file of its own). The start-up version report and configuration responses are recorded as device information.',
  format: 'binary',
  ports: [...NETVOX_PORTS],
  // Netvox periodic status report (MaxTime) of 3600 s unless configured otherwise; contact changes are sent at once
  reportIntervalS: 3600,
  // 3.6 V lithium, as the R718F
  lowBatteryV: 3.2,
  metrics: ['door_open', 'battery_v', 'battery_low'],
  events: ['device_info'],
  ...netvoxContactReference('R730F', 'netvox.r730f.jsonl'),
  decode: netvoxDecoder({ deviceType: 0x7d, name: 'R730F', statusLength: 5, status: contactStatus }),
  examples: [
    // the vendor's R718F examples with the R730F device type (no R730F codec file has examples)
    {
      description: 'Startup version report', port: 6, hex: '017D006402201906190000',
      events: [{ type: 'device_info', data: { device: 'R730F', report: 'version', softwareVersion: 10, hardwareVersion: 2, dateCode: '20190619' } }],
    },
    { description: 'Status report, open', port: 6, hex: '017D012401000000000000', readings: { battery_v: 3.6, battery_low: false, door_open: true } },
    { description: 'Status report, closed, low battery', port: 6, hex: '017D019F00000000000000', readings: { battery_v: 3.1, battery_low: true, door_open: false } },
    {
      description: 'Read configure report response', port: 7, hex: '827D038407080100000000',
      events: [{ type: 'device_info', data: { device: 'R730F', report: 'read_config_report_rsp', minTimeS: 900, maxTimeS: 1800, batteryChangeV: 0.1 } }],
    },
    { description: 'truncated status report', port: 6, hex: '017D01', error: 'frame too short' },
    { description: 'an R718F frame on an R730F', port: 6, hex: '011D012401000000000000', error: 'device type 0x1d is not R730F' },
    { description: 'wrong port', port: 85, hex: '017D012401000000000000', error: 'unknown FPort 85' },
  ],
});
