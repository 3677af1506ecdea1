// Strings in Chinese and English. Chinese is the default when the browser lists a zh
// language before any English one; a choice made with the switch is remembered.
import en from './strings/en.js';
import zh from './strings/zh.js';

const TABLES = { en, zh };
const LOCALES = { en: 'en-GB', zh: 'zh-CN' };
const STORE_KEY = 'console.lang';
const listeners = new Set();

export const LANGUAGES = Object.keys(TABLES);

/** First of the browser's languages we have strings for; English when none is. */
export function detectLang(languages = navigator.languages ?? [navigator.language]) {
  for (const l of languages) {
    const base = String(l).toLowerCase().split('-')[0];
    if (base in TABLES) return base;
  }
  return 'en';
}

function stored() {
  try { return localStorage.getItem(STORE_KEY); } catch { return null; }
}

let current = LANGUAGES.includes(stored()) ? stored() : detectLang();

export const lang = () => current;
export const locale = () => LOCALES[current];

export function setLang(next) {
  if (!LANGUAGES.includes(next) || next === current) return;
  current = next;
  try { localStorage.setItem(STORE_KEY, next); } catch { /* private mode: this page only */ }
  document.documentElement.lang = locale();
  for (const fn of listeners) fn(next);
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * t('board.count', {shown: 3}) — falls back to English, then to the key itself. With
 * vars.n === 1 a `<key>.one` string wins where a language has one (English singulars).
 */
export function t(key, vars = {}) {
  const one = vars.n === 1 ? TABLES[current][`${key}.one`] : undefined;
  const s = one ?? TABLES[current][key] ?? en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** A translated label when we have one, the raw identifier otherwise (rules and metrics are open-ended). */
export function label(prefix, id) {
  if (id === null || id === undefined || id === '') return t('app.none');
  const key = `${prefix}.${id}`;
  return key in TABLES[current] || key in en ? t(key) : String(id);
}

export const severityLabel = (s) => label('severity', s);
export const statusLabel = (s) => label('status', s);
export const kindLabel = (k) => label('kind', k);
export const ruleLabel = (r) => label('rule', r);
export const metricLabel = (m) => label('metric', m);

document.documentElement.lang = locale();
