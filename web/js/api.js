// The public REST API (/api/v1) with the signed-in key. The key lives in sessionStorage:
// gone when the tab closes, never sent anywhere but this gateway.
const TOKEN_KEY = 'console.token';
const ROLE_KEY = 'console.role';
/** the estate's time zone (GET /whoami; the gateway's retention.timezone): times are shown in it */
export const ZONE_KEY = 'console.zone';

export class ApiError extends Error {
  constructor(status, message, details) {
    super(message);
    this.status = status;
    this.details = details ?? [];
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  get role() { return sessionStorage.getItem(ROLE_KEY); },
  get canAct() { return this.role === 'admin' || this.role === 'crew'; },
  get isAdmin() { return this.role === 'admin'; },
  save(token, role) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(ROLE_KEY, role);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ROLE_KEY);
    sessionStorage.removeItem(ZONE_KEY);
  },
};

const unauthorizedListeners = new Set();
/** Called when the gateway stops accepting the key (deleted or rotated): back to the login. */
export const onUnauthorized = (fn) => unauthorizedListeners.add(fn);

/**
 * api('/alerts', {query: {status: 'open'}}) → parsed JSON; throws ApiError with the
 * gateway's own error text ({"error", "details"}) on anything but 2xx.
 */
export async function api(path, { method = 'GET', query, json, body, contentType, token = session.token, signal } = {}) {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (contentType) headers['content-type'] = contentType;
  const res = await fetch(url, { method, headers, body, signal, cache: 'no-store' });
  const text = await res.text();
  let data;
  try { data = text ? JSON.parse(text) : undefined; } catch { data = undefined; }
  if (!res.ok) {
    const err = new ApiError(res.status, data?.error ?? `${res.status} ${res.statusText}`, data?.details);
    if (res.status === 401 && token === session.token && token) for (const fn of unauthorizedListeners) fn(err);
    throw err;
  }
  return data;
}

/** The SSE alert stream; EventSource cannot send headers, so the key rides in ?token=. */
export function alertStreamUrl() {
  const url = new URL('/api/v1/alerts/stream', location.origin);
  url.searchParams.set('token', session.token ?? '');
  return url.toString();
}

/** The key's role, from GET /api/v1/whoami (401 for a bad key). */
export async function probeRole(token) {
  const me = await api('/whoami', { token });
  if (me.timezone) sessionStorage.setItem(ZONE_KEY, me.timezone);
  return me.role;
}

/**
 * One page of a list endpoint: {items, next}. `cursor` is the previous page's next
 * (opaque: the gateway's keyset position, bound to the same filters).
 */
export function listPage(path, { query, cursor, limit = 100, signal } = {}) {
  return api(path, { query: { ...query, limit, cursor }, signal });
}

/** Every item of a list endpoint, following `next` 1000 at a time. */
export async function listAll(path, query, { max = 100_000 } = {}) {
  const items = [];
  let cursor;
  do {
    const page = await listPage(path, { query, cursor, limit: 1000 });
    items.push(...page.items);
    cursor = page.next;
  } while (cursor && items.length < max);
  return items;
}

/** Read-mostly reference data (whole lists), fetched once per session. */
const cache = new Map();
export function cached(path, query) {
  const key = `${path}?${new URLSearchParams(query ?? {})}`;
  if (!cache.has(key)) cache.set(key, listAll(path, query).catch((err) => { cache.delete(key); throw err; }));
  return cache.get(key);
}
export const clearCache = () => cache.clear();

/** Metric → unit from the model catalogue. */
export async function unitsByMetric() {
  const models = await cached('/models');
  const units = {};
  for (const m of models) for (const x of m.metrics) units[x.metric] = x.unit;
  return units;
}
