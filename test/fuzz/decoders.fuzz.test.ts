/**
 * Hostile input over every decoder and both envelope parsers: for any bytes, a model returns
 * readings or throws a DecodeError (a dead letter with a reason) — never another error,
 * never a hang. Seeded (FUZZ_SEED) so a failure replays; FUZZ_RUNS raises the count.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MODELS } from '../../devices/index.js';
import { DecodeError } from '../../src/core/model.js';
import { normalise } from '../../src/ingest/normalise.js';
import { parseChirpstackV4, parseTtnV3 } from '../../src/ingest/envelopes.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const counts: Record<string, number> = {};

afterAll(() => {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  process.stdout.write(`fuzz: ${total} cases over ${Object.keys(counts).length} targets (seed ${SEED}): ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
});

/**
 * decode + normalise: must succeed or throw DecodeError, and not be slow on this input (a
 * super-linear parse). A case over 50 ms is timed again: a GC pause or a busy machine does
 * not repeat on the same input, a slow decoder does.
 */
function check(name: string, fn: () => unknown): boolean {
  counts[name] = (counts[name] ?? 0) + 1;
  const once = () => {
    const t0 = performance.now();
    try {
      fn();
    } catch (err) {
      if (!(err instanceof DecodeError)) throw new Error(`${name}: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    }
    return performance.now() - t0;
  };
  const ms = once();
  if (ms > 50) {
    const again = Math.min(once(), once());
    if (again > 50) throw new Error(`${name}: took ${ms.toFixed(0)} ms, then ${again.toFixed(0)} ms again`);
  }
  return true;
}

const run = (model: (typeof MODELS)[number], payload: Buffer, port: number | undefined) => () => {
  const d = model.decode({ payload, port, receivedAt: 1_700_000_000_000 });
  normalise(d, { deviceId: 'fuzz', receivedAt: 1_700_000_000_000, attributes: { binDepthMm: 1500, litresPerPulse: 10 }, pseudonymise: (s) => s });
};

// JSON-ish values built from the vocabulary names, so structured inputs reach deep into decoders
const metricNames = [...new Set(MODELS.flatMap((m) => m.metrics))];
const jsonish = fc.oneof(
  fc.json().map((s) => Buffer.from(s)),
  fc.dictionary(fc.oneof(fc.constantFrom(...metricNames, 'ts', 'event', 'credential', '__proto__', 'constructor', 'bn', 'n', 'v', 'u', 't', 'bt'), fc.string()),
    fc.oneof(fc.double(), fc.boolean(), fc.string(), fc.constant(null), fc.integer(), fc.array(fc.anything(), { maxLength: 3 }))).map((o) => Buffer.from(JSON.stringify(o))),
  fc.array(fc.dictionary(fc.constantFrom(...metricNames, 'ts', 'n', 'v', 'u', 't', 'bn', 'bt'), fc.oneof(fc.double(), fc.boolean(), fc.string())), { maxLength: 5 }).map((a) => Buffer.from(JSON.stringify(a))),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
);

describe.each(MODELS.map((m) => [m.id, m] as const))('fuzz %s', (id, model) => {
  it(`${RUNS} hostile payloads: readings or DecodeError`, () => {
    const ports = [...(model.ports ?? []), 0, 255, undefined];
    const bytes = model.format === 'binary'
      ? fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
        // mutations of the model's own examples reach past the first length and type checks
        fc.constantFrom(...model.examples.filter((e) => e.hex).map((e) => Buffer.from(e.hex!, 'hex'))).chain((b) =>
          fc.tuple(fc.nat({ max: Math.max(0, b.length - 1) }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: b.length + 4 })).map(([i, v, cut]) => {
            const copy = Buffer.from(b);
            if (copy.length) copy[i] = v;
            return copy.subarray(0, cut);
          })),
      )
      : jsonish;
    fc.assert(fc.property(bytes, fc.constantFrom(...ports), (payload, port) => check(id, run(model, payload, port))), { numRuns: RUNS, seed: SEED });
    expect(counts[id]).toBeGreaterThanOrEqual(RUNS);
  });
});

describe('fuzz envelopes', () => {
  const envelope = fc.oneof(
    jsonish,
    fc.record({
      end_device_ids: fc.option(fc.record({ device_id: fc.option(fc.string()), dev_eui: fc.option(fc.string()) })),
      uplink_message: fc.option(fc.record({ f_port: fc.option(fc.integer()), frm_payload: fc.option(fc.base64String()), rx_metadata: fc.option(fc.array(fc.record({ rssi: fc.option(fc.double()), snr: fc.option(fc.double()) }))) })),
      deviceInfo: fc.option(fc.record({ devEui: fc.option(fc.string()) })),
      fPort: fc.option(fc.integer()), data: fc.option(fc.base64String()), time: fc.option(fc.string()),
    }).map((o) => Buffer.from(JSON.stringify(o))),
  );
  it.each([['ttn-v3', parseTtnV3], ['chirpstack-v4', parseChirpstackV4]] as const)(`${RUNS} hostile %s envelopes`, (name, parse) => {
    fc.assert(fc.property(envelope, (payload) => check(name, () => parse(payload))), { numRuns: RUNS, seed: SEED });
  });
});
