// Device list and the site tree built from it: the API has devices with a site path of up
// to four levels (community/compound/building/unit), the tree is their prefixes.
import { cached, listAll } from './api.js';

export const SITE_LEVELS = ['community', 'compound', 'building', 'unit'];
export const DEVICE_KINDS = ['water_quality', 'bin_fill', 'door_access', 'parking', 'water_meter', 'electricity_meter'];
/** Cumulative counters: their history is drawn as consumption per bucket (agg=delta). */
/** the rules' default limits drawn on charts: GB 5749-2022 for drinking water, the full bin */
export const THRESHOLD_BANDS = {
  ph: { min: 6.5, max: 8.5 },
  turbidity_ntu: { max: 1 },
  free_chlorine_mg_l: { min: 0.05, max: 2 },
  tds_mg_l: { max: 1000 },
  fill_pct: { max: 80 },
};

export const isCumulative = (metric) => /^(energy_(import|export)(_t\d)?_kwh|water_volume_m3|pulse_count|door_open_count)$/.test(metric);

/** Every device (the site tree needs them all), 1000 per request. */
export function loadDevices(query) {
  return listAll('/devices', query);
}

/** Every prefix of the given site paths, sorted so that a parent comes right before its children. */
export function sitePrefixes(paths) {
  const out = new Set();
  for (const p of paths) {
    if (!p) continue;
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('/'));
  }
  return [...out].sort((a, b) => a.localeCompare(b));
}

/** <option>s for a site filter: whole paths (a unit name alone is ambiguous), parents first. */
export function siteOptions(paths) {
  return sitePrefixes(paths).map((p) => [p, p]);
}

/**
 * Low battery as the gateway's own battery rule sees it: battery_pct below the rule's
 * belowPct, or battery_v below the model's lowBatteryV.
 */
/** model id -> its low-battery voltage (models that report battery_v) */
export async function lowVoltages() {
  const models = await cached('/models');
  return new Map(models.map((m) => [m.id, m.lowBatteryV]));
}

export async function lowBatteryTest() {
  const [models, rules] = await Promise.all([cached('/models'), cached('/rules')]);
  let belowPct = 20;
  for (const r of rules) for (const c of r.conditions ?? []) if (c.type === 'battery' && typeof c.belowPct === 'number') belowPct = c.belowPct;
  const lowV = new Map(models.map((m) => [m.id, m.lowBatteryV]));
  return (device) => {
    const b = device.battery;
    if (!b || typeof b.value !== 'number') return false;
    if (b.metric === 'battery_pct') return b.value < belowPct;
    const v = lowV.get(device.model);
    return typeof v === 'number' && b.value < v;
  };
}
