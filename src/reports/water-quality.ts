/**
 * Water-quality compliance for a month (CONTRACT v2 "Reports"), against the GB 5749-2022
 * limits the shipped rules use (docs/alerts.md): per device and metric, the samples, how many
 * were outside the limit, the share of time within it and the worst value.
 *
 * Share of time is time-weighted between samples: each sample's value holds until the next
 * sample of the month, so a tank that read pH 9 for 6 of 24 hours is 75 % within, however
 * often it reported meanwhile. The time after the month's last sample is not counted (no one
 * knows the water then); with a single sample the share is that sample's (1 or 0).
 */
export interface Limit { min?: number; max?: number }

/** GB 5749-2022 (the defaults of config/rules.yaml) */
export const GB5749: Record<string, Limit> = {
  ph: { min: 6.5, max: 8.5 },
  turbidity_ntu: { max: 1 },
  free_chlorine_mg_l: { min: 0.05, max: 2 },
  tds_mg_l: { max: 1000 },
};

export interface Sample { ts: number; value: number }

export interface Compliance {
  samples: number;
  exceedances: number;
  /** 0..1, null without samples */
  withinShare: number | null;
  worst: { value: number; ts: number } | null;
}

const outside = (v: number, l: Limit) => (l.min !== undefined && v < l.min) || (l.max !== undefined && v > l.max);
/** how far beyond the limit (negative: how far inside); the largest is the worst sample */
const badness = (v: number, l: Limit) => Math.max(l.min !== undefined ? l.min - v : -Infinity, l.max !== undefined ? v - l.max : -Infinity);

export function compliance(samples: Sample[], limit: Limit): Compliance {
  if (samples.length === 0) return { samples: 0, exceedances: 0, withinShare: null, worst: null };
  let exceedances = 0;
  let worst = samples[0]!;
  let within = 0;
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    if (outside(s.value, limit)) exceedances++;
    if (badness(s.value, limit) > badness(worst.value, limit)) worst = s;
    const next = samples[i + 1];
    if (next) {
      const dt = next.ts - s.ts;
      total += dt;
      if (!outside(s.value, limit)) within += dt;
    }
  }
  const share = total > 0 ? within / total : outside(samples.at(-1)!.value, limit) ? 0 : 1;
  return { samples: samples.length, exceedances, withinShare: Math.round(share * 1e6) / 1e6, worst: { value: worst.value, ts: worst.ts } };
}
