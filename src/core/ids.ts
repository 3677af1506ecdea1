import { z } from 'zod';

/** Ids appear in MQTT topics and URLs: no '/', '+', '#', whitespace or '..'. */
export const DeviceIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 characters: letters, digits, _ . : - (starting with a letter or digit)')
  .refine((s) => !s.includes('..'), 'must not contain ".."');

const SITE_LEVEL = /^[\p{L}\p{N}][\p{L}\p{N}_.-]{0,63}$/u;

/** community/compound/building/unit: one to four levels. */
export const SitePathSchema = z.string().max(300).refine((s) => {
  if (s === '') return true;
  const levels = s.split('/');
  return levels.length <= 4 && levels.every((l) => SITE_LEVEL.test(l) && l !== '..' && l !== '.');
}, 'must be up to four levels community/compound/building/unit, each letters, digits, _ . -');

export const DevEuiSchema = z.string().regex(/^[0-9A-Fa-f]{16}$/, 'must be 16 hex digits').transform((s) => s.toUpperCase());

export const SITE_LEVELS = ['community', 'compound', 'building', 'unit'] as const;

/**
 * Device ids that could never log in: `apikey` is the MQTT username of every API key and
 * `integration:` prefixes integration usernames (CONTRACT: MQTT credentials). Returns why,
 * or undefined.
 */
export function isReservedDeviceId(id: string): string | undefined {
  if (id.toLowerCase() === 'apikey') return '"apikey" is reserved: it is the MQTT username of API keys';
  if (id.toLowerCase().startsWith('integration:')) return '"integration:" is reserved: it prefixes the MQTT usernames of integrations';
  return undefined;
}
