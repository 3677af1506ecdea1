/**
 * Uplink topics (CONTRACT "Uplink topics") and the access rules of each kind of client
 * (CONTRACT "Device credentials and access rules"). Pure functions: the broker hooks and
 * the upstream sources both use them.
 */
import type { EnvelopeFormat } from './envelopes.js';
import type { Role } from '../registry/api-keys.js';

export type Route =
  | { kind: 'device'; deviceId: string; port?: number }
  | { kind: 'envelope'; format: EnvelopeFormat; deviceId?: string; devEui?: string };

/**
 * devices/{id}/up and devices/{id}/up/{port}: the topic of every device message, read without
 * splitting it (parseTopic ran for every message and split was 2 % of the broker's busy time)
 */
function deviceTopic(topic: string): Route | undefined {
  const slash = topic.indexOf('/', 8);
  if (slash <= 8 || topic.charCodeAt(slash + 1) !== 117 /* u */ || topic.charCodeAt(slash + 2) !== 112 /* p */) return undefined;
  const end = slash + 3;
  if (topic.length === end) return { kind: 'device', deviceId: topic.slice(8, slash) };
  if (topic.charCodeAt(end) !== 47 /* / */) return undefined;
  const port = topic.slice(end + 1);
  if (!/^\d{1,3}$/.test(port) || Number(port) > 255) return undefined;
  return { kind: 'device', deviceId: topic.slice(8, slash), port: Number(port) };
}

export function parseTopic(topic: string): Route | undefined {
  if (topic.startsWith('devices/')) return deviceTopic(topic);
  const p = topic.split('/');
  if (p[0] === 'devices' && p[2] === 'up' && p[1] && (p.length === 3 || p.length === 4)) {
    if (p.length === 3) return { kind: 'device', deviceId: p[1] };
    if (!/^\d{1,3}$/.test(p[3]!) || Number(p[3]) > 255) return undefined;
    return { kind: 'device', deviceId: p[1], port: Number(p[3]) };
  }
  // v3/{application id}@{tenant id}/devices/{device id}/up (tenant omitted on some deployments)
  if (p.length === 5 && p[0] === 'v3' && p[2] === 'devices' && p[4] === 'up' && p[1] && p[3]) {
    return { kind: 'envelope', format: 'ttn-v3', deviceId: p[3] };
  }
  // application/{application id}/device/{devEUI}/event/up
  if (p.length === 6 && p[0] === 'application' && p[2] === 'device' && p[4] === 'event' && p[5] === 'up' && p[1] && p[3]) {
    return { kind: 'envelope', format: 'chirpstack-v4', devEui: p[3] };
  }
  return undefined;
}

export type Principal =
  | { type: 'device'; id: string }
  | { type: 'integration'; id: string; format: EnvelopeFormat }
  | { type: 'consumer'; name: string; role: Role };

export function mayPublish(who: Principal, route: Route | undefined): boolean {
  if (!route) return false;
  if (who.type === 'device') return route.kind === 'device' && route.deviceId === who.id;
  if (who.type === 'integration') return route.kind === 'envelope' && route.format === who.format;
  return false;
}

function within(filter: string, prefix: string): boolean {
  // prefix ends with '/': the filter must stay under it, whatever wildcards follow
  return filter.startsWith(prefix) && !filter.startsWith('$');
}

export function maySubscribe(who: Principal, filter: string): boolean {
  if (filter.startsWith('$')) return false; // $share, $SYS: not for clients of this broker
  if (who.type === 'device') return filter === `devices/${who.id}/down` || within(filter, `devices/${who.id}/down/`);
  if (who.type === 'integration') return false;
  if (filter === 'alerts' || within(filter, 'alerts/')) return true;
  if (who.role === 'crew') return false;
  if (filter === 'telemetry' || within(filter, 'telemetry/')) return true;
  // retained device status: devices/+/status or devices/{id}/status
  const p = filter.split('/');
  return p.length === 3 && p[0] === 'devices' && p[2] === 'status' && p[1] !== '#' && p[1] !== '';
}
