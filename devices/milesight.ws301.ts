import { defineModel } from '../src/core/model.js';
import { battery, milesightTlv, MILESIGHT_PORT } from './lib/milesight-tlv.js';

export default defineModel({
  id: 'milesight.ws301',
  vendor: 'Milesight',
  name: 'WS301 magnetic contact switch',
  kind: 'door_access',
  description: 'Door / window contact. "install: no" (the magnet is not mounted, or the device was removed) is reported as tamper.',
  format: 'binary',
  ports: [MILESIGHT_PORT],
  reportIntervalS: 1080,
  metrics: ['door_open', 'tamper', 'battery_pct'],
  decode: milesightTlv({
    0x0175: battery,
    0x0300: { size: 1, read: (b, at) => [{ metric: 'door_open', value: b.u8(at) !== 0 }] },
    // install state: 0 = installed ("yes"), anything else = not installed ("no")
    0x0400: { size: 1, read: (b, at) => [{ metric: 'tamper', value: b.u8(at) !== 0 }] },
  }),
  examples: [
    { description: 'Door open (corpus)', port: 85, hex: '030001', readings: { door_open: true } },
    { description: 'Not installed (corpus)', port: 85, hex: '040001', readings: { tamper: true } },
    { description: 'closed, installed, battery 100 %', port: 85, hex: '017564030000040000', readings: { battery_pct: 100, door_open: false, tamper: false } },
    { description: 'truncated', port: 85, hex: '0300', error: 'frame too short' },
  ],
});
