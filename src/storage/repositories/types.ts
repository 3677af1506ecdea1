/**
 * The shared registry's repositories (issue 15 item 1): devices, API keys, integrations,
 * audit and kv, each a small async interface with one SQLite implementation (the embedded
 * default, the same SQL as before) and one PostgreSQL implementation (cluster mode). Rows
 * are parsed by the zod schemas below on the way out, so a column of an unexpected type
 * (PostgreSQL returns bigint as a string) is converted or refused here, not cast.
 */
import { z } from 'zod';

/** a unique constraint refused the write; field names the colliding column */
export class ConflictError extends Error {
  constructor(readonly field: string, message: string) { super(message); }
}

/**
 * The shared store could not be reached (PostgreSQL down, the connection cut): nothing was
 * written, the caller may retry. statusCode 503 is what the REST layer answers.
 */
export class StoreUnavailableError extends Error {
  readonly statusCode = 503;
  /** what the driver said (for the log, not for API clients: it names hosts and ports) */
  constructor(message: string, readonly detail: string) { super(message); }
}

const Millis = z.coerce.number().int();

export const DeviceRowSchema = z.object({
  id: z.string(), model: z.string(), name: z.string().nullable(), site: z.string(), attributes: z.string(),
  dev_eui: z.string().nullable(), secret_hash: z.string(), created_at: Millis, updated_at: Millis, last_seen: Millis.nullable(),
});

export interface DeviceRecord {
  id: string;
  model: string;
  name: string | null;
  site: string;
  attributes: Record<string, unknown>;
  devEui: string | null;
  secretHash: string;
  createdAt: number;
  updatedAt: number;
  lastSeen: number | null;
}

const Attributes = z.record(z.string(), z.unknown());

export function deviceRecord(row: unknown): DeviceRecord {
  const r = DeviceRowSchema.parse(row);
  return {
    id: r.id, model: r.model, name: r.name, site: r.site, attributes: Attributes.parse(JSON.parse(r.attributes)),
    devEui: r.dev_eui, secretHash: r.secret_hash, createdAt: r.created_at, updatedAt: r.updated_at, lastSeen: r.last_seen,
  };
}

export type DeviceFields = Pick<DeviceRecord, 'model' | 'name' | 'site' | 'attributes' | 'devEui' | 'updatedAt'>;

export interface DeviceRepository {
  all(): Promise<DeviceRecord[]>;
  get(id: string): Promise<DeviceRecord | undefined>;
  /** ConflictError('id' | 'lorawan.devEui') when either is taken */
  insert(d: Omit<DeviceRecord, 'lastSeen'>): Promise<void>;
  /** false: no such device */
  update(id: string, fields: DeviceFields): Promise<boolean>;
  setSecret(id: string, secretHash: string, updatedAt: number): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  /** last_seen only moves forward */
  markSeen(seen: ReadonlyMap<string, number>): Promise<void>;
  /** devices whose last_seen is at or after since */
  seenSince(since: number): Promise<Array<{ id: string; lastSeen: number }>>;
}

export const ApiKeyRowSchema = z.object({ name: z.string(), role: z.enum(['admin', 'crew', 'integrator']), token_hash: z.string(), created_at: Millis });
export interface ApiKeyRecord { name: string; role: z.infer<typeof ApiKeyRowSchema>['role']; tokenHash: string; createdAt: number }
export function apiKeyRecord(row: unknown): ApiKeyRecord {
  const r = ApiKeyRowSchema.parse(row);
  return { name: r.name, role: r.role, tokenHash: r.token_hash, createdAt: r.created_at };
}

export interface ApiKeyRepository {
  all(): Promise<ApiKeyRecord[]>;
  get(name: string): Promise<ApiKeyRecord | undefined>;
  /** ConflictError('name') when the name exists */
  insert(k: ApiKeyRecord): Promise<void>;
  /** insert, or rebind an existing name to this role and token (createdAt kept) */
  upsert(k: ApiKeyRecord): Promise<void>;
  delete(name: string): Promise<boolean>;
}

export const IntegrationRowSchema = z.object({ id: z.string(), type: z.enum(['ttn-v3', 'chirpstack-v4']), secret_hash: z.string(), created_at: Millis });
export interface IntegrationRecord { id: string; type: z.infer<typeof IntegrationRowSchema>['type']; secretHash: string; createdAt: number }
export function integrationRecord(row: unknown): IntegrationRecord {
  const r = IntegrationRowSchema.parse(row);
  return { id: r.id, type: r.type, secretHash: r.secret_hash, createdAt: r.created_at };
}

export interface IntegrationRepository {
  all(): Promise<IntegrationRecord[]>;
  get(id: string): Promise<IntegrationRecord | undefined>;
  /** ConflictError('id') when the id exists */
  insert(i: IntegrationRecord): Promise<void>;
  delete(id: string): Promise<boolean>;
}

export const AuditRowSchema = z.object({ id: z.coerce.number().int(), ts: Millis, actor: z.string(), action: z.string(), target: z.string(), details: z.string().nullable() });
export interface AuditRecord { id: number; ts: number; actor: string; action: string; target: string; details?: Record<string, unknown> }
export function auditRecord(row: unknown): AuditRecord {
  const r = AuditRowSchema.parse(row);
  return { id: r.id, ts: r.ts, actor: r.actor, action: r.action, target: r.target, ...(r.details !== null ? { details: Attributes.parse(JSON.parse(r.details)) } : {}) };
}

export interface AuditQuery {
  from: number; to: number; actor?: string; action?: string; target?: string; limit: number;
  /** newest first unless asc */
  order?: 'asc' | 'desc';
  /** keyset continuation on id (REST cursors) */
  afterId?: number;
}

export interface AuditRepository {
  insert(e: Omit<AuditRecord, 'id'>): Promise<void>;
  /** by id, newest first unless q.order is asc; action may end in * (a prefix) */
  query(q: AuditQuery): Promise<AuditRecord[]>;
}

export interface KvRepository {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

export interface Repositories {
  devices: DeviceRepository;
  apiKeys: ApiKeyRepository;
  integrations: IntegrationRepository;
  audit: AuditRepository;
  kv: KvRepository;
  deadLetters: DeadLetterRepository;
  userModels: UserModelRepository;
}

/**
 * An audit action filter: exact, or a prefix when it ends in *. Compared with = and a
 * substring in both engines rather than LIKE: SQLite's LIKE ignores ASCII case and
 * PostgreSQL's does not, and _ or % in a filter would be wildcards.
 */
export function actionFilter(action: string): { prefix: boolean; value: string } {
  return action.endsWith('*') ? { prefix: true, value: action.slice(0, -1) } : { prefix: false, value: action };
}

/**
 * A dead letter as stored (ingest.deadLetters): the payload cut at maxPayloadBytes, with
 * the original length and sha256 (storage/sqlite-telemetry.ts deadLetterRow builds the row).
 */
export interface DeadLetterRecord {
  id: number;
  ts: number;
  topic: string;
  clientId: string;
  deviceId: string | null;
  reason: string;
  payload: Buffer;
  /** the original payload's length; null on rows from before payloads were cut */
  payloadBytes: number | null;
  payloadSha256: string | null;
}

const Bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'bytes').transform((b) => (Buffer.isBuffer(b) ? b : Buffer.from(b)));

export const DeadLetterRowSchema = z.object({
  id: z.coerce.number().int(), ts: Millis, topic: z.string(), client_id: z.string(), device_id: z.string().nullable(), reason: z.string(),
  payload: Bytes, payload_bytes: Millis.nullable(), payload_sha256: z.string().nullable(),
});
export function deadLetterRecord(row: unknown): DeadLetterRecord {
  const r = DeadLetterRowSchema.parse(row);
  return { id: r.id, ts: r.ts, topic: r.topic, clientId: r.client_id, deviceId: r.device_id, reason: r.reason, payload: r.payload, payloadBytes: r.payload_bytes, payloadSha256: r.payload_sha256 };
}

export interface DeadLetterQuery {
  from: number;
  to: number;
  deviceId?: string;
  limit: number;
  /** oldest first unless desc */
  order?: 'asc' | 'desc';
  /** keyset continuation on id (id order is arrival order) */
  afterId?: number;
}

/** the columns of a new dead letter, in INSERT order (sqlite-telemetry.ts DeadLetterRow) */
export type NewDeadLetter = [ts: number, topic: string, clientId: string, deviceId: string | null, reason: string, payload: Buffer, payloadBytes: number, sha256: string, size: number];

export interface DeadLetterRepository {
  /**
   * The rows in one multi-row INSERT, then the oldest dead letters deleted until all of them
   * take at most maxTotalBytes, in one transaction; resolves (with how many were evicted)
   * once that transaction is durable.
   */
  insert(rows: readonly NewDeadLetter[], maxTotalBytes: number): Promise<number>;
  query(q: DeadLetterQuery): Promise<DeadLetterRecord[]>;
  /** retention: the dead letters received before ts; returns how many */
  deleteBefore(ts: number): Promise<number>;
  /** what counts against maxTotalBytes */
  totals(): Promise<{ rows: number; bytes: number }>;
}

/** a user model (codec) as stored: its definition as posted, as JSON (parsed by UserModelSchema when loaded) */
export interface UserModelRecord { id: string; definition: string; createdAt: number; updatedAt: number }
export const UserModelRowSchema = z.object({ id: z.string(), definition: z.string(), created_at: Millis, updated_at: Millis });
export function userModelRecord(row: unknown): UserModelRecord {
  const r = UserModelRowSchema.parse(row);
  return { id: r.id, definition: r.definition, createdAt: r.created_at, updatedAt: r.updated_at };
}

export interface UserModelRepository {
  all(): Promise<UserModelRecord[]>;
  get(id: string): Promise<UserModelRecord | undefined>;
  /** ConflictError('id') when the id exists */
  insert(m: UserModelRecord): Promise<void>;
  /** false: no such model */
  update(id: string, definition: string, updatedAt: number): Promise<boolean>;
  delete(id: string): Promise<boolean>;
}
