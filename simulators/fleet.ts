/**
 * A simulated estate: devices of every kind publishing realistic traffic through MQTT with
 * real credentials. Native devices publish JSON on devices/{id}/up with their own
 * connection; LoRaWAN devices are encoded with their vendor's byte layout and wrapped in
 * The Things Stack v3 or ChirpStack v4 envelopes, published by an integration client.
 * Faults on request: pH excursions, turbidity spikes, stuck sensors, silent devices and
 * garbage payloads (which must become dead letters).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { ENCODERS } from './encoders/index.js';
import type { SimValues } from './encoders/types.js';
import type { DeviceKind } from '../src/core/vocabulary.js';
import { mulberry32 } from './prng.js';

export const FAULTS = ['ph', 'turbidity', 'stuck', 'silent', 'garbage'] as const;
export type Fault = (typeof FAULTS)[number];

export interface FleetOptions {
  http: string;
  mqtt: string;
  token: string;
  site: string;
  devices: number;
  /** messages per second, whole fleet */
  rate: number;
  durationS: number;
  /** stop after this many messages (whichever of duration and count comes first) */
  count?: number;
  faults: Fault[];
  /** share of devices that are LoRaWAN vendor models behind a network server (0..1) */
  lorawanShare: number;
  seed: number;
  /** prefix for device and integration ids, so several runs can share a gateway */
  prefix: string;
  onProgress?: (s: FleetStats) => void;
  signal?: AbortSignal;
}

export interface FleetStats {
  devices: number;
  sent: number;
  acked: number;
  failed: number;
  garbage: number;
  byKind: Record<string, number>;
  byTransport: { native: number; 'ttn-v3': number; 'chirpstack-v4': number };
  elapsedS: number;
  /** doors left open when the run ended, closed by a last message each (no door_held_open alert left behind) */
  doorsClosed: number;
}


const KINDS: DeviceKind[] = ['water_quality', 'bin_fill', 'parking', 'water_meter', 'electricity_meter', 'door_access'];
const NATIVE: Record<DeviceKind, string> = {
  water_quality: 'generic.water-quality', bin_fill: 'generic.bin-fill', parking: 'generic.parking',
  water_meter: 'generic.water-meter', electricity_meter: 'generic.electricity-meter', door_access: 'generic.door-access',
};
/** vendor models per kind, used when their encoder exists */
const VENDOR: Record<DeviceKind, string[]> = {
  water_quality: ['decentlab.dl-pheht', 'decentlab.dl-ntu', 'decentlab.dl-ctd10'],
  bin_fill: ['milesight.em310-udl', 'dingtek.df703', 'decentlab.dl-mbx'],
  parking: ['nwave.nps405', 'bosch.tps110'],
  water_meter: ['milesight.em300-di', 'kamstrup.flowiq2200'],
  electricity_meter: ['yobiiq.em4301', 'yobiiq.iq-dsmr-lrw'],
  door_access: ['milesight.ws301', 'browan.tbdw100', 'dragino.lds02'],
};

interface SimDevice {
  id: string;
  kind: DeviceKind;
  model: string;
  transport: 'native' | 'ttn-v3' | 'chirpstack-v4';
  devEui?: string;
  secret?: string;
  client?: MqttClient;
  state: Record<string, number | boolean>;
  stuck: boolean;
  silent: boolean;
  cards: string[];
}

/** Day/night consumption profile: low at night, peaks in the morning and evening (local time UTC+8). */
function usageFactor(now: number): number {
  const h = (new Date(now).getUTCHours() + 8) % 24;
  if (h < 5) return 0.05;
  if (h < 7) return 0.6;
  if (h < 9) return 1.6;
  if (h < 17) return 0.7;
  if (h < 22) return 1.4;
  return 0.4;
}

function step(d: SimDevice, rnd: () => number, now: number, faults: Set<Fault>): SimValues {
  const s = d.state;
  if (d.stuck) return { ...s };
  const jitter = (v: number, amp: number) => v + (rnd() - 0.5) * 2 * amp;
  switch (d.kind) {
    case 'water_quality': {
      s.ph = Math.min(8.3, Math.max(6.8, jitter(s.ph as number, 0.03)));
      s.turbidity_ntu = Math.max(0.05, Math.min(0.7, jitter(s.turbidity_ntu as number, 0.02)));
      s.temperature_c = Math.max(10, Math.min(25, jitter(s.temperature_c as number, 0.1)));
      s.orp_mv = jitter(650, 20);
      s.conductivity_us_cm = Math.round(jitter(420, 10));
      const out: SimValues = { ...s };
      if (faults.has('ph') && rnd() < 0.03) out.ph = rnd() < 0.5 ? 9.3 : 5.9;
      if (faults.has('turbidity') && rnd() < 0.03) out.turbidity_ntu = 3 + rnd() * 5;
      return out;
    }
    case 'bin_fill': {
      let fill = (s.fill_pct as number) + rnd() * 4;
      if (fill >= 95 || (fill > 60 && rnd() < 0.02)) fill = 2 + rnd() * 5; // emptied
      s.fill_pct = fill;
      const depth = 1500;
      s.distance_mm = Math.round(depth * (1 - fill / 100));
      return { distance_mm: s.distance_mm, battery_v: 3.6, battery_pct: 90, tilt: false, temperature_c: Math.round(jitter(20, 3)) };
    }
    case 'parking': {
      if (rnd() < 0.15) s.occupied = !s.occupied;
      return { occupied: s.occupied as boolean, battery_v: 3.5, temperature_c: Math.round(jitter(15, 5)) };
    }
    case 'water_meter': {
      const add = usageFactor(now) * rnd() * 0.02; // m3 per message
      s.water_volume_m3 = Math.round(((s.water_volume_m3 as number) + add) * 1000) / 1000;
      s.pulse_count = Math.round((s.water_volume_m3 as number) * 100); // 10 l/pulse
      return { water_volume_m3: s.water_volume_m3, pulse_count: s.pulse_count, water_flow_m3h: Math.round(add * 100 * 1000) / 1000, battery_pct: 95 };
    }
    case 'electricity_meter': {
      const kw = usageFactor(now) * (0.5 + rnd() * 2);
      s.energy_import_kwh = Math.round(((s.energy_import_kwh as number) + kw / 60) * 1000) / 1000;
      return { energy_import_kwh: s.energy_import_kwh, energy_import_t1_kwh: s.energy_import_kwh, energy_import_t2_kwh: 0, energy_export_kwh: 0, energy_export_t1_kwh: 0, energy_export_t2_kwh: 0, power_w: Math.round(kw * 1000), voltage_v: Math.round(jitter(228, 3) * 10) / 10, voltage_l1_v: 228, current_l1_a: Math.round(kw * 4.3) };
    }
    case 'door_access': {
      if (rnd() < 0.3) {
        s.door_open = !s.door_open;
        if (s.door_open) s.door_open_count = (s.door_open_count as number) + 1;
      }
      return { door_open: s.door_open as boolean, door_open_count: s.door_open_count as number, battery_v: 3.3, battery_pct: 80, temperature_c: 20 };
    }
  }
}

function initialState(kind: DeviceKind, rnd: () => number): Record<string, number | boolean> {
  switch (kind) {
    case 'water_quality': return { ph: 7.2 + (rnd() - 0.5) * 0.4, turbidity_ntu: 0.3, temperature_c: 18, orp_mv: 650, conductivity_us_cm: 420 };
    case 'bin_fill': return { fill_pct: rnd() * 50, distance_mm: 1000 };
    case 'parking': return { occupied: rnd() < 0.5 };
    case 'water_meter': return { water_volume_m3: Math.round(rnd() * 500 * 1000) / 1000, pulse_count: 0 };
    case 'electricity_meter': return { energy_import_kwh: Math.round(rnd() * 5000) };
    case 'door_access': return { door_open: false, door_open_count: Math.floor(rnd() * 1000) };
  }
}

const NATIVE_KEYS: Record<DeviceKind, string[]> = {
  water_quality: ['ph', 'turbidity_ntu', 'temperature_c', 'orp_mv', 'conductivity_us_cm'],
  bin_fill: ['distance_mm', 'battery_v', 'tilt'],
  parking: ['occupied', 'battery_v'],
  water_meter: ['water_volume_m3', 'water_flow_m3h', 'battery_pct'],
  electricity_meter: ['energy_import_kwh', 'power_w', 'voltage_v'],
  door_access: ['door_open', 'door_open_count', 'battery_v'],
};

/** Values for a vendor encoder: what the device state has, the middle of the encoder's range otherwise. */
function forEncoder(model: string, values: SimValues): SimValues | undefined {
  const enc = ENCODERS[model];
  if (!enc) return undefined;
  const out: SimValues = {};
  for (const [metric, range] of Object.entries(enc.metrics)) {
    const v = values[metric];
    if (range === 'boolean') out[metric] = typeof v === 'boolean' ? v : false;
    else {
      const n = typeof v === 'number' ? v : (range.min + range.max) / 2;
      const clamped = Math.min(range.max, Math.max(range.min, n));
      const stepSize = range.step ?? 0;
      out[metric] = stepSize > 0 ? Math.round(clamped / stepSize) * stepSize : clamped;
    }
  }
  return out;
}

async function api(opts: FleetOptions, path: string, body: unknown): Promise<any> {
  const res = await fetch(opts.http + path, { method: 'POST', headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function connectClient(url: string, username: string, password: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { username, password, reconnectPeriod: 1000, connectTimeout: 15_000, clientId: `sim-${username}`.slice(0, 200) });
    c.once('connect', () => resolve(c));
    c.once('error', (e) => reject(e));
  });
}

export async function runFleet(opts: FleetOptions): Promise<FleetStats> {
  const rnd = mulberry32(opts.seed);
  const faults = new Set(opts.faults);
  const devices: SimDevice[] = [];
  for (let i = 0; i < opts.devices; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const vendors = VENDOR[kind].filter((m) => ENCODERS[m]);
    const lorawan = vendors.length > 0 && rnd() < opts.lorawanShare;
    const model = lorawan ? vendors[Math.floor(rnd() * vendors.length)]! : NATIVE[kind];
    const transport = lorawan ? (rnd() < 0.5 ? 'ttn-v3' : 'chirpstack-v4') : 'native';
    const id = `${opts.prefix}-${kind.replace(/_/g, '-')}-${String(i).padStart(4, '0')}`;
    devices.push({
      id, kind, model, transport, state: initialState(kind, rnd), stuck: false, silent: false,
      devEui: lorawan ? (0xa1 * 2 ** 40 + opts.seed * 2 ** 20 + i).toString(16).toUpperCase().padStart(16, '0').slice(-16) : undefined,
      cards: Array.from({ length: 5 }, (_, k) => `card:${(opts.seed * 1000 + i * 10 + k).toString(16).toUpperCase().padStart(8, '0')}`),
    });
  }
  if (faults.has('stuck')) devices.filter((d) => d.kind === 'water_quality').slice(0, 2).forEach((d) => (d.stuck = true));
  if (faults.has('silent')) devices.slice(0, Math.max(1, Math.floor(devices.length / 50))).forEach((d) => (d.silent = true));

  // provision in bulk: idempotent, so a re-run with the same prefix reuses devices (secrets only for new ones)
  const units = ['u1', 'u2', 'u3', 'u4'];
  const rows = devices.map((d, i) => ({
    id: d.id, model: d.model, site: `${opts.site}/b${1 + (i % 6)}/${units[i % units.length]}`.split('/').slice(0, 4).join('/'),
    attributes: { ...(d.kind === 'bin_fill' ? { binDepthMm: 1500 } : {}), ...(d.model === 'milesight.em300-di' ? { litresPerPulse: 10 } : {}) },
    ...(d.devEui ? { lorawan: { devEui: d.devEui } } : {}),
  }));
  const bulk = await api(opts, '/api/v1/devices/bulk', rows);
  if (bulk.errors.length) throw new Error(`provisioning failed: ${JSON.stringify(bulk.errors.slice(0, 3))}`);
  const secrets = new Map<string, string>(bulk.credentials.map((c: { id: string; password: string }) => [c.id, c.password]));
  for (const d of devices) {
    if (d.transport === 'native' && !secrets.has(d.id)) {
      const rot = await api(opts, `/api/v1/devices/${d.id}/credentials`, {});
      secrets.set(d.id, rot.credentials.password);
    }
    d.secret = secrets.get(d.id);
  }
  const integrations: Record<string, MqttClient> = {};
  for (const type of ['ttn-v3', 'chirpstack-v4'] as const) {
    if (!devices.some((d) => d.transport === type)) continue;
    const res = await api(opts, '/api/v1/integrations', { id: `${opts.prefix}-${type}-${Date.now().toString(36)}`, type });
    integrations[type] = await connectClient(opts.mqtt, res.credentials.username, res.credentials.password);
  }
  // connect like a real estate after a power cut: many at once, not one by one
  const natives = devices.filter((d) => d.transport === 'native');
  for (let i = 0; i < natives.length; i += 25) {
    await Promise.all(natives.slice(i, i + 25).map(async (d) => { d.client = await connectClient(opts.mqtt, d.id, d.secret!); }));
  }

  const stats: FleetStats = { devices: devices.length, sent: 0, acked: 0, failed: 0, garbage: 0, byKind: {}, byTransport: { native: 0, 'ttn-v3': 0, 'chirpstack-v4': 0 }, elapsedS: 0, doorsClosed: 0 };
  const started = Date.now();
  const active = devices.filter((d) => !d.silent);
  const intervalMs = 1000 / opts.rate;
  let next = started;
  let n = 0;
  let inflight = 0;
  const progress = setInterval(() => { stats.elapsedS = (Date.now() - started) / 1000; opts.onProgress?.(stats); }, 1000);

  const send = (client: MqttClient, topic: string, payload: Buffer) => {
    stats.sent++;
    inflight++;
    client.publish(topic, payload, { qos: 1 }, (err) => {
      inflight--;
      if (err) stats.failed++;
      else stats.acked++;
    });
  };

  /** one uplink of `d` with `values`, native JSON or a vendor frame in its network server's envelope */
  const emit = (d: SimDevice, values: SimValues, now: number, garbage: boolean) => {
    stats.byKind[d.kind] = (stats.byKind[d.kind] ?? 0) + 1;
    stats.byTransport[d.transport]++;
    if (garbage) stats.garbage++;
    if (d.transport === 'native') {
      let payload: Buffer;
      // random bytes never form a JSON object, so a native model always refuses them
      if (garbage) payload = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)));
      else if (d.kind === 'door_access' && rnd() < 0.3) {
        payload = Buffer.from(JSON.stringify({ event: rnd() < 0.85 ? 'access_granted' : 'access_denied', credential: d.cards[Math.floor(rnd() * d.cards.length)], direction: rnd() < 0.5 ? 'in' : 'out' }));
      } else {
        const body: Record<string, unknown> = {};
        for (const k of NATIVE_KEYS[d.kind]) if (values[k] !== undefined) body[k] = values[k];
        payload = Buffer.from(JSON.stringify(body));
      }
      send(d.client!, `devices/${d.id}/up`, payload);
    } else {
      const { port, payload } = ENCODERS[d.model]!.encode(forEncoder(d.model, values)!);
      const iso = new Date(now).toISOString();
      let envelope: string;
      let topic: string;
      if (d.transport === 'ttn-v3') {
        topic = `v3/${opts.prefix}@estate/devices/${d.id}/up`;
        envelope = JSON.stringify({ end_device_ids: { device_id: d.id, dev_eui: d.devEui, application_ids: { application_id: opts.prefix } }, received_at: iso,
          uplink_message: { f_port: port, frm_payload: payload.toString('base64'), received_at: iso, rx_metadata: [{ rssi: -60 - Math.floor(rnd() * 50), snr: Math.round((rnd() * 15 - 5) * 10) / 10 }] } });
      } else {
        topic = `application/${opts.prefix}/device/${d.devEui!.toLowerCase()}/event/up`;
        envelope = JSON.stringify({ time: iso, deviceInfo: { devEui: d.devEui!.toLowerCase(), deviceName: d.id }, fPort: port, data: payload.toString('base64'), rxInfo: [{ rssi: -70 - Math.floor(rnd() * 40), snr: Math.round(rnd() * 10 * 10) / 10 }] });
      }
      // a garbled envelope (a network server bug, a broken bridge): cut short, never valid JSON
      if (garbage) envelope = envelope.slice(0, Math.max(1, Math.floor(envelope.length * rnd() * 0.9)));
      send(integrations[d.transport]!, topic, Buffer.from(envelope));
    }
  };

  const count = opts.count ?? Number.POSITIVE_INFINITY;
  while (Date.now() - started < opts.durationS * 1000 && stats.sent < count && !opts.signal?.aborted) {
    const d = active[n++ % active.length]!;
    const now = Date.now();
    emit(d, step(d, rnd, now, faults), now, faults.has('garbage') && rnd() < 0.02);
    next += intervalMs;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (n % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  // a clean ending: every door the run left open is closed, so its door_held_open alert clears
  // instead of staying open on the board after the simulator has gone
  for (const d of active) {
    if (d.kind !== 'door_access' || d.state.door_open !== true) continue;
    d.state.door_open = false;
    emit(d, { ...d.state, battery_v: 3.3, battery_pct: 80, temperature_c: 20 }, Date.now(), false);
    stats.doorsClosed++;
  }
  const deadline = Date.now() + 30_000;
  while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  clearInterval(progress);
  stats.elapsedS = (Date.now() - started) / 1000;
  await Promise.all([...devices.map((d) => d.client?.endAsync()), ...Object.values(integrations).map((c) => c.endAsync())]);
  return stats;
}
