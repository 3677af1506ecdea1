import { defineModel, DecodeError } from '../src/core/model.js';
import type { DecodedReading } from '../src/core/model.js';
import { Bytes, requirePort } from './lib/bytes.js';
import { afterY2038, datalogEntries, deviceInfo, draginoStatus, hasTimeAfter2038, unixTimeMs, vendorDatalog, vendorTime } from './lib/dragino-lb.js';

const COMMIT = '8566e9a';

/** pulses per litre by the frame's calculate flag (the flow sensor fitted), as the vendor codec counts */
const pulsesPerLitre = (flag: number): number => (flag === 2 ? 60 : flag === 1 ? 360 : 450);
/** litres to 0.1 L, rounded as the vendor codec rounds (toFixed) */
const litres = (pulses: number, flag: number): number => Number((pulses / pulsesPerLitre(flag)).toFixed(1));

/**
 * One measurement: in MOD 1 ("last pulse") the device counts pulses since its previous
 * uplink, otherwise the running total; the same alarm bit either way.
 */
function flowReadings(alarm: boolean, mod: number, pulses: number, volumeL: number, ts: number): DecodedReading[] {
  const r: DecodedReading[] = mod === 1
    ? [{ metric: 'water_volume_period_m3', value: volumeL / 1000, ts }]
    : [{ metric: 'pulse_count', value: pulses, ts }, { metric: 'water_volume_m3', value: volumeL / 1000, ts }];
  r.push({ metric: 'leak', value: alarm, ts });
  return r;
}

const SENSOR_MODELS = { 0x11: 'SW3L' };

export default defineModel({
  id: 'dragino.sw3l',
  vendor: 'Dragino',
  name: 'SW3L LoRaWAN outdoor water flow sensor',
  kind: 'water_meter',
  description: 'Pulse-output flow sensor on a pipe (DW-004/006/010): cumulative pulses and volume (litres from the pulses per litre of the fitted sensor, as the calculate flag says) at the device\'s own time. Its alarm bit means water has been flowing longer than the configured alarm time (a tap left open, a running toilet) and is stored as leak, so the meter_alarm rule fires. In MOD 1 the device reports the volume since its previous uplink instead of a total (water_volume_period_m3). FPort 3 carries readings logged while out of coverage; FPort 4 (configuration) and 5 (device status, with the battery voltage) are recorded as device_info.',
  format: 'binary',
  ports: [2, 3, 4, 5],
  reportIntervalS: 1200,
  lowBatteryV: 3.1,
  metrics: ['pulse_count', 'water_volume_m3', 'water_volume_period_m3', 'leak', 'battery_v'],
  events: ['device_info'],
  vendorCodec: {
    codec: 'vendor/dragino/sw3l.js',
    commit: COMMIT,
    vectors: ['dragino.sw3l.jsonl'],
    expect: (d, v) => {
      if (v.fPort === 2) return flowReadings(d.Alarm === 'TRUE', d.MOD, d.Total_pulse ?? d.Last_pulse, d.Water_flow_value, vendorTime(d.Data_time));
      if (v.fPort === 3) {
        return vendorDatalog(d.DATALOG).flatMap(([alarm, , mod, pulses, volume, time]) =>
          flowReadings(alarm === 'TRUE', Number(mod), Number(pulses), Number(volume), vendorTime(time!)));
      }
      if (v.fPort === 5) return [{ metric: 'battery_v', value: d.BAT }];
      return []; // FPort 4: configuration
    },
  },
  deviations: [
    {
      ...afterY2038, commit: COMMIT,
      applies: (v) => (v.fPort === 2 || v.fPort === 3) && v.vendor.data !== undefined && hasTimeAfter2038(v.hex, v.fPort === 3),
      expect: afterY2038.fix,
    },
    {
      id: 'short-frame-refused', commit: COMMIT,
      reason: 'The vendor codec decodes an FPort 2 frame of any length, reading missing bytes as 0 (JavaScript bit operations on undefined): a 5-byte frame becomes 0 pulses at 1970-01-01. The gateway refuses a frame shorter than the 11-byte layout (dead letter with the reason; bytes after it are ignored, as the vendor ignores them) rather than store a counter reset that never happened.',
      applies: (v) => v.fPort === 2 && v.hex.length < 22,
      expect: () => 'error',
    },
    'Last_pulse (MOD 1) is not stored as a separate pulse count: it is the same measurement as the period volume, stored as water_volume_period_m3 (pulses / pulses-per-litre, to 0.1 L as the vendor rounds); a running pulse_count only exists in the totalising mode.',
    'The calculate flag, MOD and byte 6 describe the frame (sensor type, counting mode), not the water: they select the conversion and are not stored.',
  ],
  decode: ({ payload, port }) => {
    requirePort(port, [2, 3, 4, 5]);
    if (port === 5) return draginoStatus(payload, SENSOR_MODELS);
    const b = new Bytes(payload);
    if (port === 4) {
      if (payload.length !== 7) throw new DecodeError(`configuration frame must have 7 bytes, has ${payload.length}`);
      return deviceInfo({ tdcS: b.u24be(0), stopTimerMin: b.u8(4), alarmTimerMin: b.u16be(5) });
    }
    if (port === 3) {
      // datalog entries put MOD in byte 1 and the pulses in bytes 3-6 (the realtime frame: bytes 1-4, MOD in 5)
      const readings = datalogEntries(payload).flatMap((e) => {
        const flag = e.u8(0) >> 2;
        const pulses = e.u32be(3);
        return flowReadings((e.u8(0) & 0x02) !== 0, e.u8(1), pulses, litres(pulses, flag), unixTimeMs(e, 7));
      });
      return { readings, events: [] };
    }
    // bytes after the layout are ignored, as the vendor codec ignores them (later firmware appends fields)
    if (payload.length < 11) throw new DecodeError(`frame too short: need 11 bytes, have ${payload.length}`);
    const flag = b.u8(0) >> 2;
    const pulses = b.u32be(1);
    return { readings: flowReadings((b.u8(0) & 0x02) !== 0, b.u8(5), pulses, litres(pulses, flag), unixTimeMs(b, 7)), events: [] };
  },
  examples: [
    {
      description: 'total 1 125 899 pulses of a DW-006 (flag 1) = 3127.5 L at 2029-03-06 09:58:15', port: 2, hex: '0400112E0B005D6F4F9137',
      series: [
        { metric: 'pulse_count', ts: '2029-03-06T09:58:15Z', value: 1125899 },
        { metric: 'water_volume_m3', ts: '2029-03-06T09:58:15Z', value: 3.1275 },
        { metric: 'leak', ts: '2029-03-06T09:58:15Z', value: false },
      ],
    },
    {
      description: 'flow alarm (water running past the alarm time), DW-004', port: 2, hex: '0200300382002B65C56643',
      series: [
        { metric: 'pulse_count', ts: '2024-02-08T23:39:47Z', value: 3146626 },
        { metric: 'water_volume_m3', ts: '2024-02-08T23:39:47Z', value: 6.9925 },
        { metric: 'leak', ts: '2024-02-08T23:39:47Z', value: true },
      ],
    },
    {
      description: 'MOD 1: 219 492 pulses since the last uplink = 487.8 L', port: 2, hex: '000003596401B265C56643',
      series: [
        { metric: 'water_volume_period_m3', ts: '2024-02-08T23:39:47Z', value: 0.4878 },
        { metric: 'leak', ts: '2024-02-08T23:39:47Z', value: false },
      ],
    },
    {
      description: 'vendor example: configuration reply (TDC 851968 s, alarm timer 42058)', port: 4, hex: '0D00007300A44A',
      events: [{ type: 'device_info', data: { tdcS: 851968, stopTimerMin: 0, alarmTimerMin: 42058 } }],
    },
    {
      description: 'device status: SW3L v1.2.3, EU868, battery 3.6 V', port: 5, hex: '11012301FF0E10',
      readings: { battery_v: 3.6 },
      events: [{ type: 'device_info', data: { sensorModel: 'SW3L', firmwareVersion: '1.2.3', frequencyBand: 'EU868', subBand: null } }],
    },
    {
      description: 'datalog: two entries logged out of coverage', port: 3, hex: '000000000001C265C566430000000000038465C57453',
      series: [
        { metric: 'pulse_count', ts: '2024-02-08T23:39:47Z', value: 450 },
        { metric: 'water_volume_m3', ts: '2024-02-08T23:39:47Z', value: 0.001 },
        { metric: 'leak', ts: '2024-02-08T23:39:47Z', value: false },
        { metric: 'pulse_count', ts: '2024-02-09T00:39:47Z', value: 900 },
        { metric: 'water_volume_m3', ts: '2024-02-09T00:39:47Z', value: 0.002 },
        { metric: 'leak', ts: '2024-02-09T00:39:47Z', value: false },
      ],
    },
    { description: 'vendor example: unknown FPort', port: 42, hex: '0B880100250001', error: 'unknown FPort 42' },
    { description: 'truncated frame', port: 2, hex: '0400112E0B', error: 'frame too short: need 11 bytes' },
    { description: 'datalog cut mid-entry', port: 3, hex: '0000000001C20065C566', error: 'whole number of 11-byte entries' },
  ],
});
