import { defineModel } from '../src/core/model.js';
import type { DecodedReading, VendorExpectation } from '../src/core/model.js';
import { round } from './lib/bytes.js';
import { parseYobiiq, tariffReadings, YOBIIQ_PORTS, type YobiiqType } from './lib/yobiiq-tlv.js';

/** iq-dsmr-lrw.js (ee2b8fc) CONFIG_MEASUREMENT: every type, so none dead-letters a frame */
const TYPES: Record<number, YobiiqType> = {
  0xfe: { size: 4, name: 'deviceTimestamp' }, 0x00: { size: 2, name: 'p1Version' }, 0x02: { size: 4, name: 'telegramTimestamp' },
  0x06: { size: 4, name: 'importT1' }, 0x08: { size: 4, name: 'importT2' }, 0x0a: { size: 4, name: 'exportT1' }, 0x0c: { size: 4, name: 'exportT2' },
  0x0e: { size: 2, name: 'tariffIndicator' },
  0x10: { size: 4, name: 'powerDelivered', signed: true }, 0x12: { size: 4, name: 'powerReceived', signed: true },
  0x14: { size: 4, name: 'powerFailures' },
  // power-failure event log: a count, then 8 bytes (start, duration) per event
  0x18: { size: (b, at) => 4 + 8 * b.u32be(at), name: 'powerFailureEventLog', opaque: true },
  0x1a: { size: 4, name: 'sagsL1' }, 0x1c: { size: 4, name: 'sagsL2' }, 0x1e: { size: 4, name: 'sagsL3' },
  0x1f: { size: 4, name: 'swellsL1' }, 0x20: { size: 4, name: 'swellsL2' }, 0x21: { size: 4, name: 'swellsL3' },
  0x22: { size: 4, name: 'voltageL1', signed: true, resolution: 0.1 }, 0x23: { size: 4, name: 'voltageL2', signed: true, resolution: 0.1 },
  0x24: { size: 4, name: 'voltageL3', signed: true, resolution: 0.1 },
  0x26: { size: 4, name: 'currentL1', signed: true }, 0x28: { size: 4, name: 'currentL2', signed: true }, 0x2a: { size: 4, name: 'currentL3', signed: true },
  0x2c: { size: 4, name: 'powerDeliveredL1', signed: true }, 0x2e: { size: 4, name: 'powerDeliveredL2', signed: true }, 0x30: { size: 4, name: 'powerDeliveredL3', signed: true },
  0x32: { size: 4, name: 'powerReceivedL1', signed: true }, 0x33: { size: 4, name: 'powerReceivedL2', signed: true }, 0x34: { size: 4, name: 'powerReceivedL3', signed: true },
  0x46: { size: 2, name: 'deviceTypeOnChannel1' }, 0x50: { size: 8, name: 'lastReadingOnChannel1', opaque: true },
  0x56: { size: 2, name: 'deviceTypeOnChannel2' }, 0x60: { size: 8, name: 'lastReadingOnChannel2', opaque: true },
  0x66: { size: 2, name: 'deviceTypeOnChannel3' }, 0x70: { size: 8, name: 'lastReadingOnChannel3', opaque: true },
  0x76: { size: 2, name: 'deviceTypeOnChannel4' }, 0x80: { size: 8, name: 'lastReadingOnChannel4', opaque: true },
  0x71: { size: 2, name: 'internalCircuitTemperature', resolution: 0.01 }, 0x72: { size: 1, name: 'internalCircuitHumidity' },
  0x81: { size: 2, name: 'ambientTemperature', resolution: 0.01 }, 0x82: { size: 1, name: 'ambientHumidity' },
  0xd1: { size: 4, name: 'pulseCounterDryInput1' }, 0xd2: { size: 4, name: 'pulseCounterDryInput2' },
};

const METER_STATE = ['tariffIndicator', 'p1Version', 'numberOfPowerFailuresInAnyPhase', 'numberOfVoltageSagsL1', 'numberOfVoltageSagsL2', 'numberOfVoltageSagsL3',
  'numberOfVoltageSwellsL1', 'numberOfVoltageSwellsL2', 'numberOfVoltageSwellsL3', 'powerFailureEventLog', 'internalCircuitTemperature', 'internalCircuitHumidity'];

const vendorValue = (x: unknown): number | undefined => (typeof x === 'number' ? x : typeof x === 'object' && x !== null && typeof (x as { data?: unknown }).data === 'number' ? (x as { data: number }).data : undefined);
const tsOf = (d: any) => (typeof d.deviceTimestamp === 'number' ? { ts: d.deviceTimestamp * 1000 } : {});

/** net active power: delivered to the client minus delivered by it (DSMR reports one of the two as 0) */
function netPower(delivered: number | undefined, received: number | undefined): number | undefined {
  if (delivered === undefined && received === undefined) return undefined;
  return (delivered ?? 0) - (received ?? 0);
}

export default defineModel({
  id: 'yobiiq.iq-dsmr-lrw',
  vendor: 'YOBIIQ',
  name: 'IQ-DSMR-LRW P1/DSMR smart electricity meter reader',
  kind: 'electricity_meter',
  description: 'Reads a smart meter\'s P1 port: energy delivered to the client (import) and by the client (export) per tariff with their sums, phase voltages and currents, net active power, ambient temperature and humidity.',
  format: 'binary',
  ports: YOBIIQ_PORTS,
  reportIntervalS: 900,
  metrics: [
    'energy_import_kwh', 'energy_export_kwh', 'energy_import_t1_kwh', 'energy_import_t2_kwh', 'energy_export_t1_kwh', 'energy_export_t2_kwh',
    'voltage_l1_v', 'voltage_l2_v', 'voltage_l3_v', 'current_l1_a', 'current_l2_a', 'current_l3_a', 'power_w', 'power_l1_w', 'power_l2_w', 'power_l3_w',
    'temperature_c', 'humidity_pct',
  ],
  vendorCodec: {
    codec: 'vendor/yobiiq/iq-dsmr-lrw.js',
    commit: 'ee2b8fc',
    vectors: ['yobiiq.iq-dsmr-lrw.jsonl'],
    expect: (d) => {
      const out: DecodedReading[] = [];
      const put = (metric: string, x: unknown, scale = 1) => {
        const v = vendorValue(x);
        if (v !== undefined) out.push({ metric, value: round(v * scale, 6), ...tsOf(d) });
      };
      const sum = (metric: string, a: unknown, b: unknown) => {
        if (vendorValue(a) !== undefined && vendorValue(b) !== undefined) put(metric, vendorValue(a)! + vendorValue(b)!, 1 / 1000);
      };
      put('energy_import_t1_kwh', d.electricityDeliveredToClientT1, 1 / 1000); put('energy_import_t2_kwh', d.electricityDeliveredToClientT2, 1 / 1000);
      put('energy_export_t1_kwh', d.electricityDeliveredByClientT1, 1 / 1000); put('energy_export_t2_kwh', d.electricityDeliveredByClientT2, 1 / 1000);
      sum('energy_import_kwh', d.electricityDeliveredToClientT1, d.electricityDeliveredToClientT2);
      sum('energy_export_kwh', d.electricityDeliveredByClientT1, d.electricityDeliveredByClientT2);
      for (const l of [1, 2, 3]) {
        put(`voltage_l${l}_v`, d[`voltageL${l}`]);
        put(`current_l${l}_a`, d[`currentL${l}`]);
        put(`power_l${l}_w`, d[`activePowerDeliveredL${l}`]);
      }
      put('power_w', d.electricityPowerDelivered);
      put('temperature_c', d.ambientTemperature);
      put('humidity_pct', d.ambientHumidity);
      return out;
    },
  },
  deviations: [
    '"Delivered to client" is import, "delivered by client" is export; Wh become kWh; tariff sums only when both tariffs are in the frame.',
    'Readings take deviceTimestamp (UTC). The DSMR telegram timestamp is the meter\'s local time written as if it were UTC (here one hour ahead in winter), so it is not used.',
    'The last readings of M-Bus sub-meters (lastReadingOnChannel1-4: gas, water, heat) carry no unit or scale in the frame (it depends on the sub-meter) and the dry-contact pulse counters no litres or kWh per pulse: they are skipped by size, not stored. A data type outside the vendor\'s table ends the frame as in the vendor codec, keeping the records before it.',
    {
      id: 'net-active-power',
      reason: 'DSMR reports active power delivered to the client (+P) and by the client (-P) as two registers, one of which is 0. The gateway stores one power_w (and power_l1..3_w) = delivered - received, so exported power is a negative power_w instead of a second metric with no vocabulary name.',
      commit: 'ee2b8fc',
      applies: (v) => ['electricityPowerReceived', 'activePowerReceivedL1', 'activePowerReceivedL2', 'activePowerReceivedL3'].some((k) => v.vendor.data?.[k] !== undefined),
      expect: (exp: VendorExpectation, v) => {
        if (exp === 'error') return exp;
        const d = v.vendor.data;
        const pairs: Array<[string, string, string]> = [['power_w', 'electricityPowerDelivered', 'electricityPowerReceived'],
          ...[1, 2, 3].map((l) => [`power_l${l}_w`, `activePowerDeliveredL${l}`, `activePowerReceivedL${l}`] as [string, string, string])];
        let out = exp;
        for (const [metric, del, rec] of pairs) {
          const net = netPower(vendorValue(d[del]), vendorValue(d[rec]));
          if (net === undefined || vendorValue(d[rec]) === undefined) continue;
          out = [...out.filter((r) => r.metric !== metric), { metric, value: net, ...tsOf(d) }];
        }
        return out;
      },
    },
    {
      id: 'meter-state-not-stored',
      reason: 'The tariff in force, the P1 protocol version, the counts of power failures, sags and swells, their event log and the reader\'s internal circuit temperature and humidity describe the meter and the reader, not the home\'s consumption or climate; they have no vocabulary name and are not stored.',
      commit: 'ee2b8fc',
      applies: (v) => METER_STATE.some((k) => v.vendor.data?.[k] !== undefined),
    },
  ],
  decode: (input) => {
    const { values: v } = parseYobiiq(input, TYPES);
    const ts = v.has('deviceTimestamp') ? v.get('deviceTimestamp')! * 1000 : undefined;
    const readings: DecodedReading[] = [];
    const at = (metric: string, value: number) => readings.push({ metric, value, ...(ts !== undefined ? { ts } : {}) });
    tariffReadings(v, { import: ['importT1', 'importT2'], export: ['exportT1', 'exportT2'] }, at);
    const net = (metric: string, del: string, rec: string) => {
      const p = netPower(v.get(del), v.get(rec));
      if (p !== undefined) at(metric, p);
    };
    for (const l of [1, 2, 3]) {
      if (v.has(`voltageL${l}`)) at(`voltage_l${l}_v`, v.get(`voltageL${l}`)!);
      if (v.has(`currentL${l}`)) at(`current_l${l}_a`, v.get(`currentL${l}`)!);
      net(`power_l${l}_w`, `powerDeliveredL${l}`, `powerReceivedL${l}`);
    }
    net('power_w', 'powerDelivered', 'powerReceived');
    if (v.has('ambientTemperature')) at('temperature_c', v.get('ambientTemperature')!);
    if (v.has('ambientHumidity')) at('humidity_pct', v.get('ambientHumidity')!);
    return { readings, events: [] };
  },
  examples: [
    {
      description: 'P1 telegram (corpus)', port: 1, hex: 'FFFE6729D530DD026729E2F4DD0601EB1DB8DD080243F1FEDD0A0000009BDD0C00000000DD22000008D4DD2600000003',
      series: [
        ['energy_import_t1_kwh', 32185.784], ['energy_import_t2_kwh', 38007.294], ['energy_import_kwh', 70193.078],
        ['energy_export_t1_kwh', 0.155], ['energy_export_t2_kwh', 0], ['energy_export_kwh', 0.155], ['voltage_l1_v', 226], ['current_l1_a', 3],
      ].map(([metric, value]) => ({ metric: metric as string, ts: '2024-11-05T08:20:00Z', value: value as number })),
    },
    {
      description: 'tariff indicator after the energy (issue 12 repro: type 0x0E dead-lettered the frame, energy included)', port: 1, hex: 'FFFE6729D530DD0601EB1DB8DD0E0002',
      series: [{ metric: 'energy_import_t1_kwh', ts: '2024-11-05T08:20:00Z', value: 32185.784 }],
    },
    {
      description: 'the vendor\'s own "fPort 2" example (iq-dsmr-lrw-codec.yaml, sent on FPort 1 there): reader and ambient climate, dry-input pulse counters; vendor ambientTemperature 22.64, ambientHumidity 33', port: 1,
      hex: 'FFFE6729D530DD7221DD7108D3DD8108D8DD8221DDD100000000DDD200000000',
      series: [{ metric: 'temperature_c', ts: '2024-11-05T08:20:00Z', value: 22.64 }, { metric: 'humidity_pct', ts: '2024-11-05T08:20:00Z', value: 33 }],
    },
    {
      description: 'export: power delivered by the client is a negative net power', port: 1, hex: 'FFFE6729D530DD1000000000DD1200000D60',
      series: [{ metric: 'power_w', ts: '2024-11-05T08:20:00Z', value: -3424 }],
    },
    { description: 'truncated value', port: 1, hex: 'DD0601EB', error: 'frame too short' },
  ],
});
