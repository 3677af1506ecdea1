// Last readings per device for the alert cards: one request per device however many of
// its alerts are on the board, four at a time. An alert event marks the device's readings
// stale (it has just reported); they are fetched again, but at most every few seconds per
// device, so a burst of events cannot run the key into the API's rate limit.
import { api } from './api.js';

const MAX_AGE_MS = 60_000;
const MIN_INTERVAL_MS = 3_000;
const PARALLEL = 4;
const entries = new Map(); // deviceId -> {at, promise, stale, scheduled?}
const queue = [];
let running = 0;

function pump() {
  while (running < PARALLEL && queue.length) {
    const job = queue.shift();
    running++;
    api(`/devices/${encodeURIComponent(job.deviceId)}/latest`)
      .then(job.resolve, job.reject)
      .finally(() => { running--; pump(); });
  }
}

function fetchNow(deviceId) {
  const promise = new Promise((resolve, reject) => { queue.push({ deviceId, resolve, reject }); pump(); })
    .then((r) => r.readings)
    .catch((err) => {
      if (entries.get(deviceId)?.promise === promise) entries.delete(deviceId);
      throw err;
    });
  entries.set(deviceId, { at: Date.now(), promise, stale: false });
  return promise;
}

export function latestReadings(deviceId) {
  const e = entries.get(deviceId);
  if (!e) return fetchNow(deviceId);
  const age = Date.now() - e.at;
  if (!e.stale && age < MAX_AGE_MS) return e.promise;
  if (age >= MIN_INTERVAL_MS) return fetchNow(deviceId);
  e.scheduled ??= new Promise((resolve) => setTimeout(resolve, MIN_INTERVAL_MS - age)).then(() => fetchNow(deviceId));
  return e.scheduled;
}

export function forgetReadings(deviceId) {
  const e = entries.get(deviceId);
  if (e) e.stale = true;
}

export const clearReadings = () => entries.clear();
