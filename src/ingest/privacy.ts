/**
 * Residents' credentials never reach the store in clear (VOCABULARY.md, privacy):
 * "h:" + the first 16 hex of HMAC-SHA256(site secret, raw credential). The same card stays
 * linkable across events, for "5 denied attempts in a minute", but cannot be read back.
 * The site secret is created on first start in the data directory, mode 0600.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function loadSiteSecret(dataDir: string): Buffer {
  const file = join(dataDir, 'site.secret');
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const secret = randomBytes(32);
    writeFileSync(file, `${secret.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}

export function createPseudonymiser(secret: Buffer, storeRaw: boolean): (raw: string) => string {
  if (storeRaw) return (raw) => raw;
  return (raw) => `h:${createHmac('sha256', secret).update(raw, 'utf8').digest('hex').slice(0, 16)}`;
}
