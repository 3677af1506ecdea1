/** Every model file is registered, ids are unique, every model has examples, every metric is in the vocabulary. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODELS } from '../../devices/index.js';
import { metricDef } from '../../src/core/vocabulary.js';
import { ROOT } from '../helpers/gateway.js';

describe('device model registry', () => {
  const files = readdirSync(join(ROOT, 'devices')).filter((f) => f.endsWith('.ts') && f !== 'index.ts');

  it('registers every model file, once, under the id of its file name', async () => {
    const ids = MODELS.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const f of files) {
      const mod = (await import(join(ROOT, 'devices', f))) as { default: { id: string } };
      expect(mod.default.id, f).toBe(f.replace(/\.ts$/, ''));
      expect(ids, `${f} is not listed in devices/index.ts`).toContain(mod.default.id);
    }
    expect(files.length).toBe(MODELS.length);
  });

  it.each(MODELS.map((m) => [m.id, m] as const))('%s: examples, vocabulary metrics, ports', (_id, m) => {
    expect(m.examples.filter((e) => e.error === undefined).length).toBeGreaterThan(0);
    for (const metric of m.metrics) expect(metricDef(metric), metric).toBeDefined();
    // wired models are polled (src/connectors), not sent on a port
    if (m.format === 'binary' && !m.wired) expect(m.ports?.length ?? 0).toBeGreaterThan(0);
    expect(m.id).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+)?$/);
  });

  it('covers every vendor model of the corpus with its corpus uplinks as examples', () => {
    const corpus = JSON.parse(readFileSync(join(ROOT, '../shared/corpus/ttn-examples.json'), 'utf8')) as Array<{ bytes_hex: string; fPort: number; model: string }>;
    const missing = corpus.filter((c) => !MODELS.some((m) => m.examples.some((e) => e.hex?.toUpperCase() === c.bytes_hex.toUpperCase() && e.port === c.fPort)));
    expect(missing.map((c) => `${c.model} port ${c.fPort} ${c.bytes_hex}`)).toEqual([]);
  });
});

describe('secret hashes', () => {
  it('verifies hashes made with other scrypt parameters (older N=2^14 ones), and refuses a wrong secret', async () => {
    const { scryptSync, randomBytes } = await import('node:crypto');
    const { verifySecret, hashSecret } = await import('../../src/registry/secrets.js');
    const salt = randomBytes(16);
    const key = scryptSync('s3cret-192-bits', salt, 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const old = `scrypt$16384$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
    expect(await verifySecret('s3cret-192-bits', old)).toBe(true);
    expect(await verifySecret('s3cret-192-bitz', old)).toBe(false);
    const fresh = await hashSecret('another');
    expect(fresh).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifySecret('another', fresh)).toBe(true);
  });
});
