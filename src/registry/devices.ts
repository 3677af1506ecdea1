/**
 * The device registry: devices in the embedded store, mirrored in memory so the ingest hot
 * path resolves a topic or a devEUI without a query. Every write goes to SQLite first and
 * then to the mirror.
 */
import type { Db } from '../storage/database.js';
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

interface Row {
  id: string; model: string; name: string | null; site: string; attributes: string; dev_eui: string | null;
  secret_hash: string; created_at: number; updated_at: number; last_seen: number | null;
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

  constructor(private readonly db: Db, private readonly catalogue: ModelCatalogue, private readonly clock: () => number = Date.now, private readonly revocations?: Revocations) {}

  load(): void {
    for (const row of this.db.prepare('SELECT * FROM devices').all() as Row[]) this.mirror(row);
  }

  private mirror(row: Row): Device {
    const model = this.catalogue.get(row.model);
    const device: Device = {
      id: row.id,
      model: row.model,
      kind: model?.kind ?? 'water_quality',
      name: row.name,
      site: row.site,
      attributes: JSON.parse(row.attributes) as Record<string, unknown>,
      lorawan: row.dev_eui ? { devEui: row.dev_eui } : null,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      lastSeen: this.devices.get(row.id)?.lastSeen ?? row.last_seen,
    };
    const old = this.devices.get(row.id);
    if (old?.lorawan) this.byEui.delete(old.lorawan.devEui);
    this.devices.set(row.id, device);
    this.hashes.set(row.id, row.secret_hash);
    if (device.lorawan) this.byEui.set(device.lorawan.devEui, device.id);
    return device;
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
    this.db.prepare(`INSERT INTO devices (id, model, name, site, attributes, dev_eui, secret_hash, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(input.id, input.model, input.name ?? null, input.site ?? '',
      JSON.stringify(input.attributes ?? {}), input.lorawan?.devEui ?? null, hash, now, now);
    return { device: this.reload(input.id), secret };
  }

  /** PATCH semantics: given fields replace; attributes merge (null deletes a key). */
  update(id: string, patch: Partial<Omit<DeviceInput, 'id'>>): Device {
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
    this.db.prepare('UPDATE devices SET model = ?, name = ?, site = ?, attributes = ?, dev_eui = ?, updated_at = ? WHERE id = ?').run(
      patch.model ?? cur.model, patch.name === undefined ? cur.name : patch.name, patch.site ?? cur.site,
      JSON.stringify(attributes), lorawan?.devEui ?? null, this.clock(), id);
    return this.reload(id);
  }

  /** Bulk upsert: replaces the given fields of an existing device (attributes replaced whole). */
  async upsert(input: DeviceInput, credential?: { secret: string; hash: string }): Promise<{ device: Device; created: boolean; secret?: string }> {
    if (!this.devices.has(input.id)) {
      const { device, secret } = await this.create(input, credential);
      return { device, created: true, secret };
    }
    const device = this.update(input.id, {
      model: input.model, name: input.name, site: input.site,
      lorawan: input.lorawan,
    });
    if (input.attributes !== undefined) {
      this.db.prepare('UPDATE devices SET attributes = ? WHERE id = ?').run(JSON.stringify(input.attributes), input.id);
      return { device: this.reload(input.id), created: false };
    }
    return { device, created: false };
  }

  delete(id: string): void {
    const cur = this.devices.get(id);
    if (!cur) throw new RegistryError(404, `device ${id} not found`);
    this.db.prepare('DELETE FROM devices WHERE id = ?').run(id);
    this.devices.delete(id);
    this.hashes.delete(id);
    this.verified.delete(id);
    if (cur.lorawan) this.byEui.delete(cur.lorawan.devEui);
    this.revocations?.revoke({ type: 'device', id }, 'device_deleted');
  }

  /** New secret; the old one stops working at once (the verified cache is dropped too). */
  async rotate(id: string): Promise<string> {
    if (!this.devices.has(id)) throw new RegistryError(404, `device ${id} not found`);
    const secret = generateSecret();
    const hash = await hashSecret(secret);
    this.db.prepare('UPDATE devices SET secret_hash = ?, updated_at = ? WHERE id = ?').run(hash, this.clock(), id);
    this.hashes.set(id, hash);
    this.verified.delete(id);
    this.revocations?.revoke({ type: 'device', id }, 'secret_rotated');
    return secret;
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
    if (d && (d.lastSeen === null || d.lastSeen < ts)) d.lastSeen = ts;
  }

  private reload(id: string): Device {
    return this.mirror(this.db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as Row);
  }
}
