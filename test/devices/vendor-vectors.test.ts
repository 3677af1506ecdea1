/**
 * Every model against its vendor's own reference codec (issue 12): each vendor vector is a
 * payload with the output of the vendor's `decodeUplink`, run unchanged outside the
 * project. Where the vendor decodes readings, the gateway (decode + normalise) must store
 * the same values at the same times after the documented normalisation, which the model
 * states in `vendorCodec.expect`. Every difference on purpose is a `Deviation` in the model
 * file; the test applies exactly those, and fails on a declared deviation no vector needs.
 *
 * Vectors: ../shared/corpus/vendor-vectors/ (given) and test/vendor-vectors/ (models we
 * added, produced by running the vendor codec outside the project; only the pairs are kept).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODELS } from '../../devices/index.js';
import { DecodeError, type DecodedReading, type DeviceModel, type VendorExpectation, type VendorVector } from '../../src/core/model.js';
import { normalise } from '../../src/ingest/normalise.js';
import { ROOT } from '../helpers/gateway.js';

const DIRS = [join(ROOT, '../shared/corpus/vendor-vectors'), join(ROOT, 'test/vendor-vectors')];
const DEFAULT_RECEIVED_AT = '2026-06-01T00:00:00Z';

export function loadVectors(file: string): VendorVector[] {
  const dir = DIRS.find((d) => existsSync(join(d, file)));
  if (!dir) throw new Error(`vendor vectors ${file} not found in ${DIRS.join(' or ')}`);
  return readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as VendorVector);
}

interface Row { metric: string; ts: number; value: unknown }

/** what the gateway stores for a vector: normalised readings, or 'error' for a dead letter */
function gatewayOutput(model: DeviceModel, v: VendorVector, receivedAt: number, attributes: Record<string, unknown>): Row[] | 'error' {
  try {
    const decoded = model.decode({ payload: Buffer.from(v.hex, 'hex'), port: v.fPort, receivedAt });
    return normalise(decoded, { deviceId: 'vector', receivedAt, attributes }).readings.map((r) => ({ metric: r.metric, ts: r.ts, value: r.value }));
  } catch (err) {
    if (err instanceof DecodeError) return 'error';
    throw err; // anything but a DecodeError is a decoder bug
  }
}

/** the vendor-derived expectation, through the same normalisation (derived metrics such as fill_pct) */
function expected(model: DeviceModel, exp: VendorExpectation, receivedAt: number, attributes: Record<string, unknown>): Row[] | 'error' {
  if (exp === 'error') return 'error';
  const readings: DecodedReading[] = exp;
  return normalise({ readings, events: [] }, { deviceId: 'vector', receivedAt, attributes }).readings.map((r) => ({ metric: r.metric, ts: r.ts, value: r.value }));
}

const key = (r: Row) => `${r.metric}@${r.ts}`;
const sorted = (rows: Row[]) => [...rows].sort((a, b) => key(a).localeCompare(key(b)));
const vendorFailed = (v: VendorVector) => v.vendor.threw !== undefined || v.vendor.data === undefined || (v.vendor.errors?.length ?? 0) > 0 && isEmptyData(v.vendor.data);
function isEmptyData(d: unknown): boolean {
  return d === null || d === undefined || (typeof d === 'object' && Object.keys(d as object).length === 0);
}

const checked = MODELS.filter((m) => m.vendorCodec);

describe.each(checked.map((m) => [m.id, m] as const))('vendor vectors: %s', (_id, model) => {
  const ref = model.vendorCodec!;
  const receivedAt = Date.parse(ref.receivedAt ?? DEFAULT_RECEIVED_AT);
  const attributes = ref.attributes ?? {};
  const used = new Map<string, number>();

  describe.each(ref.vectors.map((f) => [f] as const))('%s', (file) => {
    const vectors = loadVectors(file);
    it.each(vectors.map((v, i) => [`#${i} ${v.kind} ${v.fPort}:${v.hex.slice(0, 40)}`, v] as const))('%s', (_label, v) => {
      let exp: VendorExpectation = vendorFailed(v) ? 'error' : ref.expect(v.vendor.data, v);
      for (const d of model.deviations ?? []) {
        if (!d.applies || !d.applies(v)) continue;
        used.set(d.id, (used.get(d.id) ?? 0) + 1);
        if (d.expect) exp = d.expect(exp, v);
      }
      const want = expected(model, exp, receivedAt, attributes);
      const got = gatewayOutput(model, v, receivedAt, attributes);
      if (want === 'error') {
        // the vendor refuses it: the gateway must not store readings from it
        if (got !== 'error') expect(got, 'vendor codec rejects this payload but the gateway stores readings').toEqual([]);
        return;
      }
      // a frame the vendor decodes (even to no readings: configuration, device info) is no dead letter
      expect(got, 'gateway dead-letters a payload the vendor decodes').not.toBe('error');
      const close = sorted(want).map((r) => (typeof r.value === 'number' ? { ...r, value: expect.closeTo(r.value, 6) } : r));
      expect(sorted(got as Row[])).toEqual(close);
      for (const r of got as Row[]) expect(model.metrics, `${r.metric} emitted but not declared in metrics`).toContain(r.metric);
    });
  });

  it('every deviation that names vectors is needed by at least one', () => {
    for (const d of model.deviations ?? []) {
      if (d.applies) expect(used.get(d.id) ?? 0, `deviation ${d.id} applies to no vector`).toBeGreaterThan(0);
    }
  });
});

describe('vendor vector coverage', () => {
  it('every LoRaWAN vendor model is checked against its vendor codec', () => {
    // wired (RS-485) models have no LoRaWAN codec: they are checked against published frames and a real Modbus peer
    const unchecked = MODELS.filter((m) => m.format === 'binary' && !m.wired && !m.vendorCodec && !m.id.startsWith('generic.')).map((m) => m.id);
    expect(unchecked).toEqual([]);
  });
  it('every vector file of the corpus is used by a model', () => {
    const files = new Set(checked.flatMap((m) => m.vendorCodec!.vectors));
    const given = ['adeunis.pulse4', 'bosch.tps110', 'browan.tbdw100', 'decentlab.dl-ctd10', 'decentlab.dl-mbx', 'decentlab.dl-ntu', 'decentlab.dl-optod',
      'decentlab.dl-pheht', 'dingtek.df702', 'dingtek.do201', 'dragino.ldds75', 'dragino.lds02', 'dragino.lds03a', 'kamstrup.flowiq2200', 'milesight.ct101',
      'milesight.em300-di', 'milesight.em310-udl.codec-em310-udl-2025', 'milesight.em310-udl', 'milesight.ws301', 'nwave.nps405', 'yobiiq.em4301', 'yobiiq.iq-dsmr-lrw'];
    expect(given.filter((g) => !files.has(`${g}.jsonl`))).toEqual([]);
  });
});
