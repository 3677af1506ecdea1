/**
 * Elsys payload (every Elsys sensor): repeated [type][value…], big-endian, the value size
 * fixed by the type (Elsys payload specification, the types of TTN's elsys.js). A model
 * maps the types its sensor has to readings; the types of other Elsys sensors (CO2,
 * light, GPS …) are skipped by their size. An unknown type is a DecodeError: its size is
 * unknown, so nothing after it can be read (Elsys's codec silently stops there).
 */
import { DecodeError, type Decoded, type DecodeInput, type DecodedReading, type Deviation, type VendorVector } from '../../src/core/model.js';
import { Bytes, requirePort } from './bytes.js';

/** value size in bytes per type */
export const ELSYS_SIZES: Readonly<Record<number, number>> = Object.freeze({
  0x01: 2, 0x02: 1, 0x03: 3, 0x04: 2, 0x05: 1, 0x06: 2, 0x07: 2, 0x08: 2, 0x09: 6, 0x0a: 2, 0x0b: 4, 0x0c: 2, 0x0d: 1, 0x0e: 2,
  0x0f: 1, 0x10: 4, 0x11: 1, 0x12: 1, 0x13: 65, 0x14: 4, 0x15: 2, 0x16: 2, 0x17: 4, 0x18: 2, 0x19: 2, 0x1a: 1, 0x1b: 4, 0x1c: 2,
});

export const ELSYS = {
  TEMP: 0x01, RH: 0x02, ACC: 0x03, VDD: 0x07, PULSE1: 0x0a, PULSE1_ABS: 0x0b, EXT_DIGITAL: 0x0d, DISTANCE: 0x0e, ACC_MOTION: 0x0f, PRESSURE: 0x14,
} as const;

/** Elsys sensors send on FPort 5 by default (configurable); TTN's examples use FPort 1. */
export const ELSYS_PORTS = [1, 5] as const;

export type ElsysReader = (b: Bytes, at: number) => DecodedReading[];

/** readers shared by the models: the value starts at `at` */
export const elsysTemperature: ElsysReader = (b, at) => [{ metric: 'temperature_c', value: b.i16be(at) / 10 }];
export const elsysHumidity: ElsysReader = (b, at) => [{ metric: 'humidity_pct', value: b.u8(at) }];
export const elsysVdd: ElsysReader = (b, at) => [{ metric: 'battery_v', value: b.u16be(at) / 1000 }];

export function elsysDecoder(readers: Partial<Record<number, ElsysReader>>) {
  return ({ payload, port }: DecodeInput): Decoded => {
    requirePort(port, ELSYS_PORTS);
    if (payload.length === 0) throw new DecodeError('empty frame');
    const b = new Bytes(payload);
    const readings: DecodedReading[] = [];
    for (let i = 0; i < payload.length;) {
      const type = b.u8(i);
      const size = ELSYS_SIZES[type];
      if (size === undefined) throw new DecodeError(`unknown Elsys data type 0x${type.toString(16).padStart(2, '0')} at byte ${i}`);
      b.slice(i + 1, size);
      const read = readers[type];
      if (read) readings.push(...read(b, i + 1));
      i += 1 + size;
    }
    return { readings, events: [] };
  };
}

/** TTN's elsys.js, shared by every Elsys model */
export const ELSYS_CODEC = 'vendor/elsys/elsys.js';
export const ELSYS_COMMIT = '0a254aa';

/** the deviations every Elsys model has against elsys.js */
export function elsysDeviations(kind: (k: string) => (v: VendorVector) => boolean): Deviation[] {
  return [
    {
      id: 'truncated-frame',
      reason: 'A frame cut inside a value: elsys.js reads the missing bytes as undefined, which its bit operations turn into 0 (a temperature type with no value reads 0 °C, a distance 0 mm). The gateway dead-letters the frame with the offset instead of storing made-up zeros.',
      commit: ELSYS_COMMIT,
      applies: kind('truncated'),
      expect: () => 'error',
    },
    {
      id: 'unknown-type',
      reason: 'A data type elsys.js does not know (newer firmware types, 0x3D debug, 0x3E settings): its size is unknown, so nothing after it can be read. elsys.js silently stops there and returns the values before it; the gateway dead-letters the frame with the type (kept raw in the dead-letter store for replay) rather than store part of a frame it cannot account for.',
      commit: ELSYS_COMMIT,
      applies: kind('unknown-type'),
      expect: () => 'error',
    },
  ];
}

/** elsys.js field -> vocabulary, for the fields the models store */
export function elsysCommonExpect(d: any): DecodedReading[] {
  return [
    ...(d.temperature !== undefined ? [{ metric: 'temperature_c', value: d.temperature }] : []),
    ...(d.humidity !== undefined ? [{ metric: 'humidity_pct', value: d.humidity }] : []),
    ...(d.vdd !== undefined ? [{ metric: 'battery_v', value: d.vdd / 1000 }] : []),
  ];
}
