/**
 * The device registry: devices in a repository (SQLite on one node, PostgreSQL in a
 * cluster), mirrored in memory so the ingest hot path resolves a topic or a devEUI without a
 * query. Every write goes to the repository first and then to the mirror; in a cluster the
 * other nodes' writes arrive through applyChange (src/cluster/changes.ts).
 */
import type { DeviceRecord, DeviceRepository } from '../storage/repositories/types.js';
import { ConflictError } from '../storage/repositories/types.js';
import type { DeviceKind } from '../core/vocabulary.js';
import type { ModelCatalogue } from '../core/catalogue.js';
import { generateSecret, hashSecret, sha256, verifySecret } from './secrets.js';
import { isReservedDeviceId } from '../core/ids.js';
import type { Revocations } from './revocations.js';

export interface Device {
  id: string;
  model: string;
  kind: DeviceKind;
  name: string | null;
  site: string;
  attributes: Record<string, unknown>;
  lorawan: { devEui: string } | null;
  createdAt: number;
  updatedAt: number;
  lastSeen: number | null;
}

export interface DeviceInput {
  id: string;
  model: string;
  name?: string | null;
  site?: string;
  attributes?: Record<string, unknown>;
  lorawan?: { devEui: string } | null;
}

/** A fresh secret and its scrypt hash (the KDF runs in the libuv pool: batch these in parallel). */
export async function newCredential(): Promise<{ secret: string; hash: string }> {
  const secret = generateSecret();
  return { secret, hash: await hashSecret(secret) };
}

export class RegistryError extends Error {
  constructor(readonly status: 400 | 404 | 409, message: string, readonly field?: string) {
    super(message);
  }
}

export class DeviceRegistry {
  private readonly devices = new Map<string, Device>();
  private readonly hashes = new Map<string, string>();
  private readonly byEui = new Map<string, string>();
  /** sha256 of the last secret that passed scrypt, per device: reconnects skip the KDF */
  private readonly verified = new Map<string, string>();
  /** cluster mode: last-seen times not yet written to the shared repository */
  private pendingSeen: Map<string, number> | undefined;

  constructor(private readonly repo: DeviceRepository, private readonly catalogue: ModelCatalogue, private readonly clock: () => number = Date.now, private readonly revocations?: Revocations) {}

  async load(): Promise<void> {
    for (const row of await this.repo.all()) this.mirror(row);
  }

  private mirror(row: DeviceRecord): Device {
    const model = this.catalogue.get(row.model);
    const seen = this.devices.get(row.id)?.lastSeen ?? null;
    const device: Device = {
      id: row.id,
      model: row.model,
      kind: model?.kind ?? 'water_quality',
      name: row.name,
      site: row.site,
      attributes: row.attributes,
      lorawan: row.devEui ? { devEui: row.devEui } : null,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      lastSeen: row.lastSeen === null || (seen !== null && seen > row.lastSeen) ? seen : row.lastSeen,
    };
    const old = this.devices.get(row.id);
    if (old?.lorawan) this.byEui.delete(old.lorawan.devEui);
    this.devices.set(row.id, device);
    this.hashes.set(row.id, row.secretHash);
    if (device.lorawan) this.byEui.set(device.lorawan.devEui, device.id);
    return device;
  }

  private forget(id: string): Device | undefined {
    const cur = this.devices.get(id);
    if (!cur) return undefined;
    this.devices.delete(id);
    this.hashes.delete(id);
    this.verified.delete(id);
    if (cur.lorawan) this.byEui.delete(cur.lorawan.devEui);
    return cur;
  }

  get(id: string): Device | undefined { return this.devices.get(id); }
  byDevEui(eui: string): Device | undefined {
    const id = this.byEui.get(eui.toUpperCase());
    return id === undefined ? undefined : this.devices.get(id);
  }
  all(): IterableIterator<Device> { return this.devices.values(); }
  get size(): number { return this.devices.size; }

  private checkModel(model: string): void {
    if (!this.catalogue.get(model)) throw new RegistryError(400, `unknown model ${model}`, 'model');
  }

  private checkEui(eui: string | undefined, id: string): void {
    if (!eui) return;
    const owner = this.byEui.get(eui);
    if (owner !== undefined && owner !== id) throw new RegistryError(409, `devEui ${eui} already belongs to device ${owner}`, 'lorawan.devEui');
  }

  /** a unique constraint of the shared store (another node got there first) is a 409 like the mirror's */
  private async conflicts<T>(id: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      await this.applyChange(id).catch(() => undefined);
      throw new RegistryError(409, err.field === 'id' ? `device ${id} already exists` : 'devEui already belongs to another device', err.field);
    }
  }

  /** Creates a device; returns it with its secret (shown once). 409 when the id exists. */
  async create(input: DeviceInput, credential?: { secret: string; hash: string }): Promise<{ device: Device; secret: string }> {
    const reserved = isReservedDeviceId(input.id);
    if (reserved) throw new RegistryError(400, `id: ${reserved}`, 'id');
    if (this.devices.has(input.id)) throw new RegistryError(409, `device ${input.id} already exists`, 'id');
    this.checkModel(input.model);
    this.checkEui(input.lorawan?.devEui, input.id);
    const { secret, hash } = credential ?? (await newCredential());
    // re-check after the await: another request may have created it (or deleted its user model) meanwhile
    if (this.devices.has(input.id)) throw new RegistryError(409, `device ${input.id} already exists`, 'id');
    this.checkModel(input.model);
    this.checkEui(input.lorawan?.devEui, input.id);
    const now = this.clock();
    const record = {
      id: input.id, model: input.model, name: input.name ?? null, site: input.site ?? '', attributes: input.attributes ?? {},
      devEui: input.lorawan?.devEui ?? null, secretHash: hash, createdAt: now, updatedAt: now,
    };
    await this.conflicts(input.id, () => this.repo.insert(record));
    return { device: this.mirror({ ...record, lastSeen: null }), secret };
  }

  /** PATCH semantics: given fields replace; attributes merge (null deletes a key). */
  async update(id: string, patch: Partial<Omit<DeviceInput, 'id'>>): Promise<Device> {
    const cur = this.devices.get(id);
    if (!cur) throw new RegistryError(404, `device ${id} not found`);
    if (patch.model !== undefined) this.checkModel(patch.model);
    if (patch.lorawan) this.checkEui(patch.lorawan.devEui, id);
    let attributes = cur.attributes;
    if (patch.attributes !== undefined) {
      attributes = { ...cur.attributes };
      for (const [k, v] of Object.entries(patch.attributes)) {
        if (v === null) delete attributes[k];
        else attributes[k] = v;
      }
    }
    const lorawan = patch.lorawan === undefined ? cur.lorawan : patch.lorawan;
    return this.write(id, {
      model: patch.model ?? cur.model, name: patch.name === undefined ? cur.name : patch.name, site: patch.site ?? cur.site,
      attributes, devEui: lorawan?.devEui ?? null, updatedAt: this.clock(),
    });
  }

  private async write(id: string, fields: Parameters<DeviceRepository['update']>[1]): Promise<Device> {
    const found = await this.conflicts(id, () => this.repo.update(id, fields));
    const hash = this.hashes.get(id);
    if (!found || hash === undefined) {
      this.forget(id); // deleted meanwhile (on another node)
      throw new RegistryError(404, `device ${id} not found`);
    }
    const cur = this.devices.get(id);
    return this.mirror({ id, ...fields, secretHash: hash, createdAt: cur?.createdAt ?? fields.updatedAt, lastSeen: cur?.lastSeen ?? null });
  }

  /** Bulk upsert: replaces the given fields of an existing device (attributes replaced whole). */
  async upsert(input: DeviceInput, credential?: { secret: string; hash: string }): Promise<{ device: Device; created: boolean; secret?: string }> {
    if (!this.devices.has(input.id)) {
      const { device, secret } = await this.create(input, credential);
      return { device, created: true, secret };
    }
    const device = await this.update(input.id, {
      model: input.model, name: input.name, site: input.site,
      lorawan: input.lorawan,
    });
    if (input.attributes !== undefined) {
      return { device: await this.write(input.id, { model: device.model, name: device.name, site: device.site, attributes: input.attributes, devEui: device.lorawan?.devEui ?? null, updatedAt: device.updatedAt }), created: false };
    }
    return { device, created: false };
  }

  async delete(id: string): Promise<void> {
    if (!this.devices.has(id)) throw new RegistryError(404, `device ${id} not found`);
    const found = await this.repo.delete(id);
    this.forget(id);
    // not found: deleted meanwhile by another node, whose notification closes the sessions too
    this.revocations?.revoke({ type: 'device', id }, 'device_deleted');
    if (!found) throw new RegistryError(404, `device ${id} not found`);
  }

  /** New secret; the old one stops working at once (the verified cache is dropped too). */
  async rotate(id: string): Promise<string> {
    if (!this.devices.has(id)) throw new RegistryError(404, `device ${id} not found`);
    const secret = generateSecret();
    const hash = await hashSecret(secret);
    if (!(await this.repo.setSecret(id, hash, this.clock()))) {
      this.forget(id);
      throw new RegistryError(404, `device ${id} not found`);
    }
    this.hashes.set(id, hash);
    this.verified.delete(id);
    this.revocations?.revoke({ type: 'device', id }, 'secret_rotated');
    return secret;
  }

  /**
   * A change announced by another node (or this one): reload the row and close the sessions
   * the change invalidates, as the local rotate/delete do. Idempotent: an echo of this node's
   * own write finds nothing different.
   */
  async applyChange(id: string): Promise<void> {
    const row = await this.repo.get(id);
    this.applyRow(id, row);
  }

  private applyRow(id: string, row: DeviceRecord | undefined): void {
    if (!row) {
      if (this.forget(id)) this.revocations?.revoke({ type: 'device', id }, 'device_deleted');
      return;
    }
    const rotated = this.hashes.has(id) && this.hashes.get(id) !== row.secretHash;
    this.mirror(row);
    if (rotated) {
      this.verified.delete(id);
      this.revocations?.revoke({ type: 'device', id }, 'secret_rotated');
    }
  }

  /** everything again (the change feed reconnected: notifications may have been missed) */
  async resync(): Promise<void> {
    const rows = await this.repo.all();
    const present = new Set(rows.map((r) => r.id));
    for (const id of [...this.devices.keys()]) if (!present.has(id)) this.applyRow(id, undefined);
    for (const row of rows) this.applyRow(row.id, row);
  }

  async verify(id: string, secret: string): Promise<boolean> {
    const hash = this.hashes.get(id);
    if (hash === undefined) return false;
    const fast = sha256(secret);
    if (this.verified.get(id) === fast) return true;
    const ok = await verifySecret(secret, hash);
    // the secret may have been rotated while scrypt ran
    if (ok && this.hashes.get(id) === hash) this.verified.set(id, fast);
    return ok && this.hashes.get(id) === hash;
  }

  /** devices of a model (a user model cannot be deleted while any remain) */
  usingModel(model: string): string[] {
    return [...this.devices.values()].filter((d) => d.model === model).map((d) => d.id);
  }

  /** the kind comes from the model: re-read after a user model is replaced */
  refreshKinds(model: string): void {
    const kind = this.catalogue.get(model)?.kind;
    if (!kind) return;
    for (const d of this.devices.values()) if (d.model === model) d.kind = kind;
  }

  markSeen(id: string, ts: number): void {
    const d = this.devices.get(id);
    if (d && (d.lastSeen === null || d.lastSeen < ts)) {
      d.lastSeen = ts;
      this.pendingSeen?.set(id, ts);
    }
  }

  /**
   * Cluster mode: last-seen goes to the shared repository in one statement per period (not
   * per group commit: one UPDATE a second whatever the commit rate), and the other nodes'
   * last-seen comes back the same way, so online/offline agrees across nodes within about
   * two periods. On one node the telemetry store writes last_seen in the commit's
   * transaction instead and this is not used.
   */
  async syncSeen(): Promise<void> {
    this.pendingSeen ??= new Map();
    const batch = this.pendingSeen;
    this.pendingSeen = new Map();
    try {
      await this.repo.markSeen(batch);
    } catch (err) {
      for (const [id, ts] of batch) if ((this.pendingSeen.get(id) ?? -Infinity) < ts) this.pendingSeen.set(id, ts);
      throw err;
    }
    // a row's last_seen (the receiving node's clock) becomes visible up to one period plus a
    // commit later; the look-back covers that and NTP-level clock skew with room to spare,
    // while bounding what each poll reads (the devices seen in the last 10 s)
    const since = this.clock() - SEEN_LOOKBACK_MS;
    for (const { id, lastSeen } of await this.repo.seenSince(since)) {
      const d = this.devices.get(id);
      if (d && (d.lastSeen === null || d.lastSeen < lastSeen)) d.lastSeen = lastSeen;
    }
  }
}

const SEEN_LOOKBACK_MS = 10_000;
