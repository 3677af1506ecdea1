import type { Db } from '../storage/database.js';
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

  constructor(private readonly db: Db, private readonly clock: () => number = Date.now, private readonly revocations?: Revocations) {}

  load(): void {
    for (const r of this.db.prepare('SELECT id, type, secret_hash, created_at FROM integrations').all() as Array<{ id: string; type: IntegrationType; secret_hash: string; created_at: number }>) {
      this.items.set(r.id, { id: r.id, type: r.type, createdAt: r.created_at, hash: r.secret_hash });
    }
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
    this.db.prepare('INSERT INTO integrations (id, type, secret_hash, created_at) VALUES (?, ?, ?, ?)').run(id, type, hash, createdAt);
    this.items.set(id, { id, type, createdAt, hash });
    return { integration: { id, type, createdAt }, username: INTEGRATION_USER_PREFIX + id, password };
  }

  delete(id: string): void {
    if (!this.items.delete(id)) throw new RegistryError(404, `integration ${id} not found`);
    this.verified.delete(id);
    this.db.prepare('DELETE FROM integrations WHERE id = ?').run(id);
    this.revocations?.revoke({ type: 'integration', id }, 'integration_deleted');
  }

  async verify(id: string, secret: string): Promise<boolean> {
    const item = this.items.get(id);
    if (!item) return false;
    const fast = sha256(secret);
    if (this.verified.get(id) === fast) return true;
    const ok = await verifySecret(secret, item.hash);
    if (ok) this.verified.set(id, fast);
    return ok;
  }
}
