/**
 * Milesight channel TLV (all Milesight LoRaWAN sensors): repeated
 * [channel id][channel type][value…], little-endian. Each model lists the channels it
 * knows; an unknown channel is a DecodeError (its length is unknown, so the rest of the
 * frame cannot be trusted). Device-information channels (0xFF xx) are skipped.
 */
import { DecodeError, type Decoded, type DecodeInput, type DecodedReading } from '../../src/core/model.js';
import { Bytes, requirePort } from './bytes.js';

export interface Channel {
  size: number;
  read(b: Bytes, at: number): DecodedReading[];
}

/** Device information frames every Milesight sensor sends on join (protocol/hardware/firmware version, serial…). */
const DEVICE_INFO: Record<number, number> = { 0xff01: 1, 0xff09: 2, 0xff0a: 2, 0xff0b: 1, 0xff0f: 1, 0xff16: 8, 0xfffe: 1, 0xff0e: 1, 0xff18: 3 };

export const MILESIGHT_PORT = 85;

export function milesightTlv(channels: Record<number, Channel>) {
  return ({ payload, port }: DecodeInput): Decoded => {
    requirePort(port, [MILESIGHT_PORT]);
    const b = new Bytes(payload);
    const readings: DecodedReading[] = [];
    let i = 0;
    if (payload.length === 0) throw new DecodeError('empty frame');
    while (i < payload.length) {
      if (i + 2 > payload.length) throw new DecodeError(`truncated channel header at byte ${i}`);
      const key = (b.u8(i) << 8) | b.u8(i + 1);
      const ch = channels[key];
      const info = DEVICE_INFO[key];
      if (ch) {
        readings.push(...ch.read(b, i + 2));
        i += 2 + ch.size;
      } else if (info !== undefined) {
        b.slice(i + 2, info);
        i += 2 + info;
      } else {
        throw new DecodeError(`unknown channel 0x${key.toString(16).padStart(4, '0')} at byte ${i}`);
      }
    }
    return { readings, events: [] };
  };
}

/** Common channel readers */
export const battery: Channel = { size: 1, read: (b, at) => [{ metric: 'battery_pct', value: Math.min(100, b.u8(at)) }] };
export const temperature: Channel = { size: 2, read: (b, at) => [{ metric: 'temperature_c', value: b.i16le(at) / 10 }] };
export const humidity: Channel = { size: 1, read: (b, at) => [{ metric: 'humidity_pct', value: b.u8(at) / 2 }] };
