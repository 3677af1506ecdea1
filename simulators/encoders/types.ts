/**
 * Vendor encoders: the inverse of a model's decoder, following the vendor's byte layout.
 * The fleet simulator uses them to publish realistic binary uplinks, and the round-trip
 * tests use them to check that decoders follow the layouts and not just the examples.
 * Values are normalised metrics (VOCABULARY.md names and units).
 */
export type SimValues = Record<string, number | boolean>;

export interface Encoded {
  port: number;
  payload: Buffer;
}

export interface VendorEncoder {
  /** the metrics this encoder can carry, with the range a simulator may draw from */
  metrics: Record<string, { min: number; max: number; step?: number } | 'boolean'>;
  /** device attributes the payloads need to decode (wired models: register map, meter address) */
  attributes?: Record<string, unknown>;
  encode(values: SimValues): Encoded;
}

export type EncoderMap = Record<string, VendorEncoder>;
