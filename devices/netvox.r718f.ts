import { defineModel } from '../src/core/model.js';
import { contactStatus, NETVOX_PORTS, netvoxContactReference, netvoxDecoder } from './lib/netvox.js';

export default defineModel({
  id: 'netvox.r718f',
  vendor: 'Netvox',
  name: 'R718F wireless reed switch open / close detection sensor',
  kind: 'door_access',
  description: 'Reed switch on a door or window (0 = closed, 1 = open) with battery voltage and the device\'s low-battery flag; the start-up version report and configuration responses are recorded as device information.',
  format: 'binary',
  ports: [...NETVOX_PORTS],
  // Netvox periodic status report (MaxTime) of 3600 s unless configured otherwise; contact changes are sent at once
  reportIntervalS: 3600,
  // 2 x ER14505 (3.6 V lithium)
  lowBatteryV: 3.2,
  metrics: ['door_open', 'battery_v', 'battery_low'],
  events: ['device_info'],
  ...netvoxContactReference('R718F', 'netvox.r718f.jsonl'),
  decode: netvoxDecoder({ deviceType: 0x1d, name: 'R718F', statusLength: 5, status: contactStatus }),
  examples: [
    {
      description: 'Startup version report (vendor example)', port: 6, hex: '011D006402201906190000',
      events: [{ type: 'device_info', data: { device: 'R718F', report: 'version', softwareVersion: 10, hardwareVersion: 2, dateCode: '20190619' } }],
    },
    { description: 'Status report (vendor example)', port: 6, hex: '011D012401000000000000', readings: { battery_v: 3.6, battery_low: false, door_open: true } },
    {
      description: 'Configure report response (vendor example)', port: 7, hex: '811D000000000000000000',
      events: [{ type: 'device_info', data: { device: 'R718F', report: 'config_report_rsp', status: 'success' } }],
    },
    {
      description: 'Read configure report response (vendor example)', port: 7, hex: '821D038407080100000000',
      events: [{ type: 'device_info', data: { device: 'R718F', report: 'read_config_report_rsp', minTimeS: 900, maxTimeS: 1800, batteryChangeV: 0.1 } }],
    },
    { description: 'closed, low battery', port: 6, hex: '011D01A000000000000000', readings: { battery_v: 3.2, battery_low: true, door_open: false } },
    { description: 'truncated status report', port: 6, hex: '011D0124', error: 'frame too short' },
    { description: 'an R311A frame on an R718F', port: 6, hex: '0102011E01000000000000', error: 'device type 0x02 is not R718F' },
    { description: 'wrong port', port: 1, hex: '011D012401000000000000', error: 'unknown FPort 1' },
  ],
});
