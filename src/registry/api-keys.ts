import type { Db } from '../storage/database.js';
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

  constructor(private readonly db: Db, private readonly clock: () => number = Date.now, private readonly revocations?: Revocations) {}

  load(): void {
    this.byHash.clear();
    for (const r of this.db.prepare('SELECT name, role, token_hash, created_at FROM api_keys').all() as Array<{ name: string; role: Role; token_hash: string; created_at: number }>) {
      this.byHash.set(r.token_hash, { name: r.name, role: r.role, createdAt: r.created_at });
    }
  }

  get size(): number { return this.byHash.size; }

  authenticate(token: string): ApiKey | undefined {
    return this.byHash.get(sha256(token));
  }

  list(): ApiKey[] {
    return [...this.byHash.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  create(name: string, role: Role, token = generateToken()): { key: ApiKey; token: string } {
    if (this.list().some((k) => k.name === name)) throw new RegistryError(409, `API key ${name} already exists`, 'name');
    const key = { name, role, createdAt: this.clock() };
    this.db.prepare('INSERT INTO api_keys (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)').run(name, role, sha256(token), key.createdAt);
    this.byHash.set(sha256(token), key);
    return { key, token };
  }

  /** The bootstrap admin key of GATEWAY_ADMIN_TOKEN: (re)bound to that token on every start. */
  ensure(name: string, role: Role, token: string): void {
    const hash = sha256(token);
    this.db.prepare(`INSERT INTO api_keys (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(name) DO UPDATE SET role = excluded.role, token_hash = excluded.token_hash`).run(name, role, hash, this.clock());
    this.load();
  }

  delete(name: string): void {
    const res = this.db.prepare('DELETE FROM api_keys WHERE name = ?').run(name);
    if (res.changes === 0) throw new RegistryError(404, `API key ${name} not found`);
    this.load();
    this.revocations?.revoke({ type: 'consumer', name }, 'api_key_deleted');
  }
}
