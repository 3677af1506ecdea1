import type { ApiKeyRecord, ApiKeyRepository } from '../storage/repositories/types.js';
import { ConflictError } from '../storage/repositories/types.js';
import { generateToken, sha256 } from './secrets.js';
import { RegistryError } from './devices.js';
import type { Revocations } from './revocations.js';

export const ROLES = ['admin', 'crew', 'integrator'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiKey {
  name: string;
  role: Role;
  createdAt: number;
}

export class ApiKeys {
  private readonly byHash = new Map<string, ApiKey>();
  private readonly hashByName = new Map<string, string>();

  constructor(private readonly repo: ApiKeyRepository, private readonly clock: () => number = Date.now, private readonly revocations?: Revocations) {}

  async load(): Promise<void> {
    const rows = await this.repo.all();
    this.byHash.clear();
    this.hashByName.clear();
    for (const r of rows) this.mirror(r);
  }

  private mirror(r: ApiKeyRecord): void {
    this.forget(r.name);
    this.byHash.set(r.tokenHash, { name: r.name, role: r.role, createdAt: r.createdAt });
    this.hashByName.set(r.name, r.tokenHash);
  }

  private forget(name: string): boolean {
    const hash = this.hashByName.get(name);
    if (hash === undefined) return false;
    this.byHash.delete(hash);
    this.hashByName.delete(name);
    return true;
  }

  get size(): number { return this.byHash.size; }

  authenticate(token: string): ApiKey | undefined {
    return this.byHash.get(sha256(token));
  }

  list(): ApiKey[] {
    return [...this.byHash.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async create(name: string, role: Role, token = generateToken()): Promise<{ key: ApiKey; token: string }> {
    if (this.hashByName.has(name)) throw new RegistryError(409, `API key ${name} already exists`, 'name');
    const key = { name, role, createdAt: this.clock() };
    try {
      await this.repo.insert({ ...key, tokenHash: sha256(token) });
    } catch (err) {
      if (err instanceof ConflictError) throw new RegistryError(409, `API key ${name} already exists`, 'name');
      throw err;
    }
    this.mirror({ ...key, tokenHash: sha256(token) });
    return { key, token };
  }

  /** The bootstrap admin key of GATEWAY_ADMIN_TOKEN: (re)bound to that token on every start. */
  async ensure(name: string, role: Role, token: string): Promise<void> {
    await this.repo.upsert({ name, role, tokenHash: sha256(token), createdAt: this.clock() });
    await this.load();
  }

  async delete(name: string): Promise<void> {
    const found = await this.repo.delete(name);
    const had = this.forget(name);
    if (!found && !had) throw new RegistryError(404, `API key ${name} not found`);
    this.revocations?.revoke({ type: 'consumer', name }, 'api_key_deleted');
    if (!found) throw new RegistryError(404, `API key ${name} not found`);
  }

  /** a change announced by another node: reload that key; a key gone or rebound to another token closes its sessions */
  async applyChange(name: string): Promise<void> {
    this.applyRow(name, await this.repo.get(name));
  }

  private applyRow(name: string, row: ApiKeyRecord | undefined): void {
    const old = this.hashByName.get(name);
    if (!row) {
      if (this.forget(name)) this.revocations?.revoke({ type: 'consumer', name }, 'api_key_deleted');
      return;
    }
    this.mirror(row);
    if (old !== undefined && old !== row.tokenHash) this.revocations?.revoke({ type: 'consumer', name }, 'api_key_deleted');
  }

  async resync(): Promise<void> {
    const rows = await this.repo.all();
    const present = new Set(rows.map((r) => r.name));
    for (const name of [...this.hashByName.keys()]) if (!present.has(name)) this.applyRow(name, undefined);
    for (const r of rows) this.applyRow(r.name, r);
  }
}
