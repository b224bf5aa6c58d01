import { z } from 'zod';
import { ExecutionSettings, int as intSetting, PoolSettings } from './shared/settings';
import { loadKeyring, type Keyring } from './encryption/keyring';
import {
  defaultUiUrl,
  loadTemporalConnectConfig,
  TemporalConfigError,
  type TemporalConnectConfig,
} from './temporal/connection';
import { describeIssues } from './shared/zod-issues';
import { isLoopbackHost } from './temporal/loopback';

/** A workflow setting read from a variable: its limits and default are the setting's own (src/shared/settings.ts). */
const setting = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' ? Number(v) : v), schema);
/** A whole number read from a variable, with the same helper as the workflow settings. */
const int = (def: number, min: number, max: number) => setting(intSetting(def, min, max));
const exec = ExecutionSettings.shape;
const pool = PoolSettings.shape;

const ProviderLimits = z.record(
  z.string(),
  z
    .object({ maxConcurrency: z.number().int().min(1), requestsPerMinute: z.number().int().min(0) })
    .partial()
    .strict(),
);

/** A comma-separated list; `none` is the empty list (an empty variable counts as unset, so it cannot say that). */
const list = (def: string) =>
  z
    .string()
    .default(def)
    .transform((v) =>
      v.trim() === 'none'
        ? []
        : v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    );

/** Every setting the orchestrator reads from the environment; the one place that touches process.env. */
export const ConfigSchema = z.object({
  AGENT_ORCHESTRATOR_PORT: int(8003, 0, 65535),
  /** Default: 0.0.0.0 with API keys configured, 127.0.0.1 without (docs/security.md). */
  AGENT_ORCHESTRATOR_HOST: z.string().min(1).optional(),
  /** API keys with scopes and quotas, as JSON (docs/security.md): a file, and/or the variable itself. */
  API_KEYS_FILE: z.string().min(1).optional(),
  API_KEYS: z.string().min(1).optional(),
  /** Without keys, listening beyond loopback takes this explicit opt-in (and logs a warning). */
  API_ALLOW_UNAUTHENTICATED: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /** Paths answered without a key, comma-separated. */
  API_PUBLIC_PATHS: z
    .string()
    .default('/healthz,/readyz,/.well-known/agent-card.json')
    .transform((v) =>
      v
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    ),
  /** The URL A2A clients reach the API at, for the Agent Card's bindings; default: the address each request came to. */
  A2A_PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  /** Requests a minute per key (per client address without keys); 0 = no limit. A key's own setting wins. */
  API_RATE_LIMIT_PER_MINUTE: int(600, 0, 1_000_000),
  /** Running plans per key; 0 = no limit. A key's own setting wins. Needs keys (counted by the Submitter attribute). */
  API_MAX_PLANS_IN_FLIGHT: int(0, 0, 1_000_000),
  /** Tasks (declared, at every depth) of a tenant's running plans; 0 = no limit (docs/security.md, "Limits"). */
  TENANT_MAX_TASKS_IN_FLIGHT: int(20_000, 0, 10_000_000),
  /** Event streams a tenant may have open on one API process; 0 = no limit. */
  TENANT_MAX_EVENT_STREAMS: int(200, 0, 1_000_000),
  /**
   * A message's body, as JSON, at most this many bytes (POST /v1/plans/:planId/messages, and agents' own sends); over
   * 4 KiB it travels as a claim check (src/storage/message-bodies.ts).
   */
  MESSAGE_MAX_BYTES: int(1_048_576, 1_024, 16_777_216),
  /**
   * Whether plans may carry `simulate` directives (the offline runtime's latency, failures, outputs): a development
   * and testing aid, off in production. `npm start`, the tests and the benchmarks turn it on.
   */
  ALLOW_SIMULATE: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /**
   * Fair share between tenants: plans carry their tenant as a Temporal fairness key (and tasks their priority as a
   * priority key), and the pool serves tenants' queued requests in turn (docs/security.md, "Fair share").
   */
  FAIR_SHARE: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  MAX_AGENTS: setting(pool.maxAgents),
  AGENT_TIMEOUT_SECONDS: setting(exec.agentTimeoutSeconds),
  MAX_RETRIES: setting(exec.maxRetries),
  HEARTBEAT_TIMEOUT_SECONDS: setting(exec.heartbeatTimeoutSeconds),
  RETRY_INITIAL_INTERVAL_MS: setting(exec.retryInitialIntervalMs),
  RETRY_MAX_INTERVAL_MS: setting(exec.retryMaxIntervalMs),
  MAX_SUBTASK_DEPTH: setting(exec.maxDepth),
  MAX_SUBTASK_FANOUT: setting(exec.maxFanOut),
  AGENT_REGISTRY_FILE: z.string().min(1).optional(),
  /** Fault injection for tests and demos: while this file exists the offline runtime fails every call (retryably). */
  OFFLINE_RUNTIME_OUTAGE_FILE: z.string().min(1).optional(),
  /** Workflow id of the agent pool; by default one pool per task queue (`agent-pool-<TEMPORAL_TASK_QUEUE>`). */
  AGENT_POOL_ID: exec.poolId.unwrap().optional(),
  POOL_SWEEP_SECONDS: setting(pool.sweepIntervalSeconds),
  POOL_HISTORY_LIMIT: setting(pool.historyLimit),
  PLAN_HISTORY_LIMIT: setting(exec.planHistoryLimit),
  AGENT_QUARANTINE_AFTER: setting(pool.quarantineAfter),
  /** Claim-check store for large outputs, tool results and conversations; workers and the API must share it. */
  BLOB_STORE_DIR: z.string().min(1).default('.data/blobs'),
  /** Values bigger than this (as JSON) go to the blob store and travel through history as a reference. */
  BLOB_THRESHOLD_BYTES: int(131_072, 1_024, 1_900_000),
  /**
   * Per worker and provider: model calls in flight at once. It protects the provider account; the default is above
   * what one worker reaches on the measured workload (docs/benchmarks.md (i)), so it binds only when set lower.
   */
  MODEL_MAX_CONCURRENCY: int(1_000, 1, 100_000),
  /** Per worker and provider: model calls started per minute (0 = no limit). */
  MODEL_REQUESTS_PER_MINUTE: int(0, 0, 1_000_000),
  /** Per-provider overrides, e.g. {"openai":{"maxConcurrency":4,"requestsPerMinute":500},"openai-compatible@localhost:11434":{"maxConcurrency":1}}. */
  MODEL_PROVIDER_LIMITS: z
    .string()
    .default('{}')
    .transform((raw, ctx) => {
      try {
        const parsed = ProviderLimits.safeParse(JSON.parse(raw));
        if (parsed.success) return parsed.data;
        ctx.addIssue({
          code: 'custom',
          message: describeIssues(parsed.error.issues),
        });
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
      }
      return z.NEVER;
    }),
  /**
   * Short top-level tasks (offline agents, nothing to wait for) run inline in their plan's workflow instead of a task
   * workflow each (docs/configuration.md).
   */
  INLINE_SHORT_TASKS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Whether PUT /v1/agent-types may declare stdio MCP servers, key variables, or key-carrying base URLs. */
  TRUST_AGENT_TYPES_FROM_API: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  // What agent types may make this worker do (docs/security.md, "The worker's own checks"): the worker checks every type
  // it runs against these, whoever registered it. The registry file's own entries are always allowed.
  /** Commands stdio MCP servers may run, with any arguments (exact `command` strings), besides the registry file's. */
  WORKER_ALLOW_MCP_COMMANDS: list(''),
  /** Hosts model `baseUrl`s and MCP `url`s may point at (`*.example.com` for subdomains), besides the registry file's. */
  WORKER_ALLOW_HOSTS: list('localhost,127.0.0.1,::1'),
  /** Variables `${VAR}` (MCP env and headers) and `apiKeyEnv` may read, besides those the registry file names. */
  WORKER_ALLOW_ENV_VARS: list(''),
  // Where Temporal is, with TLS / API key / profile: read by @temporalio/envconfig (src/temporal/connection.ts).
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('agent-orchestrator'),
  /** The Temporal Web UI as users' browsers reach it, for links; by default derived from the address (defaultUiUrl). */
  TEMPORAL_UI_URL: z.url().optional(),
  TEMPORAL_RPC_TIMEOUT_MS: int(5_000, 100, 120_000),
  PLAN_MAX_BYTES: int(1_048_576, 1_024, 50 * 1_048_576),
  /** Payload and blob encryption (docs/security.md): {"<key id>": "<base64 of 32 bytes>"}, inline or in a file. */
  PAYLOAD_ENCRYPTION_KEYS: z.string().min(1).optional(),
  PAYLOAD_ENCRYPTION_KEYS_FILE: z.string().min(1).optional(),
  /** The key that encrypts; the others only decrypt (rotation). */
  PAYLOAD_ENCRYPTION_KEY_ID: z.string().min(1).optional(),
  /** With encryption on, unencrypted payloads are refused; true reads them (only while turning encryption on). */
  PAYLOAD_ENCRYPTION_ACCEPT_PLAINTEXT: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /** Browser origins allowed to call the codec endpoint (the Web UI's); default: TEMPORAL_UI_URL's origin. */
  CODEC_CORS_ORIGINS: z
    .string()
    .optional()
    .transform((v) =>
      v
        ?.split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  PLAN_MAX_TASKS: int(10_000, 1, 100_000),
  // Deploys (docs/operations-deploy.md). WORKER_BUILD_ID set = Worker Versioning on; unset = an unversioned worker.
  WORKER_DEPLOYMENT_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,200}$/, 'letters, digits, "_" and "-" only (no ".")')
    .default('agent-orchestrator'),
  WORKER_BUILD_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.+:-]{1,200}$/, 'letters, digits and "_.+:-" only')
    .optional(),
  /** On SIGTERM: how long running steps may take to finish before they are cancelled (they heartbeat out). */
  WORKER_SHUTDOWN_GRACE_SECONDS: int(30, 0, 86_400),
  /** A bundle built by `npm run build`; default dist/workflow-bundle.js when it exists, else bundled at start. */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  /** Observability (docs/observability.md): JSON log level of the API and the worker. */
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  /** Traces go out by OTLP/HTTP when either is set: the collector's base URL (…/v1/traces is added) or the full URL. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  /** Default `agent-orchestrator-api` / `agent-orchestrator-worker`. */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  /** The worker's Prometheus endpoint (its own metrics and the SDK's); 0 = none. */
  WORKER_METRICS_PORT: int(9464, 0, 65535),
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Event streams (docs/events.md): how often one watcher per plan (and one for the pool) polls Temporal. */
  EVENTS_POLL_MS: int(500, 50, 60_000),
  /** Seconds between `: keep-alive` comments on an open stream. */
  EVENTS_KEEPALIVE_SECONDS: int(15, 1, 3_600),
  /** Recent events a watcher keeps for Last-Event-ID resumes. */
  EVENTS_BUFFER_SIZE: int(1_000, 10, 100_000),
  /** How long a watcher without subscribers keeps its events (not polling) so a reconnect resumes. */
  EVENTS_LINGER_SECONDS: int(60, 0, 3_600),
  /** Unsent bytes past which a client that reads nothing for two keep-alive intervals is dropped (src/api/events/sse.ts). */
  EVENTS_CLIENT_BUFFER_BYTES: int(1_048_576, 4_096, 1_073_741_824),
  /** Model calls stream their text into the running step's heartbeat details at most this often; 0 = no streaming. */
  MODEL_STREAM_INTERVAL_MS: int(1_000, 0, 60_000),
  /**
   * Heartbeats carrying streamed text, per worker, about this many a second over all its streaming calls (each a write
   * on the server): past MODEL_STREAM_INTERVAL_MS × this many calls at once, each call reports less often; 0 = no cap.
   */
  MODEL_STREAM_HEARTBEATS_PER_SECOND: int(100, 0, 100_000),
  // Worker sizing (docs/configuration.md, "Sizing a worker"): model and tool calls are activities that wait on I/O, so
  // a worker holds thousands at once; workflow tasks are CPU and have a budget of their own so they are never starved.
  /**
   * `fixed`: the slot budgets below; `resource`: Temporal's resource-based tuner (slots while CPU and memory stay under
   * 90 % and 80 %, up to those budgets, with its default ramp-up of one activity slot per 50 ms).
   */
  WORKER_TUNER: z.enum(['fixed', 'resource']).default('fixed'),
  /** Activities (model calls, tool calls, slow steps) one worker runs at once. */
  WORKER_MAX_ACTIVITIES: int(2_000, 1, 100_000),
  /** Local activities (short steps) one worker runs at once. */
  WORKER_MAX_LOCAL_ACTIVITIES: int(200, 1, 100_000),
  /** Workflow tasks one worker runs at once (CPU-bound: a few per core is plenty). */
  WORKER_MAX_WORKFLOW_TASKS: int(40, 2, 10_000),
  /** Workflows kept in the worker's sticky cache; 0 = the SDK's default, sized from the heap limit. */
  WORKER_MAX_CACHED_WORKFLOWS: int(0, 0, 1_000_000),
  /** At most this many concurrent long polls for activity tasks (autoscaled between 1 and it). */
  WORKER_ACTIVITY_POLLERS: int(20, 1, 1_000),
});
export type Config = Omit<
  z.infer<typeof ConfigSchema>,
  'AGENT_POOL_ID' | 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_UI_URL' | 'AGENT_ORCHESTRATOR_HOST'
> & {
  AGENT_POOL_ID: string;
  /** Resolved: see ConfigSchema. */
  AGENT_ORCHESTRATOR_HOST: string;
  /** As resolved from the profile and the environment. */
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  /** Unset when it cannot be derived: API answers then carry no UI link. */
  TEMPORAL_UI_URL?: string;
  /** How to connect (TLS material, API key): hand to a connection, never print. */
  temporal: TemporalConnectConfig;
  /** Payload and blob encryption keys; undefined = encryption off. Never print. */
  encryption?: Keyring;
};

export class ConfigError extends Error {}

/**
 * Parses the environment once at start-up; a bad value throws a ConfigError naming the variable. `role`: only the API
 * listens on AGENT_ORCHESTRATOR_HOST, so only it refuses a wide address without keys (a worker sharing its
 * environment starts anyway).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, role: 'api' | 'worker' = 'api'): Config {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ConfigSchema.safeParse(defined);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  ${i.path.join('.')}=${JSON.stringify(env[String(i.path[0])])}: ${i.message}`,
    );
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  let temporal: TemporalConnectConfig;
  try {
    temporal = loadTemporalConnectConfig(defined);
  } catch (err) {
    if (err instanceof TemporalConfigError) throw new ConfigError(`invalid configuration:\n  ${err.message}`);
    throw err;
  }
  const uiUrl = parsed.data.TEMPORAL_UI_URL ?? defaultUiUrl(temporal.target);
  let encryption: Keyring | undefined;
  try {
    encryption = loadKeyring(parsed.data);
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  ${(err as Error).message}`);
  }
  return {
    ...parsed.data,
    AGENT_ORCHESTRATOR_HOST:
      role === 'api' ? listenHost(parsed.data) : (parsed.data.AGENT_ORCHESTRATOR_HOST ?? '127.0.0.1'),
    AGENT_POOL_ID: parsed.data.AGENT_POOL_ID ?? `agent-pool-${parsed.data.TEMPORAL_TASK_QUEUE}`,
    TEMPORAL_ADDRESS: temporal.target.address,
    TEMPORAL_NAMESPACE: temporal.target.namespace,
    ...(uiUrl ? { TEMPORAL_UI_URL: uiUrl } : {}),
    temporal,
    ...(encryption ? { encryption } : {}),
  };
}

/** Where the API listens: never beyond loopback without keys unless API_ALLOW_UNAUTHENTICATED says so. */
function listenHost(c: z.infer<typeof ConfigSchema>): string {
  const keyed = Boolean(c.API_KEYS || c.API_KEYS_FILE);
  if (keyed || c.API_ALLOW_UNAUTHENTICATED) return c.AGENT_ORCHESTRATOR_HOST ?? '0.0.0.0';
  const host = c.AGENT_ORCHESTRATOR_HOST ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new ConfigError(
      `invalid configuration:\n  AGENT_ORCHESTRATOR_HOST=${JSON.stringify(host)}: would expose the API without ` +
        'authentication; configure API_KEYS or API_KEYS_FILE (docs/security.md), or set API_ALLOW_UNAUTHENTICATED=true',
    );
  }
  return host;
}

/** For process entry points: load or exit with the message (to their JSON log if they pass it, else stderr). */
export function loadConfigOrExit(log?: { fatal(msg: string): void }, role: 'api' | 'worker' = 'api'): Config {
  try {
    return loadConfig(process.env, role);
  } catch (err) {
    if (err instanceof ConfigError) {
      if (log) log.fatal(err.message);
      else console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/** The execution settings a plan is stamped with at submission. */
export function executionSettings(config: Config): ExecutionSettings {
  return {
    agentTimeoutSeconds: config.AGENT_TIMEOUT_SECONDS,
    heartbeatTimeoutSeconds: config.HEARTBEAT_TIMEOUT_SECONDS,
    maxRetries: config.MAX_RETRIES,
    retryInitialIntervalMs: config.RETRY_INITIAL_INTERVAL_MS,
    retryMaxIntervalMs: config.RETRY_MAX_INTERVAL_MS,
    maxDepth: config.MAX_SUBTASK_DEPTH,
    maxFanOut: config.MAX_SUBTASK_FANOUT,
    planHistoryLimit: config.PLAN_HISTORY_LIMIT,
    poolId: config.AGENT_POOL_ID,
    inlineShortTasks: config.INLINE_SHORT_TASKS,
  };
}

/** What the agent pool is started (or reconfigured) with. */
export function poolSettings(config: Config): PoolSettings {
  return {
    maxAgents: config.MAX_AGENTS,
    quarantineAfter: config.AGENT_QUARANTINE_AFTER,
    sweepIntervalSeconds: config.POOL_SWEEP_SECONDS,
    historyLimit: config.POOL_HISTORY_LIMIT,
    fairShare: config.FAIR_SHARE,
  };
}
