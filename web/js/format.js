// Times, durations and values in the chosen language.
import { locale, t } from './i18n.js';
import { h } from './dom.js';

/**
 * The estate's time zone, as the gateway reports it (GET /whoami: retention.timezone, the
 * zone of its daily rollups, reports and channel messages): a crew member abroad or a
 * laptop set to UTC still sees the times the site lives by. Undefined: the browser's.
 */
export const siteZone = () => sessionStorage.getItem('console.zone') ?? undefined;

const dayIn = (d, timeZone) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);

/** Today (in the site's zone): the time only; before: date and time. */
export function fmtTime(iso, timeZone = siteZone()) {
  if (!iso) return t('app.none');
  const d = new Date(iso);
  const sameDay = dayIn(new Date(), timeZone) === dayIn(d, timeZone);
  return new Intl.DateTimeFormat(locale(), sameDay
    ? { hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone }
    : { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone }).format(d);
}

/** A bucket start in a chart's data table: the same short form for every row. */
export const fmtBucket = (iso) => new Intl.DateTimeFormat(locale(), { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: siteZone() }).format(new Date(iso));

export const fmtFullTime = (iso) => (iso ? new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'long', timeZone: siteZone() }).format(new Date(iso)) : t('app.none'));

/** 3 h 12 min, 2 d 4 h, 45 s: the two largest units, enough to act on. */
export function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const parts = [[Math.floor(s / 86400), 'time.d'], [Math.floor(s / 3600) % 24, 'time.h'], [Math.floor(s / 60) % 60, 'time.min'], [s % 60, 'time.s']];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return t('time.s', { n: 0 });
  return parts.slice(first, first + 2).filter(([n]) => n > 0).map(([n, key]) => t(key, { n })).join(' ');
}

export function fmtAgo(iso, now = Date.now()) {
  if (!iso) return t('device.never');
  const ms = now - new Date(iso).getTime();
  return ms < 5000 ? t('time.justNow') : t('time.ago', { duration: fmtDuration(ms) });
}

export function fmtNumber(n, maxDigits = 3) {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: maxDigits }).format(n);
}

/** A reading or alert value with its unit; booleans as yes/no. Units are the vocabulary's (UCUM-ish) codes. */
export function fmtValue(value, unit) {
  if (value === null || value === undefined) return t('app.none');
  if (typeof value === 'boolean') return t(`value.${value}`);
  if (typeof value === 'number') {
    const u = displayUnit(unit);
    return u ? `${fmtNumber(value)} ${u}` : fmtNumber(value);
  }
  return String(value);
}

const UNITS = { Cel: '°C', '%EL': '%', '%RH': '%', m3: 'm³', 'm3/h': 'm³/h', 'uS/cm': 'µS/cm', count: '', pH: '' };
export function displayUnit(unit) {
  if (!unit) return '';
  return unit in UNITS ? UNITS[unit] : unit;
}

/**
 * Battery in one unit, percent: battery_pct as reported; battery_v (devices that report only
 * a voltage) as an estimate, marked ≈, on a straight line from the model's low-battery
 * voltage (20 %, where the battery rule warns) to 3.6 V (100 %, a fresh lithium primary cell
 * of the kind these sensors use). The voltage itself is in the tooltip.
 */
export function batteryPct(battery, lowV) {
  if (!battery || typeof battery.value !== 'number') return null;
  if (battery.metric === 'battery_pct') return { pct: battery.value, estimated: false };
  const low = typeof lowV === 'number' ? lowV : 3.0;
  const full = Math.max(3.6, low + 0.3);
  const pct = 20 + ((battery.value - low) / (full - low)) * 80;
  return { pct: Math.round(Math.min(100, Math.max(0, pct))), estimated: true };
}

export function fmtBattery(battery, lowV) {
  const b = batteryPct(battery, lowV);
  if (!b) return t('app.none');
  const text = `${b.estimated ? '≈' : ''}${fmtNumber(b.pct, 0)} %`;
  return b.estimated ? h('span', { title: fmtValue(battery.value, battery.unit) }, text) : text;
}
