import { siteWithin } from '../core/sites.js';

/** Threshold of `metric` for a device: its attributes.thresholds, then the longest matching site prefix, then the rule's. */
export function thresholdFor(metric: string, fallback: number, device: { site: string; attributes: Record<string, unknown> }, sites: Record<string, Record<string, number>>): number {
  const own = (device.attributes.thresholds as Record<string, unknown> | undefined)?.[metric];
  if (typeof own === 'number' && Number.isFinite(own)) return own;
  let best: { len: number; v: number } | undefined;
  for (const [prefix, t] of Object.entries(sites)) {
    const p = prefix.replace(/\/+$/, '');
    if (siteWithin(device.site, p) && t[metric] !== undefined && (!best || p.length > best.len)) best = { len: p.length, v: t[metric]! };
  }
  return best?.v ?? fallback;
}
