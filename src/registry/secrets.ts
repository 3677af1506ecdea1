/**
 * Credentials. Device and integration secrets are stored only as scrypt hashes (a slow,
 * memory-hard KDF) and checked in the libuv thread pool. API tokens are 256-bit random
 * values; a fast SHA-256 is the right hash for those (nothing to brute-force) and lets the
 * token itself be the lookup key.
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

// N=2^10, r=8: 1 MiB and ~2 ms per check here. Device and integration secrets are always
// generated, 192 random bits: no guessing attack gets anywhere near them, so a higher
// cost buys no security, while it decides how fast an estate reconnects after a restart
// (10 000 devices at 200 connects/s need 200 checks per second; at N=2^14, ~40 ms each,
// that was 8 CPU-seconds per second). Hashes keep their parameters, so older ones
// (N=2^14) still verify. docs/security.md has the reasoning.
const PARAMS = { N: 1024, r: 8, p: 1 } as const;
const KEYLEN = 32;

export function generateSecret(): string {
  return randomBytes(24).toString('base64url');
}

export function generateToken(): string {
  return `gw_${randomBytes(32).toString('base64url')}`;
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt, KEYLEN, { ...PARAMS, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(keyB64, 'base64');
  const key = await scrypt(secret, Buffer.from(saltB64, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024 });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
