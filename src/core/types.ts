import type { ReadingValue } from './model.js';

/** One normalised reading (VOCABULARY.md). Times are epoch milliseconds inside the process. */
export interface Reading {
  deviceId: string;
  metric: string;
  value: ReadingValue;
  unit: string | null;
  ts: number;
  receivedAt: number;
  /** 'out_of_range': outside what the quantity can physically be; kept, flagged, not used by threshold rules */
  quality: 'ok' | 'out_of_range';
}

export interface DeviceEventRecord {
  deviceId: string;
  type: string;
  ts: number;
  data: Record<string, unknown>;
}

export interface DeadLetter {
  ts: number;
  topic: string;
  clientId: string;
  deviceId?: string;
  reason: string;
  payload: Buffer;
}
