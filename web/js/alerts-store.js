// Open and acknowledged alerts of the whole estate, kept current by the SSE stream for as
// long as the console is signed in (the board filters them in the browser, so a filter
// change needs no round trip). After every (re)connect the list is fetched again and the
// events that arrived meanwhile are replayed on top, so nothing missed while offline stays wrong.
import { alertStreamUrl, listAll } from './api.js';

export const SEVERITY_ORDER = { critical: 0, major: 1, minor: 2, warning: 3 };
const EVENTS = ['alert.opened', 'alert.updated', 'alert.acknowledged', 'alert.assigned', 'alert.resolved'];
const RESOLVED_KEPT = 20;

/** The gateway's own order: most severe first, then newest. */
export function compareAlerts(a, b) {
  return (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9) || Date.parse(b.openedAt) - Date.parse(a.openedAt);
}

export function sitePrefixMatches(site, prefix) {
  const p = (prefix ?? '').replace(/\/+$/, '');
  return p === '' || site === p || (site ?? '').startsWith(`${p}/`);
}

class AlertsStore {
  active = new Map();
  resolved = [];
  status = 'idle'; // idle | connecting | live | reconnecting | offline
  loaded = false;
  error = null;
  #listeners = new Set();
  #source = null;
  #buffer = null;
  #retry = null;
  #backoff = 1000;
  #generation = 0;

  subscribe(fn) {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #emit(change) {
    for (const fn of this.#listeners) {
      try { fn(change); } catch (err) { console.error(err); }
    }
  }

  get list() { return [...this.active.values()].sort(compareAlerts); }

  start() {
    this.stop();
    const generation = ++this.#generation;
    this.#setStatus('connecting');
    const source = new EventSource(alertStreamUrl());
    this.#source = source;
    source.addEventListener('open', () => {
      if (generation !== this.#generation) return;
      this.#backoff = 1000;
      this.#setStatus('live');
      this.#reload(generation);
    });
    source.addEventListener('error', () => {
      if (generation !== this.#generation) return;
      if (source.readyState === EventSource.CLOSED) {
        // refused (e.g. 401) or not an event stream: the browser gives up, we retry with backoff
        this.#setStatus('offline');
        this.#retry = setTimeout(() => this.start(), this.#backoff);
        this.#backoff = Math.min(this.#backoff * 2, 30_000);
      } else this.#setStatus('reconnecting');
    });
    for (const type of EVENTS) {
      source.addEventListener(type, (e) => {
        if (generation !== this.#generation) return;
        let alert;
        try { alert = JSON.parse(e.data); } catch { return; }
        if (this.#buffer) this.#buffer.push([type, alert]);
        else this.#apply(type, alert, true);
      });
    }
  }

  stop() {
    this.#generation++;
    clearTimeout(this.#retry);
    this.#source?.close();
    this.#source = null;
    this.#setStatus('idle');
  }

  reset() {
    this.stop();
    this.active.clear();
    this.resolved = [];
    this.loaded = false;
    this.error = null;
  }

  async #reload(generation) {
    this.#buffer = [];
    try {
      const alerts = await listAll('/alerts', { status: 'open,acknowledged' });
      if (generation !== this.#generation) return;
      this.active = new Map(alerts.map((a) => [a.id, a]));
      this.loaded = true;
      this.error = null;
    } catch (err) {
      if (generation !== this.#generation) return;
      this.error = err;
    } finally {
      const buffered = this.#buffer ?? [];
      this.#buffer = null;
      if (generation === this.#generation) {
        for (const [type, alert] of buffered) this.#apply(type, alert, false);
        this.#emit({ type: 'reset' });
      }
    }
  }

  /** An alert object from an action's response or an SSE event; both carry the whole alert. */
  apply(type, alert) { this.#apply(type, alert, true); }

  #apply(type, alert, notify) {
    const before = this.active.get(alert.id);
    // an action's response and its own SSE event carry the same alert: one change, not two
    const same = (x) => x !== undefined && JSON.stringify(x) === JSON.stringify(alert);
    if (same(before) || (!before && same(this.resolved.find((r) => r.id === alert.id)))) return;
    if (alert.status === 'resolved') {
      this.active.delete(alert.id);
      this.resolved = [alert, ...this.resolved.filter((r) => r.id !== alert.id)].slice(0, RESOLVED_KEPT);
    } else {
      this.resolved = this.resolved.filter((r) => r.id !== alert.id);
      this.active.set(alert.id, alert);
    }
    if (notify) this.#emit({ type: 'event', event: type, alert, before });
  }

  #setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.#emit({ type: 'status', status });
  }
}

export const alertsStore = new AlertsStore();
