/**
 * Decentlab protocol version 2 (all Decentlab DL-* sensors): byte 0 = version (2),
 * bytes 1-2 = device id, bytes 3-4 = sensor-presence flags (big-endian); for every set flag,
 * least significant first, that sensor group's words (uint16 big-endian) follow.
 * Each model declares its groups: how many words and which readings they give.
 */
import { DecodeError, type Decoded, type DecodeInput, type DecodedReading, type ReadingValue } from '../../src/core/model.js';
import { Bytes, requirePort, round } from './bytes.js';

export interface DecentlabGroup {
  words: number;
  readings(x: number[]): DecodedReading[];
}

export const DECENTLAB_PORT = 1;

/** Every Decentlab device has the battery group last: one word, millivolts. */
export const batteryGroup: DecentlabGroup = { words: 1, readings: (x) => [{ metric: 'battery_v', value: round(x[0]! / 1000, 3) }] };

/** (x - 32768) / scale: Decentlab's signed encoding in an unsigned word */
export const signed = (x: number, scale: number, decimals = 2) => round((x - 32768) / scale, decimals);

export function decentlabV2(groups: DecentlabGroup[]) {
  return ({ payload, port }: DecodeInput): Decoded => {
    requirePort(port, [DECENTLAB_PORT]);
    const b = new Bytes(payload);
    if (payload.length < 5) throw new DecodeError(`frame too short: need 5 bytes, have ${payload.length}`);
    const version = b.u8(0);
    if (version !== 2) throw new DecodeError(`protocol version ${version} is not supported (expected 2)`);
    const flags = b.u16be(3);
    if (flags >> groups.length !== 0) throw new DecodeError(`unknown sensor flags 0x${flags.toString(16)}`);
    const readings: DecodedReading[] = [];
    let at = 5;
    groups.forEach((g, bit) => {
      if (!(flags & (1 << bit))) return;
      const x = Array.from({ length: g.words }, (_, k) => b.u16be(at + 2 * k));
      at += 2 * g.words;
      readings.push(...g.readings(x));
    });
    if (at !== payload.length) throw new DecodeError(`frame has ${payload.length - at} bytes after the last sensor group`);
    // no sensor group at all: the vendor codec still decodes the frame (version, device id), so it is recorded, not dead-lettered
    if (flags === 0) return { readings, events: [{ type: 'device_info', data: { protocol_version: version, device_id: b.u16be(1) } }] };
    return { readings, events: [] };
  };
}

/**
 * The vendor codec's output ({name: {displayName, value, unit}}) in the vocabulary: each
 * mapped field present becomes its metric (`as` turns the vendor value into the stored one).
 */
export function decentlabExpect(map: Record<string, { metric: string; as?: (v: number) => ReadingValue }>) {
  return (d: Record<string, { value: number } | number>): DecodedReading[] => Object.entries(map).flatMap(([field, m]) => {
    const f = d[field];
    if (f === undefined || typeof f === 'number') return [];
    return [{ metric: m.metric, value: m.as ? m.as(f.value) : f.value }];
  });
}
