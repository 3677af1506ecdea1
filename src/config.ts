/**
 * Configuration: config/gateway.yaml (or GATEWAY_CONFIG) validated by zod, then the
 * environment variables of the CONTRACT on top. A bad value is a ConfigError naming the
 * key; main.ts prints it as one line and exits 2.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { IANAZone } from 'luxon';
import cron from 'node-cron';
import { CodecLimitsSchema } from './codecs/limits.js';
import { ChannelSchema, SmtpSchema } from './notify/channels/index.js';
import { PolicySchema, checkNotify } from './notify/policy.js';

const port = z.number().int().min(0).max(65535);
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

const WebhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  secret: z.string().min(1),
  match: z.strictObject({
    severity: z.union([z.string(), z.array(z.string())]).optional(),
    kind: z.union([z.string(), z.array(z.string())]).optional(),
    site: z.string().optional(),
    rule: z.union([z.string(), z.array(z.string())]).optional(),
  }).default({}),
});

const SourceSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
  url: z.string().regex(/^(mqtts?|wss?|tcp|tls):\/\//, 'must be an mqtt://, mqtts://, ws:// or wss:// URL'),
  username: z.string().default(''),
  password: z.string().default(''),
  clientId: z.string().optional(),
  topics: z.array(z.string().min(1)).min(1),
  format: z.enum(['ttn-v3', 'chirpstack-v4', 'native']),
  protocolVersion: z.union([z.literal(4), z.literal(5)]).default(4),
});

/** CONTRACT v2 "Field connectors": a TCP link to a DTU, a Modbus TCP gateway or a device. */
const ConnectorSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (at most 64)'),
  type: z.enum(['modbus-tcp', 'modbus-rtu-tcp', 'dlt645-tcp', 'cjt188-tcp']),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  /** seconds between polls of a device; a device's attributes.pollS overrides */
  pollS: z.number().min(0.1).max(86_400).default(30),
  /** per request: the answer must arrive within this */
  timeoutMs: z.number().int().min(50).max(60_000).default(1000),
  /** Modbus: at most this many registers in one read (batched adjacent registers) */
  maxRegisters: z.number().int().min(1).max(125).default(125),
  /** pause before each request: slow meters and DTUs need a turnaround gap on the bus */
  requestGapMs: z.number().int().min(0).max(10_000).default(0),
  /** reconnect backoff doubles from 0.5 s up to this */
  reconnectMaxMs: z.number().int().min(500).max(600_000).default(30_000),
});

export const ConfigSchema = z.strictObject({
  dataDir: z.string().min(1).default('./data'),
  logLevel: logLevel.default('info'),
  adminToken: z.string().min(16, 'must be at least 16 characters').optional(),
  http: z.strictObject({
    host: z.string().min(1).default('0.0.0.0'),
    port: port.default(8080),
    /** largest REST request body, bytes */
    bodyLimitBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    /** requests per minute per API key (per address without a key); 0 = no limit */
    rateLimitPerMinute: z.number().int().min(0).default(1200),
    /** requests with a missing or bad token per address and minute; beyond it the address gets 429 on authenticated routes for the rest of the minute. 0 = no limit */
    authFailuresPerMinute: z.number().int().min(0).default(30),
    /** HTTPS instead of HTTP */
    tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  }).prefault({}),
  mqtt: z.strictObject({
    host: z.string().min(1).default('0.0.0.0'),
    port: port.default(1883),
    /** largest MQTT packet accepted from a client, bytes */
    maxPacketBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(256 * 1024),
    /** refused publish (MQTT 3.1.1 has no negative PUBACK): acknowledge and drop (like Mosquitto, EMQX default) or disconnect */
    denyAction: z.enum(['ignore', 'disconnect']).default('ignore'),
    /** connections beyond this are refused at CONNECT */
    maxConnections: z.number().int().min(1).max(1_000_000).default(20_000),
    /** token bucket per client; a client above its rate is disconnected (MQTT 3.1.1 has no negative PUBACK). 0 = no limit */
    rateLimit: z.strictObject({
      devicePerSecond: z.number().min(0).default(50),
      deviceBurst: z.number().int().min(1).default(500),
      integrationPerSecond: z.number().min(0).default(5000),
      integrationBurst: z.number().int().min(1).default(20_000),
    }).prefault({}),
    /** failed logins: the next attempt from that username or address waits base x 2^(n-1), capped */
    loginThrottle: z.strictObject({
      baseDelayMs: z.number().int().min(0).default(250),
      maxDelayMs: z.number().int().min(0).default(10_000),
      forgetAfterS: z.number().int().min(1).default(900),
    }).prefault({}),
    /** MQTT over TLS (mqtts) on its own port */
    tls: z.strictObject({
      port: port.default(8883),
      cert: z.string().min(1),
      key: z.string().min(1),
      /** CA that signs device client certificates */
      ca: z.string().min(1).optional(),
      /** optional: a device may log in with a certificate (CN = device id) instead of a password; required: it must */
      clientCertificates: z.enum(['none', 'optional', 'required']).default('none'),
    }).optional(),
    /** MQTT over WebSocket for browser clients */
    ws: z.strictObject({
      port: port.default(8083),
      path: z.string().startsWith('/').default('/mqtt'),
    }).optional(),
  }).prefault({}),
  store: z.strictObject({
    type: z.enum(['sqlite', 'influx-v1', 'influx-v2', 'postgres']).default('sqlite'),
    sqlite: z.strictObject({
      /** FULL: a commit survives power loss; NORMAL: survives a process crash only */
      synchronous: z.enum(['full', 'normal']).default('full'),
      /** commit in a worker thread, so a transaction and its fsync do not block ingest */
      writerThread: z.boolean().default(true),
      /**
       * with the writer thread: a PASSIVE WAL checkpoint this often, in a thread of its own, so
       * that the checkpoint is not in a commit's time (and so in its PUBACKs'); 0: the
       * committing connection checkpoints, as SQLite does by default
       */
      checkpointEveryMs: z.number().int().min(0).max(60_000).default(50),
    }).prefault({}),
    influx: z.strictObject({
      url: z.url().default('http://127.0.0.1:8086'),
      database: z.string().default('telemetry'),
      username: z.string().default(''),
      password: z.string().default(''),
      org: z.string().default(''),
      bucket: z.string().default(''),
      token: z.string().default(''),
      /** per request; a write slower than this is spooled (and may land twice: idempotent) */
      timeoutMs: z.number().int().min(100).max(120_000).default(5000),
    }).prefault({}),
    /** store.type postgres (docs/cluster.md); url defaults to cluster.postgres.url */
    postgres: z.strictObject({
      url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
      poolSize: z.number().int().min(1).max(100).default(10),
      /** months of readings partitions created ahead of the current one */
      partitionsAhead: z.number().int().min(1).max(24).default(3),
      /** readings kept in the node's on-disk spool while a separate telemetry server is unreachable; 0: no spool */
      spoolMaxReadings: z.number().int().min(0).max(1_000_000_000).default(1_000_000),
    }).prefault({}),
  }).prefault({}),
  /** cluster mode (docs/cluster.md, CONTRACT v2 "Cluster"): unset = one node, as before */
  cluster: z.strictObject({
    /** unique per node; default host name and MQTT port */
    nodeId: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'letters, digits, _ . : - only').optional(),
    redis: z.strictObject({
      url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
      /** seconds an offline QoS 1 message waits in Redis for a persistent session */
      packetTtlS: z.number().int().min(1).default(86_400),
    }).prefault({}),
    postgres: z.strictObject({
      url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
      /** the leader renews its lease this often; a node is gone after lease seconds without a renewal */
      heartbeatMs: z.number().int().min(100).max(60_000).default(2000),
      leaseMs: z.number().int().min(500).max(120_000).default(6000),
    }).prefault({}),
  }).prefault({}),
  ingest: z.strictObject({
    /** group commit: wait at most this long for more messages before committing */
    batchMaxDelayMs: z.number().min(0).max(1000).default(4),
    /** group commit: commit at once when this many messages are waiting */
    batchMaxMessages: z.number().int().min(1).max(100_000).default(2000),
    /** a reading or event dated more than this many seconds after its receive time makes its message a dead letter (clock skew) */
    maxFutureS: z.number().int().min(0).max(10 * 365 * 86_400).default(300),
    deadLetters: z.strictObject({
      /** bytes of a dead letter's payload kept (its full length and sha256 are kept too) */
      maxPayloadBytes: z.number().int().min(0).max(16 * 1024 * 1024).default(4096),
      /** all dead letters together; beyond it the oldest are evicted (counted in /metrics) */
      maxTotalBytes: z.number().int().min(1024 * 1024).default(64 * 1024 * 1024),
      /** devices with their own label on gateway_device_dead_letters_total; the rest count as device="other" */
      metricDevices: z.number().int().min(0).max(10_000).default(100),
    }).prefault({}),
  }).prefault({}),
  /** user-supplied codecs: sandbox limits per call (docs/devices.md) */
  codecs: CodecLimitsSchema,
  sources: z.array(SourceSchema).default([]),
  connectors: z.array(ConnectorSchema).default([]).superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((c, i) => {
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate connector name ${c.name}` });
      seen.add(c.name);
    });
  }),
  notify: z.strictObject({
    webhooks: z.array(WebhookSchema).default([]),
    /** text of channel messages */
    language: z.enum(['zh-CN', 'en']).default('zh-CN'),
    /** the console's address: messages link to `${consoleUrl}#/alerts/{id}` */
    consoleUrl: z.url({ protocol: /^https?$/ }).optional(),
    channels: z.array(ChannelSchema).default([]),
    smtp: SmtpSchema.optional(),
    /** escalation: the first policy whose match fits an alert */
    policies: z.array(PolicySchema).default([]),
    /** webhook delivery: exponential backoff from initialMs up to maxMs, per-request timeout */
    retry: z.strictObject({
      initialMs: z.number().int().min(10).default(1000),
      maxMs: z.number().int().min(10).default(300_000),
      timeoutMs: z.number().int().min(100).default(5000),
    }).prefault({}),
  }).prefault({}).superRefine(checkNotify),
  rulesFile: z.string().default('config/rules.yaml'),
  privacy: z.strictObject({
    /** store residents' raw card numbers / face ids instead of keyed hashes (only where law and consent allow) */
    storeRawCredentials: z.boolean().default(false),
  }).prefault({}),
  retention: z.strictObject({
    /** raw readings and device events */
    rawDays: z.number().int().min(1).default(90),
    /** hourly rollups (count, sum, min, max, first, last of good readings) */
    hourlyDays: z.number().int().min(1).default(730),
    /** daily rollups, days starting at local midnight in `timezone` */
    dailyDays: z.number().int().min(1).default(3650),
    deadLetterDays: z.number().int().min(1).default(30),
    /** resolved alerts and delivered webhook notifications */
    alertDays: z.number().int().min(1).default(365),
    timezone: z.string().default('Asia/Shanghai').refine((tz) => IANAZone.isValidZone(tz), 'not an IANA time zone'),
    /** when the rollup and pruning job runs (cron, in `timezone`) */
    schedule: z.string().default('7 * * * *').refine((c) => cron.validate(c), 'not a cron expression'),
  }).prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  readonly code = 'GW_CONFIG';
}

/** "not valid YAML/JSON at line 3, column 7: <reason>": where an editor can jump to */
export function yamlErrorText(err: unknown): string {
  const e = err as Error & { linePos?: Array<{ line: number; col: number }> };
  const at = e.linePos?.[0];
  const reason = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return `not valid YAML/JSON${at ? ` at line ${at.line}, column ${at.col}` : ''}: ${reason}`;
}

function formatIssue(issue: z.core.$ZodIssue, prefix = ''): string {
  const key = issue.path.map(String).join('.');
  return `${prefix}${key || '(root)'}: ${issue.message}`;
}

const ENV: Array<{ name: string; path: string[]; parse: (v: string) => unknown }> = [
  { name: 'GATEWAY_DATA_DIR', path: ['dataDir'], parse: (v) => v },
  { name: 'GATEWAY_HTTP_PORT', path: ['http', 'port'], parse: Number },
  { name: 'GATEWAY_MQTT_PORT', path: ['mqtt', 'port'], parse: Number },
  { name: 'GATEWAY_HOST', path: ['http', 'host'], parse: (v) => v },
  { name: 'GATEWAY_HOST', path: ['mqtt', 'host'], parse: (v) => v },
  { name: 'GATEWAY_ADMIN_TOKEN', path: ['adminToken'], parse: (v) => v },
  { name: 'GATEWAY_LOG_LEVEL', path: ['logLevel'], parse: (v) => v },
  { name: 'GATEWAY_POSTGRES_URL', path: ['cluster', 'postgres', 'url'], parse: (v) => v },
  { name: 'GATEWAY_REDIS_URL', path: ['cluster', 'redis', 'url'], parse: (v) => v },
  { name: 'GATEWAY_NODE_ID', path: ['cluster', 'nodeId'], parse: (v) => v },
];

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

/** Reads and validates the configuration. Throws ConfigError with a one-line message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config & { configFile: string | null } {
  const explicit = env.GATEWAY_CONFIG;
  const file = resolve(cwd, explicit ?? 'config/gateway.yaml');
  let raw: unknown = {};
  let configFile: string | null = file;
  try {
    const text = readFileSync(file, 'utf8');
    try {
      raw = YAML.parse(text, { prettyErrors: true }) ?? {};
    } catch (err) {
      throw new ConfigError(`config ${file}: ${yamlErrorText(err)}`);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && explicit === undefined) configFile = null;
    else throw new ConfigError(`GATEWAY_CONFIG: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`config ${file}: top level must be a mapping`);
  const fromFile = ConfigSchema.safeParse(raw);
  if (!fromFile.success) throw new ConfigError(`config ${file}: ${formatIssue(fromFile.error.issues[0]!)}`);

  const merged = structuredClone(raw) as Record<string, unknown>;
  for (const { name, path, parse } of ENV) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    setPath(merged, path, parse(v));
  }
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const envVar = ENV.find((e) => e.path.join('.') === issue.path.join('.') && env[e.name]);
    throw new ConfigError(envVar ? `${envVar.name}: ${issue.message}` : `config: ${formatIssue(issue)}`);
  }
  return { ...result.data, configFile };
}
