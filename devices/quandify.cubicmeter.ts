import { defineModel, DecodeError } from '../src/core/model.js';
import type { Decoded, DecodedReading } from '../src/core/model.js';
import { Bytes, round } from './lib/bytes.js';

const COMMIT = '403f760';
const PORTS = [0, 1, 6];
const REVERSE_FLOW = 384;

const APP_STATES: Record<number, string> = { 3: 'ready', 4: 'pipeSelection', 5: 'metering' };
const RESPONSE_STATUSES: Record<number, string> = { 0: 'ok', 1: 'commandError', 2: 'payloadError', 3: 'valueError' };
const RESPONSE_TYPES: Record<number, string> = { 0: 'none', 1: 'statusReport', 2: 'hardwareReport', 4: 'settingsReport' };
const PIPES: Record<number, string> = {
  0: 'Custom', 1: 'Copper 15 mm', 2: 'Copper 18 mm', 3: 'Copper 22 mm', 4: 'Chrome 15 mm', 5: 'Chrome 18 mm', 6: 'Chrome 22 mm',
  7: 'Pal 16 mm', 8: 'Pal 20 mm', 9: 'Pal 25 mm', 14: 'Pex 16 mm', 15: 'Pex 20 mm', 16: 'Pex 25 mm', 17: 'Distpipe',
};

interface Status {
  errorCode: number; isSensing: boolean; totalVolume: number; leakState: number;
  batteryRecovered: number; waterTemperatureMin: number; waterTemperatureMax: number; ambientTemperature: number;
}

/**
 * A status report in the vocabulary (the same mapping for our decoder and the vendor's
 * output): litres to m3; battery after recovery (the vendor's own normalised battery);
 * leak states 3 and 4 are the medium and large leaks the meter detects itself (0-2: none it
 * can see; smaller leaks need Quandify's cloud); error 384 is reverse flow, any other
 * non-zero code a fault; bit 15 clear = the ultrasound senses water (set: empty pipe).
 */
function statusReadings(s: Status): DecodedReading[] {
  const r: DecodedReading[] = [
    { metric: 'water_volume_m3', value: s.totalVolume / 1000 },
    { metric: 'battery_v', value: s.batteryRecovered / 1000 },
    { metric: 'temperature_c', value: s.ambientTemperature },
    { metric: 'water_temperature_min_c', value: s.waterTemperatureMin },
    { metric: 'water_temperature_max_c', value: s.waterTemperatureMax },
    { metric: 'meter_dry', value: !s.isSensing },
    { metric: 'reverse_flow', value: s.errorCode === REVERSE_FLOW },
    { metric: 'hardware_fault', value: s.errorCode !== 0 && s.errorCode !== REVERSE_FLOW },
  ];
  // states above 4 have no meaning in the vendor's table: no leak reading rather than a guess
  if (s.leakState <= 4) r.push({ metric: 'leak', value: s.leakState >= 3 });
  return r;
}

const battery = (raw: number) => 1800 + (raw << 3); // mV
const temperature = (raw: number) => raw * 0.5 - 20;

function statusReport(payload: Buffer): Status {
  if (payload.length !== 28) throw new DecodeError(`status report must have 28 bytes, has ${payload.length}`);
  const b = new Bytes(payload);
  const error = b.u16le(4);
  return {
    errorCode: error & 0x7fff, isSensing: (error & 0x8000) === 0, totalVolume: b.u32le(6), leakState: b.u8(22),
    batteryRecovered: battery(b.u8(24)), waterTemperatureMin: temperature(b.u8(25)), waterTemperatureMax: temperature(b.u8(26)), ambientTemperature: temperature(b.u8(27)),
  };
}

function response(payload: Buffer): Decoded {
  if (payload.length < 3) throw new DecodeError(`response must have at least 3 bytes, has ${payload.length}`);
  const b = new Bytes(payload);
  const status = RESPONSE_STATUSES[b.u8(1)];
  if (status === undefined) throw new DecodeError(`invalid response status ${b.u8(1)}`);
  const type = RESPONSE_TYPES[b.u8(2)];
  if (type === undefined) throw new DecodeError(`invalid response type ${b.u8(2)}`);
  const body = payload.subarray(3);
  const info = { fPort: b.u8(0), status, type };
  if (type === 'statusReport') return { readings: statusReadings(statusReport(body)), events: [] };
  if (type === 'hardwareReport') {
    if (body.length !== 35) throw new DecodeError(`hardware report must have 35 bytes, has ${body.length}`);
    const h = new Bytes(body);
    const appState = APP_STATES[h.u8(5)];
    if (appState === undefined) throw new DecodeError(`invalid app state ${h.u8(5)}`);
    const pipe = PIPES[h.u8(28)];
    if (pipe === undefined) throw new DecodeError(`invalid pipe index ${h.u8(28)}`);
    const v = h.u32le(0);
    const firmwareVersion = `${(v >>> 24) & 0xff}.${(v >>> 16) & 0xff}.${v & 0xffff}`;
    return { readings: [], events: [{ type: 'device_info', data: { ...info, firmwareVersion, hardwareVersion: h.u8(4), appState, pipeId: h.u8(28), pipeType: pipe } }] };
  }
  if (type === 'settingsReport') {
    if (body.length !== 38) throw new DecodeError(`settings report must have 38 bytes, has ${body.length}`);
    return { readings: [], events: [{ type: 'device_info', data: { ...info, lorawanReportIntervalS: new Bytes(body).u32le(5) } }] };
  }
  return { readings: [], events: [{ type: 'device_info', data: info }] };
}

export default defineModel({
  id: 'quandify.cubicmeter',
  vendor: 'Quandify',
  name: 'CubicMeter 1.1 clamp-on ultrasonic water meter',
  kind: 'water_meter',
  description: 'Non-invasive ultrasonic meter clamped on the supply pipe: all-time volume, the leaks it detects itself (medium, large), reverse flow, empty pipe (not sensing water), faults, battery, ambient temperature and the water temperature range since the last report (freezing pipes, hot-water checks). FPort 1 is the status report; FPort 6 answers a downlink (a status report again, or the hardware and settings reports, recorded as device_info); an empty FPort 0 uplink is a ping (nothing stored).',
  format: 'binary',
  ports: PORTS,
  // the settings report's interval in the vendor's own example (600 s); set attributes.reportIntervalS when configured otherwise
  reportIntervalS: 600,
  lowBatteryV: 3.1,
  metrics: ['water_volume_m3', 'battery_v', 'temperature_c', 'water_temperature_min_c', 'water_temperature_max_c', 'meter_dry', 'reverse_flow', 'hardware_fault', 'leak'],
  events: ['device_info'],
  vendorCodec: {
    codec: 'vendor/quandify/cubicmeter-1-1-uplink.js',
    commit: COMMIT,
    vectors: ['quandify.cubicmeter.jsonl'],
    expect: (d) => {
      const s = d.type === 'statusReport' ? d.decoded : d.type === 'response' && d.decoded?.type === 'statusReport' ? d.decoded.data : undefined;
      return s?.totalVolume !== undefined ? statusReadings(s) : [];
    },
  },
  deviations: [
    {
      id: 'vendor-errors-dead-letter', commit: COMMIT,
      reason: 'When the codec rejects a frame (wrong length, invalid response status, type, app state or pipe) it still returns its data envelope (fPort, length, hexBytes, an empty decoded) with the reason in errors. That is a rejected frame, not one without readings: the gateway dead-letters it with the reason.',
      applies: (v) => (v.vendor.errors?.length ?? 0) > 0,
      expect: () => 'error',
    },
    {
      id: 'unknown-port-dead-letter', commit: COMMIT,
      reason: 'On FPorts other than 0, 1 and 6 the codec returns the envelope with type undefined and nothing decoded ("more uplink types only available when using Quandify platform API"). The gateway dead-letters such a frame, which keeps the raw payload for a re-decode once the layout is known, instead of recording an empty frame.',
      applies: (v) => !PORTS.includes(v.fPort),
      expect: () => 'error',
    },
    'batteryActive (the voltage under radio load) is not stored: battery_v is the recovered voltage, which the vendor\'s own normalised output reports as the battery and its low-battery warning uses (≤ 3.1 V).',
    'The error code itself is stored as reverse_flow (384) and hardware_fault (any other non-zero code, "contact support"); the number itself is not a reading (the vendor only tells 384 from "contact support").',
  ],
  decode: ({ payload, port }) => {
    if (port === undefined && payload.length === 0) return { readings: [], events: [] };
    if (port === undefined) throw new DecodeError(`FPort required (one of ${PORTS.join(', ')})`);
    if (port === 0) return { readings: [], events: [] }; // ping
    if (port === 1) return { readings: statusReadings(statusReport(payload)), events: [] };
    if (port === 6) return response(payload);
    throw new DecodeError(`unknown FPort ${port}`);
  },
  examples: [
    {
      description: 'vendor example: normal status report, 5342 L, 3.64 V, water 21.5-22 °C, air 22.5 °C', port: 1, hex: '49FBDF010000DE1400000000000046EDDF0106FC8B0702E2E6535455',
      readings: {
        water_volume_m3: 5.342, battery_v: 3.64, temperature_c: 22.5, water_temperature_min_c: 21.5, water_temperature_max_c: 22,
        meter_dry: false, reverse_flow: false, hardware_fault: false, leak: false,
      },
    },
    {
      description: 'vendor example: response to set pipe (hardware report)', port: 6, hex: '0400021000001602053F0100000300E3DDCBB1BD758732000001000000000000010000000000',
      events: [{ type: 'device_info', data: { fPort: 4, status: 'ok', type: 'hardwareReport', firmwareVersion: '22.0.16', hardwareVersion: 2, appState: 'metering', pipeId: 0, pipeType: 'Custom' } }],
    },
    {
      description: 'vendor example: response to set report interval (settings report, 600 s)', port: 6, hex: '13000401C0A80000580200000000001E00008D27000000000000000000000000000000000000000000',
      events: [{ type: 'device_info', data: { fPort: 19, status: 'ok', type: 'settingsReport', lorawanReportIntervalS: 600 } }],
    },
    {
      description: 'large leak, reverse flow (error 384), pipe empty (bit 15)', port: 1, hex: '49FBDF0180811E1400000000000046EDDF0106FC8B0704A0A0535455',
      readings: {
        water_volume_m3: 5.15, battery_v: 3.08, temperature_c: 22.5, water_temperature_min_c: 21.5, water_temperature_max_c: 22,
        meter_dry: true, reverse_flow: true, hardware_fault: false, leak: true,
      },
    },
    { description: 'ping (empty uplink)', port: 0, hex: '', readings: {} },
    { description: 'status report one byte short', port: 1, hex: '49FBDF010000DE1400000000000046EDDF0106FC8B0702E2E65354', error: 'status report must have 28 bytes' },
    { description: 'response with an invalid type', port: 6, hex: '040003', error: 'invalid response type 3' },
  ],
});
