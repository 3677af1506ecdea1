/**
 * Channels of the Milesight EM300 series beyond the basic TLV readers (milesight-tlv.ts),
 * as Milesight's current decoders define them (SensorDecoders em300-mcs / em300-zld, 2025):
 * the 20 CE history record, the FF FF TSL version, and the replies to downlink commands
 * (FF or FE + command). A state byte (magnet, leak) is 0 or 1; anything else is "unknown"
 * to Milesight and gives no reading rather than a guessed state.
 */
import type { Decoded, DecodedReading, DecodeInput, Deviation } from '../../src/core/model.js';
import type { Bytes } from './bytes.js';
import type { Channel } from './milesight-tlv.js';

export function em300State(metric: string, at: number, b: Bytes, ts?: number): DecodedReading[] {
  const v = b.u8(at);
  if (v > 1) return [];
  return [{ metric, value: v === 1, ...(ts !== undefined ? { ts } : {}) }];
}

/** 20 CE: timestamp (u32 LE, s) + temperature (i16 LE, 0.1 °C) + humidity (0.5 %) + state byte */
export function em300History(stateMetric: string): Channel {
  return {
    size: 8,
    read: (b, at) => {
      const ts = b.u32le(at) * 1000;
      return [
        { metric: 'temperature_c', value: b.i16le(at + 4) / 10, ts },
        { metric: 'humidity_pct', value: b.u8(at + 6) / 2, ts },
        ...em300State(stateMetric, at + 7, b, ts),
      ];
    },
  };
}

const none = (size: number): Channel => ({ size, read: () => [] });

/** FF FF TSL version and the FF/FE downlink replies: configuration, no readings */
export const EM300_CONFIG_CHANNELS: Record<number, Channel> = (() => {
  const sizes: Record<number, number> = { 0x02: 2, 0x03: 2, 0x06: 9, 0x10: 1, 0x27: 1, 0x28: 1, 0x68: 1, 0x69: 1, 0x6a: 3, 0x6d: 1, 0x79: 6, 0xea: 3 };
  const out: Record<number, Channel> = { 0xffff: none(2) };
  for (const [cmd, size] of Object.entries(sizes)) {
    out[0xff00 | Number(cmd)] = none(size);
    out[0xfe00 | Number(cmd)] = none(size);
  }
  return out;
})();

/**
 * A frame of configuration only (version channels, downlink replies) is recorded as a
 * device_info event with its bytes, not dropped: milesightTlv skips those channels
 * without an event of its own.
 */
export function recordConfiguration(decode: (input: DecodeInput) => Decoded): (input: DecodeInput) => Decoded {
  return (input) => {
    const out = decode(input);
    const first = input.payload[0];
    if (out.readings.length === 0 && out.events.length === 0 && (first === 0xff || first === 0xfe)) {
      out.events.push({ type: 'device_info', data: { frame: 'configuration', hex: input.payload.toString('hex').toUpperCase() } });
    }
    return out;
  };
}

/** EM300 family: a channel neither vendor codec knows ends the frame as a dead letter (deviation shared by the EM300 models) */
export function em300UnknownChannel(commit: string): Deviation {
  return {
    id: 'unknown-channel',
    reason: 'A channel neither codec knows (another model\'s channel): its length is unknown, so nothing after it can be parsed. The codecs stop there and silently return the channels before it; the gateway dead-letters the whole frame with the channel id (kept raw in the dead-letter store for replay) rather than storing part of a frame it cannot account for.',
    commit,
    applies: (v) => v.kind === 'unknown-channel',
    expect: () => 'error',
  };
}
