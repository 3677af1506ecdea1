/**
 * Milesight channel TLV (all Milesight LoRaWAN sensors): repeated
 * [channel id][channel type][value…], little-endian. Each model lists the channels it
 * knows; an unknown channel is a DecodeError (its length is unknown, so the rest of the
 * frame cannot be trusted). Device-information channels (0xFF xx: versions, serial number,
 * reset, and the replies to configuration downlinks) carry no readings: their fields become
 * one `device_info` event, so a join-time info frame is recorded instead of dead-lettered.
 */
import { DecodeError, type Decoded, type DecodeInput, type DecodedReading } from '../../src/core/model.js';
import { Bytes, requirePort } from './bytes.js';

export interface Channel {
  size: number;
  read(b: Bytes, at: number): DecodedReading[];
}

/** A channel without readings: its fields go to the device_info event (names as the vendor codec's). */
export interface InfoChannel {
  size: number;
  read(b: Bytes, at: number): Record<string, unknown>;
}

const version = (major: string | number, minor: string | number) => `v${major}.${minor}`;

/**
 * Device information every Milesight sensor sends on join and after a reset. The values are
 * formatted as the vendor's 2025 codecs do (e.g. ct101.js 5e5e495). Reset event and device
 * status are fixed values in those codecs whatever the byte says: the channel's presence is
 * the information.
 */
export const DEVICE_INFO: Record<number, InfoChannel> = {
  0xff01: { size: 1, read: (b, at) => ({ ipso_version: version(b.u8(at) >> 4, b.u8(at) & 0x0f) }) },
  0xff09: { size: 2, read: (b, at) => ({ hardware_version: version(b.u8(at).toString(16), b.u8(at + 1) >> 4) }) },
  0xff0a: { size: 2, read: (b, at) => ({ firmware_version: version(b.u8(at).toString(16), b.u8(at + 1).toString(16)) }) },
  0xffff: { size: 2, read: (b, at) => ({ tsl_version: version(b.u8(at), b.u8(at + 1)) }) },
  0xff16: { size: 8, read: (b, at) => ({ sn: b.hex(at, 8).toLowerCase() }) },
  0xff0f: { size: 1, read: (b, at) => ({ lorawan_class: ['Class A', 'Class B', 'Class C', 'Class CtoB'][b.u8(at)] ?? 'unknown' }) },
  0xfffe: { size: 1, read: () => ({ reset_event: 'reset' }) },
  0xff0b: { size: 1, read: () => ({ device_status: 'on' }) },
  0xff0e: { size: 1, read: (b, at) => ({ channel_0e: b.u8(at) }) },
  0xff18: { size: 3, read: (b, at) => ({ channel_18: b.hex(at, 3) }) },
};

/** Replies to configuration downlinks that every Milesight sensor shares; models add their own. */
export const DOWNLINK_REPLIES: Record<number, InfoChannel> = {
  0xff03: { size: 2, read: (b, at) => ({ report_interval: b.u16le(at) }) },
  0xff10: { size: 1, read: () => ({ reboot: 'yes' }) },
};

export const MILESIGHT_PORT = 85;

export function milesightTlv(channels: Record<number, Channel>, info: Record<number, InfoChannel> = {}) {
  const infoChannels: Record<number, InfoChannel> = { ...DEVICE_INFO, ...DOWNLINK_REPLIES, ...info };
  return ({ payload, port }: DecodeInput): Decoded => {
    requirePort(port, [MILESIGHT_PORT]);
    const b = new Bytes(payload);
    const readings: DecodedReading[] = [];
    const fields: Record<string, unknown> = {};
    let i = 0;
    if (payload.length === 0) throw new DecodeError('empty frame');
    while (i < payload.length) {
      if (i + 2 > payload.length) throw new DecodeError(`truncated channel header at byte ${i}`);
      const key = (b.u8(i) << 8) | b.u8(i + 1);
      const ch = Object.prototype.hasOwnProperty.call(channels, key) ? channels[key] : undefined;
      const inf = Object.prototype.hasOwnProperty.call(infoChannels, key) ? infoChannels[key] : undefined;
      if (ch) {
        b.slice(i + 2, ch.size);
        readings.push(...ch.read(b, i + 2));
        i += 2 + ch.size;
      } else if (inf) {
        b.slice(i + 2, inf.size);
        Object.assign(fields, inf.read(b, i + 2));
        i += 2 + inf.size;
      } else {
        throw new DecodeError(`unknown channel 0x${key.toString(16).padStart(4, '0')} at byte ${i}`);
      }
    }
    return { readings, events: Object.keys(fields).length > 0 ? [{ type: 'device_info', data: fields }] : [] };
  };
}

/**
 * The vendor's battery level as sent. Milesight codecs pass the byte through (255 and 101
 * included); the vocabulary's 0-100 range flags such a value out_of_range instead of the
 * gateway inventing 100 %.
 */
export const battery: Channel = { size: 1, read: (b, at) => [{ metric: 'battery_pct', value: b.u8(at) }] };
export const temperature: Channel = { size: 2, read: (b, at) => [{ metric: 'temperature_c', value: b.i16le(at) / 10 }] };
export const humidity: Channel = { size: 1, read: (b, at) => [{ metric: 'humidity_pct', value: b.u8(at) / 2 }] };

/** A data channel as the vendor codec lays it out, producing the vendor's own field names. */
export interface VendorLayout {
  size: number;
  read(b: Buffer, at: number): Record<string, unknown>;
}

/**
 * For the vendor-vector deviation of codecs that stop at the first 0xFF channel (em310-udl.js
 * 62c8acd, em300-di.js 27d8ce2, ws301.js 17be71c): the vendor-style fields of the whole frame,
 * read past the device-information channels (their sizes are fixed, and the vendor's 2025
 * codecs read past them). Undefined when no data channel follows an information channel, so
 * the vendor's own output stands.
 */
export function fieldsPastInfo(hex: string, layout: Record<number, VendorLayout>): Record<string, unknown> | undefined {
  const buf = Buffer.from(hex, 'hex');
  const fields: Record<string, unknown> = {};
  let afterInfo = false;
  let dataAfterInfo = false;
  for (const { key, at, info } of walk(buf, layout)) {
    if (info) { afterInfo = true; continue; }
    Object.assign(fields, layout[key]!.read(buf, at));
    if (afterInfo) dataAfterInfo = true;
  }
  return dataAfterInfo ? fields : undefined;
}

/** The value offset of the first `key` channel in a frame walked with the vendor layout (undefined: none). */
export function channelAt(hex: string, key: number, layout: Record<number, VendorLayout>): number | undefined {
  return [...walk(Buffer.from(hex, 'hex'), layout)].find((c) => c.key === key)?.at;
}

function* walk(buf: Buffer, layout: Record<number, VendorLayout>): Generator<{ key: number; at: number; info: boolean }> {
  for (let i = 0; i + 2 <= buf.length;) {
    const key = (buf[i]! << 8) | buf[i + 1]!;
    const size = (DEVICE_INFO[key] ?? DOWNLINK_REPLIES[key])?.size ?? layout[key]?.size;
    if (size === undefined || i + 2 + size > buf.length) return;
    yield { key, at: i + 2, info: !layout[key] };
    i += 2 + size;
  }
}

/** Whether the vendor's output has any device-information field (the codec read the 0xFF channels). */
export const hasInfoFields = (data: Record<string, unknown>): boolean =>
  ['ipso_version', 'hardware_version', 'firmware_version', 'tsl_version', 'sn', 'lorawan_class', 'reset_event', 'device_status'].some((k) => k in (data ?? {}));
