/** Limits per user-codec call (config `codecs`, docs/devices.md "Sandbox and limits"). */
import { z } from 'zod';

export const CodecLimitsSchema = z.strictObject({
  /** per call: loading the source and running decodeUplink */
  timeMs: z.number().int().min(1).max(10_000).default(50),
  /** QuickJS heap per call (each call has a fresh runtime) */
  memoryMb: z.number().int().min(1).max(512).default(16),
  stackKb: z.number().int().min(32).max(8192).default(512),
  /** JSON text of one call's output */
  outputBytes: z.number().int().min(1024).max(16 * 1048576).default(262_144),
  /** calls waiting per codec before further messages are refused */
  queuePerCodec: z.number().int().min(1).max(100_000).default(500),
  /** a call that has not returned after this long kills the sandbox thread */
  watchdogMs: z.number().int().min(100).max(60_000).default(1000),
}).prefault({});
export type CodecLimits = z.infer<typeof CodecLimitsSchema>;
