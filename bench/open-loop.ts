/**
 * Open-loop load: messages are offered on a fixed schedule (message k at t0 + k / rate,
 * round-robin over the devices) whatever the acknowledgements do, and every latency is
 * measured from the *scheduled* send time. A closed loop (send the next when the last is
 * acknowledged) slows down with the system under test and hides the wait a real device
 * would see (coordinated omission); here a stall shows up in the latency of every message
 * scheduled during it. Latencies are recorded in HdrHistograms (microseconds, 3 significant
 * digits), so p99.9 over a million samples costs no sorting.
 */
import * as hdr from 'hdr-histogram-js';
import type { LoadClient, LoadDevice } from './load.js';

export type Histogram = hdr.Histogram;

export function histogram(): Histogram {
  // 1 µs .. 1 h; a latency beyond that is clamped by the caller (never happens in a bench run)
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.min(3_600_000_000, Math.round(ms * 1000))));
}

export interface Percentiles { count: number; p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number }

export function percentiles(h: Histogram): Percentiles {
  const at = (p: number) => Math.round(h.getValueAtPercentile(p) / 10) / 100; // µs -> ms, 2 decimals
  return { count: h.totalCount, p50Ms: at(50), p99Ms: at(99), p999Ms: at(99.9), maxMs: Math.round(h.maxValue / 10) / 100 };
}

export interface OpenLoopResult {
  rate: number;
  offered: number;
  acked: number;
  failed: number;
  /** messages still unacknowledged 30 s after the last was scheduled */
  unacked: number;
  perDeviceAcked: number[];
  seconds: number;
  /** acknowledged by the time the schedule ended (the rest came while the bench waited) */
  ackedInSchedule: number;
  /** from the end of the schedule to the last acknowledgement (or the 30 s the bench waits) */
  drainMs: number;
  ack: Histogram;
  /** how far the sender itself fell behind its schedule (the load generator's own lag) */
  sendLag: Histogram;
}

/**
 * Offers `rate` QoS 1 messages per second for `seconds`, spread over the clients in turn.
 * A 1 ms tick sends everything that is due; what a tick could not send in time still counts
 * from its scheduled time, so the generator's own lag is never hidden (it is reported apart).
 */
export async function runOpenLoop(clients: LoadClient[], devices: LoadDevice[], opts: { rate: number; seconds: number }): Promise<OpenLoopResult> {
  const ack = histogram();
  const sendLag = histogram();
  const perDeviceAcked = new Array<number>(devices.length).fill(0);
  const seqs = new Array<number>(devices.length).fill(0);
  const total = Math.floor(opts.rate * opts.seconds);
  const intervalMs = 1000 / opts.rate;
  let sent = 0;
  let acked = 0;
  let failed = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && t0 + sent * intervalMs <= now) {
        const scheduled = t0 + sent * intervalMs;
        const i = sent % devices.length;
        sent++;
        recordMs(sendLag, performance.now() - scheduled);
        clients[i]!.publish(devices[i]!.topic, devices[i]!.payload(seqs[i]!++), { qos: 1 }, (err) => {
          if (err) { failed++; return; }
          acked++;
          perDeviceAcked[i]!++;
          recordMs(ack, performance.now() - scheduled);
        });
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const end = performance.now();
  const seconds = (end - t0) / 1000;
  const ackedInSchedule = acked;
  const deadline = Date.now() + 30_000;
  while (acked + failed < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return { rate: opts.rate, offered: sent, acked, failed, unacked: sent - acked - failed, perDeviceAcked, seconds, ack, sendLag, ackedInSchedule, drainMs: performance.now() - end };
}

/** Fixed-schedule timer: calls fn(scheduledAt) every `everyMs` until stop(); late ticks keep their scheduled time. */
export function onSchedule(everyMs: number, stop: () => boolean, fn: (scheduledAt: number) => void): Promise<void> {
  const t0 = performance.now();
  let n = 0;
  return new Promise((resolve) => {
    const tick = () => {
      if (stop()) { resolve(); return; }
      const now = performance.now();
      while (t0 + n * everyMs <= now) fn(t0 + n++ * everyMs);
      setTimeout(tick, Math.max(0, t0 + n * everyMs - performance.now()));
    };
    tick();
  });
}
