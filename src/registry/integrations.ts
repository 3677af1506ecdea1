import type { IntegrationRecord, IntegrationRepository } from '../storage/repositories/types.js';
import { ConflictError } from '../storage/repositories/types.js';
import { generateSecret, hashSecret, sha256, verifySecret } from './secrets.js';
import { RegistryError } from './devices.js';
import type { Revocations } from './revocations.js';

export const INTEGRATION_TYPES = ['ttn-v3', 'chirpstack-v4'] as const;
export type IntegrationType = (typeof INTEGRATION_TYPES)[number];

export interface Integration {
  id: string;
  type: IntegrationType;
  createdAt: number;
}

/** MQTT username of an integration: its own namespace, apart from device ids. */
export const INTEGRATION_USER_PREFIX = 'integration:';

export class Integrations {
  private readonly items = new Map<string, Integration & { hash: string }>();
  private readonly verified = new Map<string, string>();

  constructor(private readonly repo: IntegrationRepository, private readonly clock: () => number = Date.now, private readonly revocations?: Revocations) {}

  async load(): Promise<void> {
    for (const r of await this.repo.all()) this.items.set(r.id, { id: r.id, type: r.type, createdAt: r.createdAt, hash: r.secretHash });
  }

  get(id: string): Integration | undefined {
    const i = this.items.get(id);
    return i && { id: i.id, type: i.type, createdAt: i.createdAt };
  }

  list(): Integration[] {
    return [...this.items.keys()].sort().map((id) => this.get(id)!);
  }

  async create(id: string, type: IntegrationType): Promise<{ integration: Integration; username: string; password: string }> {
    if (this.items.has(id)) throw new RegistryError(409, `integration ${id} already exists`, 'id');
    const password = generateSecret();
    const hash = await hashSecret(password);
    if (this.items.has(id)) throw new RegistryError(409, `integration ${id} already exists`, 'id');
    const createdAt = this.clock();
    try {
      await this.repo.insert({ id, type, secretHash: hash, createdAt });
    } catch (err) {
      if (err instanceof ConflictError) throw new RegistryError(409, `integration ${id} already exists`, 'id');
      throw err;
    }
    this.items.set(id, { id, type, createdAt, hash });
    return { integration: { id, type, createdAt }, username: INTEGRATION_USER_PREFIX + id, password };
  }

  async delete(id: string): Promise<void> {
    if (!this.items.has(id)) throw new RegistryError(404, `integration ${id} not found`);
    const found = await this.repo.delete(id);
    this.items.delete(id);
    this.verified.delete(id);
    this.revocations?.revoke({ type: 'integration', id }, 'integration_deleted');
    if (!found) throw new RegistryError(404, `integration ${id} not found`);
  }

  async verify(id: string, secret: string): Promise<boolean> {
    const item = this.items.get(id);
    if (!item) return false;
    const fast = sha256(secret);
    if (this.verified.get(id) === fast) return true;
    const ok = await verifySecret(secret, item.hash);
    if (ok && this.items.get(id)?.hash === item.hash) this.verified.set(id, fast);
    return ok && this.items.get(id)?.hash === item.hash;
  }

  /** a change announced by another node: reload that integration */
  async applyChange(id: string): Promise<void> {
    this.applyRow(id, await this.repo.get(id));
  }

  private applyRow(id: string, row: IntegrationRecord | undefined): void {
    const old = this.items.get(id);
    if (!row) {
      if (old) {
        this.items.delete(id);
        this.verified.delete(id);
        this.revocations?.revoke({ type: 'integration', id }, 'integration_deleted');
      }
      return;
    }
    this.items.set(id, { id: row.id, type: row.type, createdAt: row.createdAt, hash: row.secretHash });
    if (old && old.hash !== row.secretHash) {
      this.verified.delete(id);
      this.revocations?.revoke({ type: 'integration', id }, 'integration_deleted');
    }
  }

  async resync(): Promise<void> {
    const rows = await this.repo.all();
    const present = new Set(rows.map((r) => r.id));
    for (const id of [...this.items.keys()]) if (!present.has(id)) this.applyRow(id, undefined);
    for (const r of rows) this.applyRow(r.id, r);
  }
}
