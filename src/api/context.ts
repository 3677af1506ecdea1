import type { FastifyPluginAsync } from 'fastify';
import type { DeviceRegistry, Device } from '../registry/devices.js';
import type { ApiKeys } from '../registry/api-keys.js';
import type { Integrations } from '../registry/integrations.js';
import type { TelemetryStore, Readiness } from '../storage/telemetry-store.js';
import type { Db } from '../storage/database.js';
import type { Metrics } from '../metrics.js';
import type { AuditLog } from '../audit.js';
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
  /** field connectors (GET /api/v1/connectors); absent when the gateway runs none */
  connectors?: { snapshot(): ConnectorSnapshot[] };
  /** feature plugins registered under /api/v1, built from this context */
  extraRoutes?: Array<(ctx: ApiContext) => FastifyPluginAsync>;
}
