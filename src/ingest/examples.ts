/** Runs a model's own examples through decode + normalise: used by tests, GET /models and the simulators. */
import type { DeviceModel, ModelExample } from '../core/model.js';
import { normalise, type Normalised } from './normalise.js';

export const EXAMPLE_RECEIVED_AT = Date.parse('2026-01-01T00:00:00Z');

export function examplePayload(example: ModelExample): Buffer {
  if (example.hex !== undefined) return Buffer.from(example.hex, 'hex');
  if (example.json !== undefined) return Buffer.from(typeof example.json === 'string' ? example.json : JSON.stringify(example.json));
  throw new Error(`example "${example.description}" has neither hex nor json`);
}

export function runExample(model: DeviceModel, example: ModelExample, deviceId = 'example'): Normalised {
  const receivedAt = example.receivedAt ? Date.parse(example.receivedAt) : EXAMPLE_RECEIVED_AT;
  const decoded = model.decode({ payload: examplePayload(example), port: example.port, receivedAt, attributes: example.attributes });
  return normalise(decoded, { deviceId, receivedAt, attributes: example.attributes ?? {}, pseudonymise: (raw) => `h:example-${raw.length}` });
}
