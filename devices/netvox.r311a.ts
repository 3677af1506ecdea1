import { defineModel } from '../src/core/model.js';
import { contactStatus, NETVOX_PORTS, netvoxContactReference, netvoxDecoder } from './lib/netvox.js';

export default defineModel({
  id: 'netvox.r311a',
  vendor: 'Netvox',
  name: 'R311A wireless door / window sensor (reed switch)',
  kind: 'door_access',
  description: 'Door or window contact (0 = closed, 1 = open) with battery voltage and the device\'s low-battery flag; the start-up version report and configuration responses are recorded as device information.',
  format: 'binary',
  ports: [...NETVOX_PORTS],
  // Netvox periodic status report (MaxTime) of 3600 s unless configured otherwise; contact changes are sent at once
  reportIntervalS: 3600,
  // 2 x CR2450 (3.0 V); the vendor's example flags 2.3 V as low battery
  lowBatteryV: 2.4,
  metrics: ['door_open', 'battery_v', 'battery_low'],
  events: ['device_info'],
  ...netvoxContactReference('R311A', 'netvox.r311a.jsonl'),
  decode: netvoxDecoder({ deviceType: 0x02, name: 'R311A', statusLength: 5, status: contactStatus }),
  examples: [
    {
      description: 'Startup version report (vendor example)', port: 6, hex: '010200640B202004240000',
      events: [{ type: 'device_info', data: { device: 'R311A', report: 'version', softwareVersion: 10, hardwareVersion: 11, dateCode: '20200424' } }],
    },
    { description: 'Status report (vendor example)', port: 6, hex: '0102011E01000000000000', readings: { battery_v: 3, battery_low: false, door_open: true } },
    { description: 'Status report, low battery (vendor example)', port: 6, hex: '0102019701000000000000', readings: { battery_v: 2.3, battery_low: true, door_open: true } },
    {
      description: 'Configure report response (vendor example)', port: 7, hex: '8102000000000000000000',
      events: [{ type: 'device_info', data: { device: 'R311A', report: 'config_report_rsp', status: 'success' } }],
    },
    {
      description: 'Read configure report response (vendor example)', port: 7, hex: '8202038407080100000000',
      events: [{ type: 'device_info', data: { device: 'R311A', report: 'read_config_report_rsp', minTimeS: 900, maxTimeS: 1800, batteryChangeV: 0.1 } }],
    },
    { description: 'closed', port: 6, hex: '0102012000000000000000', readings: { battery_v: 3.2, battery_low: false, door_open: false } },
    { description: 'truncated status report', port: 6, hex: '0102011E', error: 'frame too short' },
    { description: 'an R718F frame on an R311A', port: 6, hex: '011D012401000000000000', error: 'device type 0x1d is not R311A' },
    { description: 'wrong port', port: 5, hex: '0102011E01000000000000', error: 'unknown FPort 5' },
  ],
});
