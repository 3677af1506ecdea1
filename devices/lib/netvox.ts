/**
 * Netvox LoRaWAN application frames (the layout of Netvox's shared TTN codecs):
 * FPort 6 reports [version][device type][report type][payload…], FPort 7 configuration
 * responses [command][device type][payload…], 11 bytes on the air. Report type 0x00 is
 * the start-up version report; Netvox's codec reads every other report type as the
 * status report, and so does this one. The device-type byte names the product: a frame
 * of another product is refused, because the same bytes mean other things there
 * (R311B, R718DA …) and the device is then registered with the wrong model.
 */
import { DecodeError, type Decoded, type DecodeInput, type DecodedReading, type Deviation, type VendorReference, type VendorVector } from '../../src/core/model.js';
import { Bytes, requirePort, round } from './bytes.js';

export const NETVOX_PORTS = [6, 7] as const;

export interface NetvoxProduct {
  /** device-type byte (byte 1) */
  deviceType: number;
  name: string;
  /** bytes the status report needs, counted from the start of the frame */
  statusLength: number;
  status(b: Bytes): DecodedReading[];
}

/**
 * Battery byte of Netvox status reports: 0.1 V steps in bits 0-6, bit 7 set = the device
 * reports a low battery (the codec prints "2.3(low battery)").
 */
export function netvoxBattery(byte: number): DecodedReading[] {
  return [
    { metric: 'battery_v', value: round((byte & 0x7f) / 10, 1) },
    { metric: 'battery_low', value: (byte & 0x80) !== 0 },
  ];
}

/** R311A, R718F, R730F: [01][type][01][battery][contact: 0 closed, else open] */
export const contactStatus = (b: Bytes): DecodedReading[] => [
  ...netvoxBattery(b.u8(3)),
  { metric: 'door_open', value: b.u8(4) !== 0 },
];

const hex2 = (v: number) => v.toString(16).padStart(2, '0');

export function netvoxDecoder(product: NetvoxProduct) {
  return ({ payload, port }: DecodeInput): Decoded => {
    const p = requirePort(port, NETVOX_PORTS);
    const b = new Bytes(payload);
    if (payload.length < 2) throw new DecodeError(`frame too short: need 2 bytes, have ${payload.length}`);
    const type = b.u8(1);
    if (type !== product.deviceType) {
      throw new DecodeError(`device type 0x${hex2(type)} is not ${product.name} (0x${hex2(product.deviceType)}): registered with the wrong model?`);
    }
    if (p === 6) {
      if (payload.length < 3) throw new DecodeError(`frame too short: need 3 bytes, have ${payload.length}`);
      if (b.u8(2) === 0x00) {
        b.slice(0, 9);
        return {
          readings: [],
          events: [{
            type: 'device_info',
            data: { device: product.name, report: 'version', softwareVersion: b.u8(3) / 10, hardwareVersion: b.u8(4), dateCode: [5, 6, 7, 8].map((i) => hex2(b.u8(i))).join('') },
          }],
        };
      }
      b.slice(0, product.statusLength);
      return { readings: product.status(b), events: [] };
    }
    const cmd = b.u8(0);
    let data: Record<string, unknown>;
    if (cmd === 0x81) data = { report: 'config_report_rsp', status: b.u8(2) === 0 ? 'success' : 'failure' };
    else if (cmd === 0x82) data = { report: 'read_config_report_rsp', minTimeS: b.u16be(2), maxTimeS: b.u16be(4), batteryChangeV: b.u8(6) / 10 };
    else data = { report: `command 0x${hex2(cmd)}`, hex: payload.toString('hex').toUpperCase() };
    return { readings: [], events: [{ type: 'device_info', data: { device: product.name, ...data } }] };
  };
}

/**
 * The vendor reference of the Netvox contact sensors (R311A, R718F, R730F share
 * vendor/netvox/payload/r311a_r718f_r730f.js): its output in the vocabulary, and where
 * the gateway departs from it.
 */
export const NETVOX_CONTACT_COMMIT = '0a254aa';

export function netvoxContactReference(name: string, vectors: string): { vendorCodec: VendorReference; deviations: Array<string | Deviation> } {
  const kind = (k: string) => (v: VendorVector) => v.kind === k;
  return {
    vendorCodec: {
      codec: 'vendor/netvox/payload/r311a_r718f_r730f.js',
      commit: NETVOX_CONTACT_COMMIT,
      vectors: [vectors],
      expect: (d) => {
        if (d.Volt === undefined || d.Volt === null) return [];
        // "2.3(low battery)" when bit 7 of the battery byte is set, else a number
        const low = typeof d.Volt === 'string';
        return [
          { metric: 'battery_v', value: low ? Number.parseFloat(d.Volt) : d.Volt },
          { metric: 'battery_low', value: low },
          ...(d.OnOff !== undefined ? [{ metric: 'door_open', value: d.OnOff !== 0 }] : []),
        ];
      },
    },
    deviations: [
      {
        id: 'truncated-frame',
        reason: `A report cut short: the vendor codec reads missing bytes as undefined and reports what it gets (a status report without its contact byte still yields "Volt", a 3-byte one Volt NaN). The gateway dead-letters frames shorter than their layout, so no made-up state is stored.`,
        commit: NETVOX_CONTACT_COMMIT,
        applies: kind('truncated'),
        expect: () => 'error',
      },
      {
        id: 'foreign-device-type',
        reason: `The device-type byte names another Netvox product; the vendor codec decodes the bytes anyway (Device: another name or undefined). The same bytes mean other things on other products, so the gateway dead-letters the frame: the device is registered as ${name} by mistake.`,
        commit: NETVOX_CONTACT_COMMIT,
        applies: kind('foreign-device'),
        expect: () => 'error',
      },
      'Version report (FPort 6, report type 0x00) and configuration responses (FPort 7) carry no readings: the gateway records them as device_info events with the vendor\'s fields (software/hardware version, date code, min/max report time, battery change threshold).',
    ],
  };
}
