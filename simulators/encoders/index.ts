import type { EncoderMap } from './types.js';
import { vendorEncoders } from './vendors.js';
import { wiredEncoders } from './wired.js';

/** model id -> encoder for every vendor model the simulator can speak */
export const ENCODERS: EncoderMap = { ...vendorEncoders, ...wiredEncoders };
