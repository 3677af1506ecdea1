/**
 * The model registry: every file in devices/ (one model each) is listed here once.
 * test/devices/registry.test.ts fails when a model file is missing from this list.
 */
import type { DeviceModel } from '../src/core/model.js';

import genericDoorAccess from './generic.door-access.js';
import genericParking from './generic.parking.js';
import genericWaterMeter from './generic.water-meter.js';
import genericElectricityMeter from './generic.electricity-meter.js';
import genericWaterQuality from './generic.water-quality.js';
import genericBinFill from './generic.bin-fill.js';
// --- section A: Milesight, Dragino, Browan, Bosch, Nwave (imports) ---
// --- end section A imports ---
// --- section B: Decentlab, Dingtek (imports) ---
// --- end section B imports ---
// --- section C: Kamstrup, Adeunis, YOBIIQ, SenML (imports) ---
// --- end section C imports ---

export const MODELS: readonly DeviceModel[] = [
  genericDoorAccess,
  genericParking,
  genericWaterMeter,
  genericElectricityMeter,
  genericWaterQuality,
  genericBinFill,
  // --- section A models ---
  // --- end section A models ---
  // --- section B models ---
  // --- end section B models ---
  // --- section C models ---
  // --- end section C models ---
];

const byId = new Map(MODELS.map((m) => [m.id, m]));
if (byId.size !== MODELS.length) throw new Error('device models: duplicate model id');

export function getModel(id: string): DeviceModel | undefined {
  return byId.get(id);
}
