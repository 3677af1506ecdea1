/** Dragino frames share one habit: battery in the low 14 bits of the first two bytes, millivolts, big-endian. */
import type { Bytes } from './bytes.js';
import { round } from './bytes.js';

export const draginoBattery = (b: Bytes): number => round((b.u16be(0) & 0x3fff) / 1000, 3);
