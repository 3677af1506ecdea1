/** Load generator: N MQTT clients publishing QoS 1 as fast as PUBACKs allow, a window of messages in flight each. */
import mqtt from 'mqtt';
import { LeanClient, type LoadClient } from './lean-client.js';

export type { LoadClient } from './lean-client.js';

export interface LoadDevice { username?: string; password?: string; topic: string; payload: (seq: number) => Buffer }

export interface LoadResult {
  acked: number;
  failed: number;
  perDeviceAcked: number[];
  ackLatenciesMs: Float64Array;
  seconds: number;
}

/**
 * `lean` (default): bench/lean-client.ts, a few µs of CPU per message; `mqttjs`: MQTT.js, the
 * generator of the measurements before 2026-12-02 (~50 µs per message on these machines).
 */
export type Generator = 'lean' | 'mqttjs';

export async function connectAll(url: string, devices: LoadDevice[], opts: { concurrency?: number; generator?: Generator } = {}): Promise<LoadClient[]> {
  const concurrency = opts.concurrency ?? 50;
  const { hostname, port } = new URL(url);
  const clients: LoadClient[] = new Array(devices.length);
  for (let i = 0; i < devices.length; i += concurrency) {
    await Promise.all(devices.slice(i, i + concurrency).map(async (d, k) => {
      if ((opts.generator ?? 'lean') === 'lean') {
        clients[i + k] = await LeanClient.connect(Number(port), hostname, { username: d.username, password: d.password });
        return;
      }
      await new Promise<void>((resolve, reject) => {
        const c = mqtt.connect(url, { username: d.username, password: d.password, reconnectPeriod: 0, connectTimeout: 60_000, clean: true });
        c.once('connect', () => { clients[i + k] = c as unknown as LoadClient; resolve(); });
        c.once('error', reject);
      });
    }));
  }
  return clients;
}

export async function runLoad(clients: LoadClient[], devices: LoadDevice[], opts: { seconds: number; window: number }): Promise<LoadResult> {
  const perDeviceAcked = new Array<number>(devices.length).fill(0);
  const latencies: number[] = [];
  let acked = 0;
  let failed = 0;
  let running = true;
  let inflight = 0;
  const started = performance.now();
  const seqs = new Array<number>(devices.length).fill(0);
  const fire = (i: number) => {
    if (!running) return;
    const seq = seqs[i]!++;
    const t0 = performance.now();
    inflight++;
    clients[i]!.publish(devices[i]!.topic, devices[i]!.payload(seq), { qos: 1 }, (err) => {
      inflight--;
      if (err) failed++;
      else {
        acked++;
        perDeviceAcked[i]!++;
        latencies.push(performance.now() - t0);
      }
      fire(i);
    });
  };
  for (let i = 0; i < clients.length; i++) for (let w = 0; w < opts.window; w++) fire(i);
  await new Promise((r) => setTimeout(r, opts.seconds * 1000));
  running = false;
  const seconds = (performance.now() - started) / 1000;
  const deadline = Date.now() + 30_000;
  while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { acked, failed, perDeviceAcked, ackLatenciesMs: Float64Array.from(latencies), seconds };
}

/** the middle value (the mean of the two middle ones for an even count); NaN for none */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]! / 2 + s[Math.ceil((s.length - 1) / 2)]! / 2;
}

export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
