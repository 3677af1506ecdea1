/**
 * The one step from a payload to what is stored: the model's decoder, the radio readings of
 * the envelope, normalisation (src/ingest/normalise.ts). The ingest pipeline and
 * `POST /api/v1/models/{id}/decode` both call decodeForStorage, so a payload tested through
 * the API gives exactly the readings a device of that model would store. Policies applied
 * after normalisation (timestamp policy) belong in finish(), for both callers at once.
 */
import { DecodeError, type Decoded, type DecodedReading, type DecodeInput } from '../core/model.js';
import type { CatalogueModel } from '../core/catalogue.js';
import { normalise, type Normalised } from './normalise.js';
import { enforceTimePolicy, type TimePolicy } from './time-policy.js';

export interface StorageContext {
  deviceId: string;
  attributes: Record<string, unknown>;
  pseudonymise?: (raw: string) => string;
  /** readings the transport adds (rssi_dbm, snr_db of a LoRaWAN envelope), at the reading time */
  extra?: DecodedReading[];
  /** the gateway's receive time the time policy measures against (default: input.receivedAt) */
  receivedAt?: number;
  /** readings dated too far ahead make the message a dead letter (src/ingest/time-policy.ts) */
  timePolicy?: TimePolicy;
}

/**
 * Decoded and normalised readings and events of one payload; a DecodeError (thrown, or the
 * promise rejected for a sandboxed codec) carries the dead-letter reason. Synchronous for
 * built-in models so the hot path stays without a promise per message.
 */
export function decodeForStorage(model: CatalogueModel, input: DecodeInput, ctx: StorageContext): Normalised | Promise<Normalised> {
  if (model.decodeAsync) return model.decodeAsync(input).then((decoded) => finish(decoded, input, ctx));
  return finish(model.decode(input), input, ctx);
}

function finish(decoded: Decoded, input: DecodeInput, ctx: StorageContext): Normalised {
  if (!decoded || !Array.isArray(decoded.readings) || !Array.isArray(decoded.events)) throw new DecodeError('decoder returned no result');
  if (ctx.extra) for (const r of ctx.extra) decoded.readings.push(r);
  const out = normalise(decoded, { deviceId: ctx.deviceId, receivedAt: input.receivedAt, attributes: ctx.attributes, pseudonymise: ctx.pseudonymise });
  if (ctx.timePolicy) enforceTimePolicy(out, ctx.receivedAt ?? input.receivedAt, ctx.timePolicy);
  return out;
}

/** The dead-letter reason of a decoding failure (the pipeline's wording, for the decode endpoint too). */
export function deadLetterReason(err: unknown): string {
  return err instanceof DecodeError ? err.message : `decoder failed: ${(err as Error)?.message ?? String(err)}`;
}
