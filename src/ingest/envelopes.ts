/**
 * LoRaWAN network-server uplink envelopes: The Things Stack v3 and ChirpStack v4 JSON.
 * Both become one Uplink: which device (devEUI or TTN device id), FPort, the binary
 * FRMPayload, the network server's receive time, and RSSI/SNR of the best gateway.
 * The Things Stack omits zero and false fields from its JSON (protobuf JSON mapping), so a
 * missing f_port is 0, a missing snr is 0, and so on.
 */
import { z } from 'zod';
import { DecodeError } from '../core/model.js';
import { parseIsoTime } from '../core/time.js';
import { parseJson } from '../../devices/lib/native-json.js';

export interface Uplink {
  devEui?: string;
  deviceId?: string;
  port: number;
  payload: Buffer;
  /** network-server receive time, epoch ms (undefined: use our own receive time) */
  receivedAt?: number;
  rssi?: number;
  snr?: number;
}

const num = z.number().finite();
const b64 = z.string().max(1024).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64');

const TtnRx = z.looseObject({ rssi: num.optional(), channel_rssi: num.optional(), snr: num.optional() });
const TtnUplinkSchema = z.looseObject({
  end_device_ids: z.looseObject({
    device_id: z.string().max(128).optional(),
    dev_eui: z.string().optional(),
  }),
  received_at: z.string().optional(),
  uplink_message: z.looseObject({
    f_port: z.number().int().min(0).max(255).optional(),
    frm_payload: b64.optional(),
    received_at: z.string().optional(),
    rx_metadata: z.array(TtnRx).max(64).optional(),
  }).optional(),
});

const CsRx = z.looseObject({ rssi: num.optional(), snr: num.optional() });
const ChirpstackUplinkSchema = z.looseObject({
  time: z.string().optional(),
  deviceInfo: z.looseObject({ devEui: z.string(), deviceName: z.string().optional() }),
  fPort: z.number().int().min(0).max(255).optional(),
  data: b64.optional(),
  rxInfo: z.array(CsRx).max(64).optional(),
});

function parseTime(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  return parseIsoTime(s);
}

function best(rx: Array<{ rssi?: number; channel_rssi?: number; snr?: number }> | undefined): { rssi?: number; snr?: number } {
  if (!rx || rx.length === 0) return {};
  let top: { rssi: number; snr: number } | undefined;
  for (const g of rx) {
    const cand = { rssi: g.rssi ?? g.channel_rssi ?? 0, snr: g.snr ?? 0 };
    if (!top || cand.snr > top.snr || (cand.snr === top.snr && cand.rssi > top.rssi)) top = cand;
  }
  return top!;
}

function fail(format: string, err: z.ZodError): never {
  const i = err.issues[0]!;
  throw new DecodeError(`${format} envelope: ${i.path.join('.') || '(root)'}: ${i.message}`);
}

export function parseTtnV3(payload: Buffer): Uplink {
  const res = TtnUplinkSchema.safeParse(parseJson(payload));
  if (!res.success) fail('ttn-v3', res.error);
  const env = res.data;
  const up = env.uplink_message;
  if (!up) throw new DecodeError('ttn-v3 envelope: no uplink_message (not an uplink)');
  return {
    devEui: env.end_device_ids.dev_eui,
    deviceId: env.end_device_ids.device_id,
    port: up.f_port ?? 0,
    payload: Buffer.from(up.frm_payload ?? '', 'base64'),
    receivedAt: parseTime(up.received_at) ?? parseTime(env.received_at),
    ...best(up.rx_metadata),
  };
}

export function parseChirpstackV4(payload: Buffer): Uplink {
  const res = ChirpstackUplinkSchema.safeParse(parseJson(payload));
  if (!res.success) fail('chirpstack-v4', res.error);
  const env = res.data;
  return {
    devEui: env.deviceInfo.devEui,
    port: env.fPort ?? 0,
    payload: Buffer.from(env.data ?? '', 'base64'),
    receivedAt: parseTime(env.time),
    ...best(env.rxInfo),
  };
}

export const ENVELOPE_FORMATS = { 'ttn-v3': parseTtnV3, 'chirpstack-v4': parseChirpstackV4 } as const;
export type EnvelopeFormat = keyof typeof ENVELOPE_FORMATS;
