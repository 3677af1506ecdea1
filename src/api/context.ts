import type { FastifyPluginAsync } from 'fastify';
import type { DeviceRegistry, Device } from '../registry/devices.js';
import type { ApiKeys } from '../registry/api-keys.js';
import type { Integrations } from '../registry/integrations.js';
import type { TelemetryStore, Readiness } from '../storage/telemetry-store.js';
import type { Db } from '../storage/database.js';
import type { Metrics } from '../metrics.js';
import type { AuditLog } from '../audit.js';
import type { ModelCatalogue } from '../core/catalogue.js';
import type { UserModels } from '../codecs/registry.js';
import type { DeadLetterRepository } from '../storage/repositories/types.js';
import type { Revocations } from '../registry/revocations.js';
import type { ConnectorSnapshot } from '../connectors/connector.js';

/** What the routes need, passed in (no module-level singletons). */
export interface ApiContext {
  db: Db;
  registry: DeviceRegistry;
  apiKeys: ApiKeys;
  integrations: Integrations;
  store: TelemetryStore;
  metrics: Metrics;
  clock: () => number;
  readiness: () => Readiness;
  isOnline: (device: Device) => boolean;
  audit: AuditLog;
  /** built-in and user models (devices name one of them) */
  catalogue: ModelCatalogue;
  userModels: UserModels;
  /** the embedded file's, or PostgreSQL's in cluster mode */
  deadLetters: DeadLetterRepository;
  /** the ingest pipeline's credential pseudonymiser: the decode endpoint stores-as-if */
  pseudonymise: (raw: string) => string;
  /** the estate's time zone (retention.timezone): the console shows times in it */
  timezone?: string;
  /** the ingest time policy, so the decode endpoint refuses what the pipeline would */
  timePolicy?: import('../ingest/time-policy.js').TimePolicy;
  /** revoked credentials: long-lived responses (SSE) of that principal end */
  revocations?: Revocations;
  /** field connectors (GET /api/v1/connectors); absent when the gateway runs none */
  connectors?: { snapshot(): ConnectorSnapshot[] };
  /** feature plugins registered under /api/v1, built from this context */
  extraRoutes?: Array<(ctx: ApiContext) => FastifyPluginAsync>;
}
