/**
 * User models behind a repository (table user_models, one JSON definition per row, parsed
 * by UserModelSchema when read back), mirrored into the model catalogue: the embedded file
 * on one node, PostgreSQL in cluster mode, where a model created, replaced or deleted on
 * another node arrives through the change feed (applyChange) and is compiled here too.
 */
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { ModelCatalogue } from '../core/catalogue.js';
import { RegistryError } from '../registry/devices.js';
import { ConflictError, type UserModelRecord, type UserModelRepository } from '../storage/repositories/types.js';
import { UserModelSchema, type UserModelDefinition } from './schema.js';
import { userModel, type UserModel } from './model.js';
import type { CodecSandbox } from './sandbox.js';

export class UserModels {
  /** models stored (by another node) that this node could not load: id -> why */
  readonly failed = new Map<string, string>();
  /** the compiles applyChange started, one after another */
  private checks: Promise<void> = Promise.resolve();

  constructor(
    private readonly repo: UserModelRepository,
    private readonly catalogue: ModelCatalogue,
    private readonly sandbox: CodecSandbox,
    private readonly clock: () => number,
    private readonly log: Logger,
    /** a model's kind changed or it came or went: the registry re-reads its devices' kinds */
    private readonly onChanged: (id: string) => void = () => undefined,
  ) {}

  /** at start, before the registry loads (a device's kind comes from its model) */
  async load(): Promise<void> {
    for (const row of await this.repo.all()) this.mirror(row);
  }

  /** the stored definition, or undefined (logged, counted in failed) when this version no longer accepts it */
  private parse(row: UserModelRecord): UserModelDefinition | undefined {
    let json: unknown;
    try { json = JSON.parse(row.definition); } catch (err) {
      this.fail(row.id, `definition is not JSON: ${(err as Error).message}`);
      return undefined;
    }
    const parsed = UserModelSchema.safeParse(json);
    if (!parsed.success) {
      // its devices dead-letter with "unknown model" until it is fixed
      const issue = parsed.error.issues[0];
      this.fail(row.id, `definition does not validate: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
      return undefined;
    }
    return parsed.data;
  }

  private fail(id: string, why: string): void {
    this.failed.set(id, why);
    this.log.error({ model: id, err: why }, 'stored user model not loaded on this node');
  }

  private mirror(row: UserModelRecord): boolean {
    const def = this.parse(row);
    if (!def) return false;
    this.failed.delete(row.id);
    this.catalogue.putUser(userModel(def, this.sandbox, { createdAt: row.createdAt, updatedAt: row.updatedAt }));
    return true;
  }

  /**
   * Another node created, replaced or deleted model `id` (the change feed): the stored row is
   * read back, put into the catalogue and its codec compiled in this node's sandbox. The
   * compile does not hold the feed (nor the model) back: the first compile on a node starts
   * its sandbox thread, which under load took more than the 1 s a change may take to reach
   * every node, and a device provisioned right after its model must not wait behind it; an
   * uplink that arrives meanwhile queues behind the compile in the same thread. A codec that
   * does not compile here is logged and counted (gateway_user_models_failed) and this node
   * drops its copy: the model's uplinks dead-letter here with the reason rather than decode
   * with a version the other nodes no longer run.
   */
  async applyChange(id: string): Promise<void> {
    if (this.catalogue.isBuiltin(id)) return;
    const row = await this.repo.get(id);
    const cur = this.get(id);
    if (!row) {
      this.failed.delete(id);
      if (cur) { this.catalogue.removeUser(id); this.onChanged(id); }
      return;
    }
    if (cur && cur.updatedAt === row.updatedAt && cur.createdAt === row.createdAt) return; // this node's own write, already mirrored
    const def = this.parse(row);
    if (!def) {
      if (cur) { this.catalogue.removeUser(id); this.onChanged(id); }
      return;
    }
    this.mirror(row);
    this.onChanged(id);
    const model = this.get(id);
    // one compile at a time: a resync of many changed models must not overflow the sandbox's queue (codec busy)
    this.checks = this.checks.then(async () => {
      if (this.get(id) !== model) return; // replaced or deleted meanwhile: that change decides
      try {
        await this.sandbox.check(def.decoder);
      } catch (err) {
        if (this.get(id) !== model) return;
        this.fail(id, `decoder does not compile on this node: ${(err as Error).message}`);
        this.catalogue.removeUser(id);
        this.onChanged(id);
      }
    });
  }

  /** resolves when every compile applyChange started has finished (tests, shutdown) */
  async settled(): Promise<void> {
    let last: Promise<void>;
    do { last = this.checks; await last; } while (last !== this.checks);
  }

  /** after the change feed (re)connects: the changes it may have missed */
  async resync(): Promise<void> {
    const rows = await this.repo.all();
    const present = new Set(rows.map((r) => r.id));
    for (const m of this.catalogue.all()) if (m.source === 'user' && !present.has(m.id)) await this.applyChange(m.id);
    for (const id of [...this.failed.keys()]) if (!present.has(id)) this.failed.delete(id);
    for (const r of rows) await this.applyChange(r.id);
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
    try {
      await this.repo.insert({ id: def.id, definition: JSON.stringify(def), createdAt: now, updatedAt: now });
    } catch (err) {
      // created meanwhile on another node (cluster mode)
      if (err instanceof ConflictError) throw new RegistryError(409, `model ${def.id} already exists`, 'id');
      throw err;
    }
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
    // deleted meanwhile on another node (cluster mode)
    if (!(await this.repo.update(id, JSON.stringify(def), now))) {
      this.catalogue.removeUser(id);
      throw new RegistryError(404, `model ${id} not found`);
    }
    const model = userModel(def, this.sandbox, { createdAt: cur.createdAt, updatedAt: now });
    this.catalogue.putUser(model);
    return model;
  }

  async delete(id: string, devicesUsing: string[]): Promise<void> {
    if (this.catalogue.isBuiltin(id)) throw new RegistryError(409, `model ${id} is built in and cannot be deleted`);
    if (!this.get(id)) throw new RegistryError(404, `model ${id} not found`);
    if (devicesUsing.length > 0) {
      throw new RegistryError(409, `model ${id} is used by ${devicesUsing.length} device(s) (${devicesUsing.slice(0, 5).join(', ')}): delete or move them first`);
    }
    await this.repo.delete(id);
    this.catalogue.removeUser(id);
  }
}

/** gateway_user_models_failed: stored user models this node could not load (logged with the reason) */
export function registerUserModelMetrics(registry: Registry, models: UserModels): void {
  new Gauge({ name: 'gateway_user_models_failed', help: 'stored user models this node could not load (invalid definition, or a codec that does not compile here); the log says why', registers: [registry], collect() { this.set(models.failed.size); } });
}
