/**
 * User models in the embedded store (table user_models, one JSON definition per row, parsed
 * by UserModelSchema when read back), mirrored into the model catalogue.
 */
import type { Logger } from 'pino';
import type { Db } from '../storage/database.js';
import type { ModelCatalogue } from '../core/catalogue.js';
import { RegistryError } from '../registry/devices.js';
import { UserModelSchema, type UserModelDefinition } from './schema.js';
import { userModel, type UserModel } from './model.js';
import type { CodecSandbox } from './sandbox.js';

interface Row { id: string; definition: string; created_at: number; updated_at: number }

export class UserModels {
  constructor(
    private readonly db: Db,
    private readonly catalogue: ModelCatalogue,
    private readonly sandbox: CodecSandbox,
    private readonly clock: () => number,
    private readonly log: Logger,
  ) {}

  load(): void {
    for (const row of this.db.prepare('SELECT id, definition, created_at, updated_at FROM user_models').all() as Row[]) {
      const parsed = UserModelSchema.safeParse(JSON.parse(row.definition));
      if (!parsed.success) {
        // a definition this version no longer accepts: its devices dead-letter with "unknown model" until it is fixed
        this.log.error({ model: row.id, issue: parsed.error.issues[0] }, 'stored user model does not validate; not loaded');
        continue;
      }
      this.catalogue.putUser(userModel(parsed.data, this.sandbox, { createdAt: row.created_at, updatedAt: row.updated_at }));
    }
  }

  get(id: string): UserModel | undefined {
    const m = this.catalogue.get(id);
    return m?.source === 'user' ? (m as UserModel) : undefined;
  }

  private async compile(def: UserModelDefinition): Promise<void> {
    try {
      await this.sandbox.check(def.decoder);
    } catch (err) {
      throw new RegistryError(400, `decoder: ${(err as Error).message}`, 'decoder');
    }
  }

  async create(def: UserModelDefinition): Promise<UserModel> {
    if (this.catalogue.get(def.id)) throw new RegistryError(409, `model ${def.id} already exists`, 'id');
    await this.compile(def);
    if (this.catalogue.get(def.id)) throw new RegistryError(409, `model ${def.id} already exists`, 'id');
    const now = this.clock();
    this.db.prepare('INSERT INTO user_models (id, definition, created_at, updated_at) VALUES (?, ?, ?, ?)').run(def.id, JSON.stringify(def), now, now);
    const model = userModel(def, this.sandbox, { createdAt: now, updatedAt: now });
    this.catalogue.putUser(model);
    return model;
  }

  /**
   * PUT: the whole definition replaced (as a payload formatter is replaced in The Things
   * Stack); devices of the model decode with the new codec from their next message. The
   * kind may change only while no device uses the model (alert rules are chosen by kind).
   */
  async replace(id: string, def: UserModelDefinition, devicesUsing: string[]): Promise<UserModel> {
    const cur = this.get(id);
    if (!cur) throw new RegistryError(404, `model ${id} not found`);
    if (def.kind !== cur.kind && devicesUsing.length > 0) {
      throw new RegistryError(409, `kind: ${id} is used by ${devicesUsing.length} device(s) (${devicesUsing.slice(0, 5).join(', ')}): its kind cannot change`, 'kind');
    }
    await this.compile(def);
    if (!this.get(id)) throw new RegistryError(404, `model ${id} not found`);
    const now = Math.max(this.clock(), cur.updatedAt + 1);
    this.db.prepare('UPDATE user_models SET definition = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(def), now, id);
    const model = userModel(def, this.sandbox, { createdAt: cur.createdAt, updatedAt: now });
    this.catalogue.putUser(model);
    return model;
  }

  delete(id: string, devicesUsing: string[]): void {
    if (this.catalogue.isBuiltin(id)) throw new RegistryError(409, `model ${id} is built in and cannot be deleted`);
    if (!this.get(id)) throw new RegistryError(404, `model ${id} not found`);
    if (devicesUsing.length > 0) {
      throw new RegistryError(409, `model ${id} is used by ${devicesUsing.length} device(s) (${devicesUsing.slice(0, 5).join(', ')}): delete or move them first`);
    }
    this.db.prepare('DELETE FROM user_models WHERE id = ?').run(id);
    this.catalogue.removeUser(id);
  }
}
