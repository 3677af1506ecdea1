/**
 * The device-model format: one file per model under devices/, each calling defineModel().
 * A model is data (id, vendor, kind, ports, metrics, examples) plus a pure decoder.
 * Decoders only name vocabulary metrics; units, physical ranges and derived metrics
 * (fill_pct, water_volume_m3) are added by src/ingest/normalise.ts.
 */
import { metricDef, DEVICE_KINDS, EVENT_TYPES, type DeviceKind, type EventType } from './vocabulary.js';

export type ReadingValue = number | boolean | string;

export interface DecodedReading {
  metric: string;
  value: ReadingValue;
  /** measurement time (epoch ms) when the payload carries one; else the receive time is used */
  ts?: number;
}

export interface DecodedEvent {
  type: EventType;
  ts?: number;
  data: Record<string, unknown>;
}

export interface Decoded {
  readings: DecodedReading[];
  events: DecodedEvent[];
}

export interface DecodeInput {
  payload: Buffer;
  /** LoRaWAN FPort, or the {port} of devices/{id}/up/{port}; undefined when none */
  port?: number;
  /** receive time, epoch ms: the reading time unless the payload carries its own */
  receivedAt: number;
  /** the device's attributes (register maps, meter addresses); absent when decoding without a device */
  attributes?: Record<string, unknown>;
}

/** What one poll of a wired device reads (src/connectors does the reading). */
export type PollPlan =
  | { protocol: 'modbus'; unitId: number; blocks: Array<{ function: 'holding' | 'input'; start: number; count: number }> }
  | { protocol: 'dlt645'; meterAddress: string; dataIds: number[] }
  | { protocol: 'cjt188'; meterAddress: string; meterType: number };

/**
 * A model of a wired device, polled through a field connector: the protocol it speaks and
 * the reads one poll makes. The poll's raw answer is then decoded by decode() like any
 * uplink (transport in src/connectors, conversion here).
 */
export interface WiredSpec {
  protocol: PollPlan['protocol'];
  /** the reads for a device with these attributes; throws a DecodeError naming a bad attribute */
  plan(attributes: Record<string, unknown>, limits: { maxRegisters: number }): PollPlan;
}

export type PayloadFormat = 'json' | 'binary' | 'senml';

export interface ModelExample {
  description: string;
  /** FPort for binary models */
  port?: number;
  /** binary payload as hex */
  hex?: string;
  /** JSON payload (native and SenML models) */
  json?: unknown;
  /** device attributes the example needs (binDepthMm, litresPerPulse) */
  attributes?: Record<string, unknown>;
  /** receive time to decode the example with (ISO); default 2026-01-01T00:00:00Z */
  receivedAt?: string;
  /**
   * Expected normalised readings at the message time, metric -> value. For payloads that
   * carry several timestamps use `series` instead (or as well).
   */
  readings?: Record<string, ReadingValue>;
  /** expected readings with their own timestamps (meter logs, profiles) */
  series?: Array<{ metric: string; ts: string; value: ReadingValue }>;
  events?: Array<{ type: EventType; data?: Record<string, unknown> }>;
  /** the decoder must refuse this payload (a DecodeError whose reason contains this text) */
  error?: string;
}

export interface DeviceModel {
  /** `vendor.model`, lower-case */
  id: string;
  vendor: string;
  /** the vendor's product name */
  name: string;
  kind: DeviceKind;
  description?: string;
  format: PayloadFormat;
  /** FPorts the decoder accepts (binary LoRaWAN models) */
  ports?: number[];
  /** expected report interval; offline after 3x this */
  reportIntervalS: number;
  /** below this battery voltage the device is low on battery (battery_low rule) */
  lowBatteryV?: number;
  /** metrics the decoder can emit (derived ones included), all in the vocabulary */
  metrics: string[];
  events?: EventType[];
  /** device attributes this model reads, with what they mean */
  attributes?: Record<string, string>;
  /**
   * Where this decoder departs from the vendor codec's output, and why. Each is declared
   * once here; test/devices/vendor-vectors.test.ts honours exactly these (and fails on a
   * deviation with `applies` that no vector uses).
   */
  deviations?: Deviation[];
  /** the vendor's reference codec this model is checked against (vendor vectors) */
  vendorCodec?: VendorReference;
  /** wired models (polled by a field connector) */
  wired?: WiredSpec;
  decode(input: DecodeInput): Decoded;
  examples: ModelExample[];
}

/** One vendor vector: a payload and the vendor codec's raw output (shared/corpus/vendor-vectors/README.md). */
export interface VendorVector {
  fPort: number;
  hex: string;
  /** the message type the generator built */
  kind: string;
  /** the codec's raw result: {data, errors?, warnings?} or {threw} */
  vendor: { data?: any; errors?: string[]; warnings?: string[]; threw?: string };
}

/**
 * What the gateway must store for a vector: readings in the vocabulary (names, units)
 * at their times (`ts` epoch ms; undefined = the receive time), or 'error' (dead letter).
 */
export type VendorExpectation = DecodedReading[] | 'error';

export interface VendorReference {
  /** codec file in TheThingsNetwork/lorawan-devices, e.g. 'vendor/milesight-iot/em310-udl.js' */
  codec: string;
  /** commit of that repository the vectors were produced with */
  commit: string;
  /**
   * vector files: names under ../shared/corpus/vendor-vectors/ or test/vendor-vectors/
   * (models added here, whose vectors we produced by running the vendor codec outside the project)
   */
  vectors: string[];
  /** device attributes the vectors are decoded with (binDepthMm …) */
  attributes?: Record<string, unknown>;
  /** receive time for the vectors (ISO); default 2026-06-01T00:00:00Z */
  receivedAt?: string;
  /**
   * The vendor codec's `data` in the gateway's vocabulary: renames and unit conversions
   * only (the documented normalisation). Anything dropped or changed on purpose is a
   * `Deviation`, not a silent omission here.
   */
  expect(data: any, vector: VendorVector): DecodedReading[];
}

export interface Deviation {
  /** short stable id, e.g. 'min-max-not-stored' */
  id: string;
  /** why the gateway departs from the vendor codec */
  reason: string;
  /** the vendor codec commit the deviation was checked against */
  commit?: string;
  /** the vectors it concerns; a deviation without it is prose only (no vector differs) */
  applies?: (vector: VendorVector) => boolean;
  /** the expectation for those vectors, from the vendor-derived one */
  expect?: (expected: VendorExpectation, vector: VendorVector) => VendorExpectation;
}

/** A payload the model cannot decode. The message becomes a dead letter with this reason. */
export class DecodeError extends Error {
  readonly code = 'GW_DECODE';
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

const ID_RE = /^[a-z0-9]+(?:[.-][a-z0-9]+)*$/;

/** Checks a model definition once, at load time, so a bad model never reaches ingest. */
export type ModelDefinition = Omit<DeviceModel, 'deviations'> & {
  /** a plain string is a prose deviation (no vector differs because of it) */
  deviations?: Array<string | Deviation>;
};

export function defineModel(definition: ModelDefinition): DeviceModel {
  const model: DeviceModel = {
    ...definition,
    deviations: (definition.deviations ?? []).map((d, i) => (typeof d === 'string' ? { id: `note-${i + 1}`, reason: d } : d)),
  };
  const where = `device model ${model.id}`;
  if (!ID_RE.test(model.id) || !model.id.includes('.') && model.id !== 'senml') throw new Error(`${where}: id must be vendor.model, lower-case`);
  if (!DEVICE_KINDS.includes(model.kind)) throw new Error(`${where}: unknown kind ${model.kind}`);
  for (const m of model.metrics) if (!metricDef(m)) throw new Error(`${where}: metric ${m} is not in the vocabulary`);
  for (const e of model.events ?? []) if (!EVENT_TYPES.includes(e)) throw new Error(`${where}: unknown event type ${e}`);
  if (!(model.reportIntervalS > 0)) throw new Error(`${where}: reportIntervalS must be > 0`);
  if (model.examples.length === 0) throw new Error(`${where}: at least one example is required`);
  const ids = new Set(model.deviations!.map((d) => d.id));
  if (ids.size !== model.deviations!.length) throw new Error(`${where}: duplicate deviation id`);
  return Object.freeze(model);
}

export function emptyDecoded(): Decoded {
  return { readings: [], events: [] };
}
