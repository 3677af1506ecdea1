/**
 * Online / offline (ALERTS.md `device_offline`): a device is online while its last message is
 * within 3 × its expected report interval — the model's default, or the device attribute
 * `reportIntervalS`. One definition for the gateway's device list, the alert sweep and the
 * `no_data` condition.
 */
export const OFFLINE_AFTER_INTERVALS = 3;
const DEFAULT_INTERVAL_S = 3600;

export interface PresenceDevice { lastSeen: number | null; createdAt: number; attributes: Record<string, unknown> }

/** seconds between expected reports: attributes.reportIntervalS, else the model's, else 1 h */
export function reportIntervalS(attributes: Record<string, unknown>, modelIntervalS: number | undefined): number {
  const attr = Number(attributes.reportIntervalS);
  return Number.isFinite(attr) && attr > 0 ? attr : modelIntervalS ?? DEFAULT_INTERVAL_S;
}

/** when the device counts as offline: its last message (or its creation) + intervals × the report interval */
export function offlineAt(d: PresenceDevice, modelIntervalS: number | undefined, intervals = OFFLINE_AFTER_INTERVALS): number {
  return (d.lastSeen ?? d.createdAt) + intervals * reportIntervalS(d.attributes, modelIntervalS) * 1000;
}

export function isOnline(d: PresenceDevice, modelIntervalS: number | undefined, now: number): boolean {
  return d.lastSeen !== null && now - d.lastSeen <= OFFLINE_AFTER_INTERVALS * reportIntervalS(d.attributes, modelIntervalS) * 1000;
}
