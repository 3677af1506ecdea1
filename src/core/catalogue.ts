/**
 * The model catalogue: the built-in models of devices/ plus the user models (user-supplied
 * codecs, src/codecs/) an admin added at run time. Passed to whatever resolves a device's
 * model (ingest, registry, REST, alerts) instead of a module-level registry.
 */
import type { Decoded, DecodeInput, DeviceModel } from './model.js';

/**
 * A model whose decoder runs outside the event loop (a user codec in the sandbox worker):
 * `decodeAsync` replaces the synchronous `decode`, which such a model does not support.
 */
export interface CatalogueModel extends DeviceModel {
  source?: 'builtin' | 'user';
  decodeAsync?(input: DecodeInput): Promise<Decoded>;
}

export class ModelCatalogue {
  private readonly builtins = new Map<string, CatalogueModel>();
  private readonly users = new Map<string, CatalogueModel>();

  constructor(builtins: readonly DeviceModel[]) {
    for (const m of builtins) this.builtins.set(m.id, m);
  }

  get(id: string): CatalogueModel | undefined {
    return this.builtins.get(id) ?? this.users.get(id);
  }

  isBuiltin(id: string): boolean {
    return this.builtins.has(id);
  }

  /** built-ins first (in devices/index.ts order), then user models by id */
  all(): CatalogueModel[] {
    return [...this.builtins.values(), ...[...this.users.values()].sort((a, b) => a.id.localeCompare(b.id))];
  }

  /** adds or replaces a user model; a built-in id is never shadowed */
  putUser(model: CatalogueModel): void {
    if (this.builtins.has(model.id)) throw new Error(`model ${model.id} is built in`);
    this.users.set(model.id, model);
  }

  removeUser(id: string): void {
    this.users.delete(id);
  }
}
