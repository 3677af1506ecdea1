import type { EncoderMap } from './types.js';
// --- section A imports ---
// --- end section A imports ---
// --- section B imports ---
// --- end section B imports ---
// --- section C imports ---
// --- end section C imports ---

/** model id -> encoder for every vendor model the simulator can speak */
export const ENCODERS: EncoderMap = {
  // --- section A ---
  // --- end section A ---
  // --- section B ---
  // --- end section B ---
  // --- section C ---
  // --- end section C ---
};
