/**
 * A group commit's readings, events and last-seen times as they cross to the SQLite writer
 * thread (sqlite-writer.worker.mjs): typed arrays in a SharedArrayBuffer that is reused from
 * batch to batch (posting it costs a reference), and device ids, metric names and event types
 * as indices into a dictionary both threads keep (each name crosses once, in the first batch
 * that uses it).
 *
 * Why: the structured clone of the batch — a flat array of six values per reading, an array
 * per event — was the gateway's largest single cost on the main thread (postMessage 9.4 % of
 * its busy time at 500 devices × 10 in flight, bench/profile-summary.mjs), and those arrays
 * were garbage per batch. A transferred ArrayBuffer is no better: detaching it cost more than
 * copying 45 kB (a micro-run quoted in docs/performance.md, "Fourth pass").
 *
 * Layout of `sab` for n readings, s last-seen times and e events (offsets in packedLayout):
 *   Float64 [ts × n][value × n][receivedAt × n][seen ts × s][event ts × e]
 *   Uint32  [device × n][metric × n][seen device × s][event device × e][event type × e]
 *   Uint8   [flags × n]   bit 0: quality out_of_range; bit 1: the value is the next of `strs`
 * A boolean value is 1 or 0, as the store keeps it (toSql). Event data is `eventData`: the
 * events' JSON texts joined by "\n" (JSON.stringify never writes a raw newline).
 */
import type { DeviceEventRecord, Reading } from '../core/types.js';

const FLAG_OUT_OF_RANGE = 1;
const FLAG_STRING = 2;

/** past this many names both dictionaries start again (device ids of deleted devices, user codecs' metrics) */
const MAX_DICTIONARY = 1 << 20;

export interface PackedBatch {
  sab: SharedArrayBuffer;
  n: number;
  s: number;
  e: number;
  strs: string[];
  eventData: string;
  /** names new to the dictionary, in index order, appended by the writer before it reads `sab` */
  names: string[];
  /** the writer empties its dictionary before appending `names` */
  reset: boolean;
}

/** byte offsets of the three sections (the writer thread computes the same) */
function packedLayout(n: number, s: number, e: number): { u32: number; u8: number; bytes: number; f64Len: number; u32Len: number } {
  const f64Len = 3 * n + s + e;
  const u32Len = 2 * n + s + 2 * e;
  return { u32: 8 * f64Len, u8: 8 * f64Len + 4 * u32Len, bytes: 8 * f64Len + 4 * u32Len + n, f64Len, u32Len };
}

const MIN_BUFFER = 256 * 1024;
/** a buffer grown past this for one huge batch is not kept for the next */
const MAX_KEPT_BUFFER = 32 * 1024 * 1024;

export class BatchPacker {
  private readonly index = new Map<string, number>();
  private fresh: string[] = [];
  private reset = true;
  /** buffers no batch in flight uses (one commit is in flight at a time: usually one buffer) */
  private readonly free: SharedArrayBuffer[] = [];

  constructor(private readonly maxNames = MAX_DICTIONARY) {}

  private id(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.index.size;
      this.index.set(name, i);
      this.fresh.push(name);
    }
    return i;
  }

  private buffer(bytes: number): SharedArrayBuffer {
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i]!.byteLength >= bytes) return this.free.splice(i, 1)[0]!;
    }
    let size = MIN_BUFFER;
    while (size < bytes) size *= 2;
    return new SharedArrayBuffer(size);
  }

  /** the batch's buffer is free again: the writer answered (committed or not) */
  release(sab: SharedArrayBuffer): void {
    if (sab.byteLength <= MAX_KEPT_BUFFER && this.free.length < 4) this.free.push(sab);
  }

  /**
   * The batch packed. Its buffer must go back with release() once the writer has answered;
   * a batch that never reached the writer (postMessage threw) must be followed by forget():
   * its new names never arrived.
   */
  pack(readings: readonly Reading[], events: readonly DeviceEventRecord[], seen: ReadonlyMap<string, number>): PackedBatch {
    const n = readings.length;
    const s = seen.size;
    const e = events.length;
    // the event texts first: a data object that cannot be serialised refuses the batch before
    // the dictionary learns anything
    const texts: string[] = new Array(e);
    for (let k = 0; k < e; k++) texts[k] = JSON.stringify(events[k]!.data);
    if (this.index.size + 2 * n + s + 2 * e > this.maxNames) this.forget();
    const lay = packedLayout(n, s, e);
    const sab = this.buffer(lay.bytes);
    const f = new Float64Array(sab, 0, lay.f64Len);
    const u = new Uint32Array(sab, lay.u32, lay.u32Len);
    const flags = new Uint8Array(sab, lay.u8, n);
    const strs: string[] = [];
    for (let k = 0; k < n; k++) {
      const r = readings[k]!;
      f[k] = r.ts;
      f[2 * n + k] = r.receivedAt;
      u[k] = this.id(r.deviceId);
      u[n + k] = this.id(r.metric);
      let flag = r.quality === 'out_of_range' ? FLAG_OUT_OF_RANGE : 0;
      const v = r.value;
      if (typeof v === 'string') {
        strs.push(v);
        flag |= FLAG_STRING;
        f[n + k] = 0;
      } else {
        f[n + k] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
      }
      flags[k] = flag;
    }
    let k = 0;
    for (const [device, ts] of seen) {
      f[3 * n + k] = ts;
      u[2 * n + k] = this.id(device);
      k++;
    }
    for (k = 0; k < e; k++) {
      const ev = events[k]!;
      f[3 * n + s + k] = ev.ts;
      u[2 * n + s + k] = this.id(ev.deviceId);
      u[2 * n + s + e + k] = this.id(ev.type);
    }
    const names = this.fresh;
    this.fresh = [];
    const reset = this.reset;
    this.reset = false;
    return { sab, n, s, e, strs, eventData: texts.join('\n'), names, reset };
  }

  /** the next batch starts both dictionaries again */
  forget(): void {
    this.index.clear();
    this.fresh = [];
    this.reset = true;
  }
}
