import type { EncoderMap } from './types.js';
import { vendorEncoders } from './vendors.js';
import { newBEncoders } from './new-b.js';
import { newAEncoders } from './new-a.js';
import { wiredEncoders } from './wired.js';

/** model id -> encoder for every vendor model the simulator can speak */
export const ENCODERS: EncoderMap = { ...vendorEncoders, ...newBEncoders, ...newAEncoders, ...wiredEncoders };
