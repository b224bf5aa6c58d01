import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure, type DataConverter } from '@temporalio/common';
import { resolve } from 'node:path';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities';
import { ModelRuntime, ProviderLimiter, StreamPacer, type ProviderCallStats } from './activities/model';
import { OfflineRuntime } from './activities/offline-runtime';
import { RemoteAgentRuntime } from './activities/a2a/remote-agent';
import { AgentToolRunner, McpConnections } from './activities/tools';
import type { AiRuntime } from './activities/types';
import { claimCheckOf, type ClaimCheck } from './storage/blob-store';
import { MessageTooLarge, packMessageBody } from './storage/message-bodies';
import { taskResultReader } from './storage/output-refs';
import { createPoolActivities, signalPool, type WorkerPoolDeps } from './activities/pool';
import { AgentTypePolicy } from './activities/agent-type-policy';
import type { Messenger } from './activities/types';
import { ConfigSchema, loadConfigOrExit, poolSettings, type Config } from './config';
import { dataConverterFor } from './encryption/data-converter';
import { createLogger, temporalLogger, type Logger } from './observability/logger';
import {
  tracingActivityInterceptors,
  tracingClientInterceptors,
  tracingSinks,
  workflowInterceptorModules,
} from './observability/temporal';
import { startTracing, type Tracing } from './observability/tracing';
import { serveWorkerMetrics, WorkerMetrics } from './observability/worker-metrics';
import { freeLoopbackPort } from './temporal/loopback';
import { loadRegistry } from './storage/registry-file';
import { planWorkflowId } from './shared/ids';
import type { AgentType } from './shared/agent-type';
import type { Registry } from './shared/registry';
import { ensureSearchAttributes } from './temporal/namespace-setup';
import { describeTarget } from './temporal/connection';
import { deploymentOptions, describeDeployment, shutdownOptions } from './worker/deployment';
import { chooseWorkflowBundle, StaleBundleError } from './worker/prebuilt-bundle';
import { DEFAULT_SIZING, workerSizing, type WorkerSizing } from './worker/sizing';
import { agentMessageSignal, registryQuery } from './workflows/messages';
import { Failure } from './shared/errors';

/**
 * Sends agents' messages to their plan workflow as signals, bodies packed as the API packs them (at most
 * MESSAGE_MAX_BYTES, large ones as claim checks): an agent cannot flood its plan's history either.
 */
export function signalMessenger(client: Client, claimCheck: ClaimCheck, maxBytes: number): Messenger {
  return {
    async send(planId, message) {
      let body: unknown;
      try {
        body = await packMessageBody(message.body, claimCheck, maxBytes);
      } catch (err) {
        if (err instanceof MessageTooLarge) throw ApplicationFailure.nonRetryable(err.message, Failure.ToolError);
        throw err;
      }
      await client.workflow.getHandle(planWorkflowId(planId)).signal(agentMessageSignal, { ...message, body });
    },
  };
}

/**
 * The pool's registry when the pool runs, else the file's. Read from the pool's memo: describe() is answered by the
 * server, where a query needs a workflow task on a worker. Steps running as local activities hold their workflow task
 * while they read it; a query then could wait for a workflow-task slot that those very steps hold (seen: 50 plans
 * stalled until their workflow tasks timed out).
 */
export function liveRegistry(client: Client, poolId: string, fallback: Registry): () => Promise<Registry> {
  return async () => {
    try {
      const types = (await client.workflow.getHandle(poolId).describe()).memo?.registry;
      if (Array.isArray(types)) return { agentTypes: types as AgentType[] };
      return { agentTypes: await client.workflow.getHandle(poolId).query(registryQuery) };
    } catch {
      return fallback;
    }
  };
}

/** Remembers a value for `ttlMs`, so activities do not query the pool for the registry on every step. */
function cached<T>(load: () => Promise<T>, ttlMs: number): (() => Promise<T>) & { refresh(): Promise<T> } {
  let value: { at: number; v: Promise<T> } | undefined;
  const get = () => {
    if (!value || Date.now() - value.at > ttlMs) {
      const v = load();
      value = { at: Date.now(), v };
      v.catch(() => (value = undefined));
    }
    return value.v;
  };
  return Object.assign(get, {
    refresh: () => {
      value = undefined;
      return get();
    },
  });
}

type DepsConfig = Pick<Config, 'AGENT_REGISTRY_FILE' | 'OFFLINE_RUNTIME_OUTAGE_FILE' | 'AGENT_POOL_ID'> &
  Partial<
    Pick<
      Config,
      | 'BLOB_STORE_DIR'
      | 'BLOB_THRESHOLD_BYTES'
      | 'MODEL_MAX_CONCURRENCY'
      | 'MODEL_REQUESTS_PER_MINUTE'
      | 'MODEL_PROVIDER_LIMITS'
      | 'MAX_SUBTASK_DEPTH'
      | 'MODEL_STREAM_INTERVAL_MS'
      | 'MODEL_STREAM_HEARTBEATS_PER_SECOND'
      | 'ALLOW_SIMULATE'
      | 'MESSAGE_MAX_BYTES'
      | 'WORKER_ALLOW_MCP_COMMANDS'
      | 'WORKER_ALLOW_HOSTS'
      | 'WORKER_ALLOW_ENV_VARS'
      | 'encryption'
    >
  > & {
    /** The worker's own registry, in place of AGENT_REGISTRY_FILE's (tests): trusted as the file would be. */
    registry?: Registry;
    /** Model calls report spans (AI SDK telemetry) to the tracer provider: tracing is on. */
    tracing?: boolean;
    /** Where a provider limit that binds is reported (once per provider and limit). */
    log?: Pick<Logger, 'warn'>;
  };

/** Defaults of the settings a caller of buildDeps may leave out: ConfigSchema's own, not copies. */
/** How often a remote A2A task is read while it runs, when its agent does not stream. */
const REMOTE_POLL_MS = 1_000;

const DEFAULTS = ConfigSchema.pick({
  MODEL_MAX_CONCURRENCY: true,
  MODEL_REQUESTS_PER_MINUTE: true,
  MODEL_PROVIDER_LIMITS: true,
  MODEL_STREAM_INTERVAL_MS: true,
  MODEL_STREAM_HEARTBEATS_PER_SECOND: true,
  MESSAGE_MAX_BYTES: true,
  WORKER_ALLOW_MCP_COMMANDS: true,
  WORKER_ALLOW_HOSTS: true,
  WORKER_ALLOW_ENV_VARS: true,
}).parse({});

/** What this worker lets agent types do: its allowances, and its own registry (the file's types) as written. */
export function workerPolicy(
  config: Partial<Pick<Config, 'WORKER_ALLOW_MCP_COMMANDS' | 'WORKER_ALLOW_HOSTS' | 'WORKER_ALLOW_ENV_VARS'>>,
  own: Registry,
): AgentTypePolicy {
  return new AgentTypePolicy(
    {
      mcpCommands: config.WORKER_ALLOW_MCP_COMMANDS ?? DEFAULTS.WORKER_ALLOW_MCP_COMMANDS,
      hosts: config.WORKER_ALLOW_HOSTS ?? DEFAULTS.WORKER_ALLOW_HOSTS,
      envVars: config.WORKER_ALLOW_ENV_VARS ?? DEFAULTS.WORKER_ALLOW_ENV_VARS,
    },
    own.agentTypes,
  );
}

export type WorkerDeps = ActivityDeps & {
  /** Closes what the deps opened (MCP server connections and processes). */
  close(): Promise<void>;
  /** Model calls per provider: in flight, waiting for a provider limit (for the worker's metrics). */
  providerCalls(): ProviderCallStats[];
  /** What agent types may make this worker do; the pool's check uses it too (poolDepsOf). */
  policy: AgentTypePolicy;
};

/**
 * The real dependencies of the activities, built from configuration. Agent types with a model get a ModelRuntime (Vercel
 * AI SDK) and tools from their MCP servers; the others run offline. Changes to the registry reach running workers within
 * a few seconds.
 */
export function buildDeps(config: DepsConfig, client: Client, env: NodeJS.ProcessEnv = process.env): WorkerDeps {
  const fileRegistry = config.registry ?? loadRegistry(config.AGENT_REGISTRY_FILE);
  const policy = workerPolicy(config, fileRegistry);
  const offline = new OfflineRuntime(config.OFFLINE_RUNTIME_OUTAGE_FILE);
  const registry = cached(liveRegistry(client, config.AGENT_POOL_ID, fileRegistry), 3_000);
  // A type registered over the API a moment ago may not be in the cached copy yet: look again before giving up.
  const agentType = async (name: string): Promise<AgentType | undefined> =>
    (await registry()).agentTypes.find((t) => t.name === name) ??
    (await registry.refresh()).agentTypes.find((t) => t.name === name);
  const claimCheck = claimCheckOf(config);
  const messenger = signalMessenger(client, claimCheck, config.MESSAGE_MAX_BYTES ?? DEFAULTS.MESSAGE_MAX_BYTES);
  const mcp = new McpConnections(policy, env);
  const tools = new AgentToolRunner({ agentType, mcp, messenger });
  const limiter = new ProviderLimiter(
    {
      maxConcurrency: config.MODEL_MAX_CONCURRENCY ?? DEFAULTS.MODEL_MAX_CONCURRENCY,
      requestsPerMinute: config.MODEL_REQUESTS_PER_MINUTE ?? DEFAULTS.MODEL_REQUESTS_PER_MINUTE,
    },
    config.MODEL_PROVIDER_LIMITS ?? DEFAULTS.MODEL_PROVIDER_LIMITS,
    // A limit protects the user's provider account; when it binds, say so once (the metrics count every queued call).
    (provider, reason, limit) =>
      config.log?.warn(
        { provider, reason, limit },
        `model calls to ${provider} are queued by this worker's ${reason === 'retryAfter' ? "pause after the provider's 429" : `${reason} limit (${reason === 'maxConcurrency' ? `${limit.maxConcurrency} in flight` : `${limit.requestsPerMinute} a minute`})`}: MODEL_MAX_CONCURRENCY / MODEL_REQUESTS_PER_MINUTE / MODEL_PROVIDER_LIMITS, per worker; the metric agent_orchestrator_model_calls_queued_total counts them`,
      ),
  );
  const models = new Map<string, ModelRuntime>();
  const remotes = new Map<string, RemoteAgentRuntime>();
  // One pacer for every model this worker streams from: the heartbeat budget is the worker's.
  const streamPacer = new StreamPacer(
    config.MODEL_STREAM_INTERVAL_MS ?? DEFAULTS.MODEL_STREAM_INTERVAL_MS,
    config.MODEL_STREAM_HEARTBEATS_PER_SECOND ?? DEFAULTS.MODEL_STREAM_HEARTBEATS_PER_SECOND,
  );
  const capabilities = async () => [...new Set((await registry()).agentTypes.flatMap((t) => t.capabilities))].sort();
  return {
    registry,
    async runtime(name): Promise<AiRuntime> {
      const type = await agentType(name);
      // Never fall back to the offline runtime for a type this worker cannot see (the pool's registry unreachable, a
      // type removed meanwhile): that would hand back made-up output. Retry until it can be read.
      if (!type) {
        throw ApplicationFailure.create({
          type: Failure.AgentTypeUnavailable,
          message: `agent type "${name}" is not in the registry this worker can read (the pool's, or AGENT_REGISTRY_FILE)`,
        });
      }
      // Whoever registered the type (the API, a signal straight to Temporal): this worker runs only what it allows.
      policy.check(type);
      if (type.runtime.provider === 'offline') return offline;
      const key = JSON.stringify(type);
      if (type.runtime.provider === 'a2a') {
        let agent = remotes.get(key);
        if (!agent) remotes.set(key, (agent = new RemoteAgentRuntime(type, { env, pollMs: REMOTE_POLL_MS })));
        return agent;
      }
      let model = models.get(key);
      if (!model) {
        model = new ModelRuntime(type, {
          env,
          limiter,
          claimCheck,
          tools,
          capabilities,
          maxDepth: config.MAX_SUBTASK_DEPTH,
          telemetry: config.tracing ?? false,
          streamIntervalMs: config.MODEL_STREAM_INTERVAL_MS ?? DEFAULTS.MODEL_STREAM_INTERVAL_MS,
          streamPacer,
        });
        models.set(key, model);
      }
      return model;
    },
    tools,
    messenger,
    claimCheck,
    taskResult: taskResultReader(client),
    allowSimulate: config.ALLOW_SIMULATE,
    close: () => mcp.closeAll(),
    providerCalls: () => limiter.stats(),
    policy,
  };
}

/**
 * What the worker's pool activities need: the registry file's types and MAX_AGENTS, (re)applied at every start, and
 * the worker's policy, which the pool checks every agent type against before it takes one.
 */
export function poolDepsOf(config: Config, client: Client, policy: AgentTypePolicy): WorkerPoolDeps {
  const registry = loadRegistry(config.AGENT_REGISTRY_FILE);
  return {
    client,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    poolInput: () => ({ settings: poolSettings(config), types: registry.agentTypes }),
    policy,
  };
}

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  pool: WorkerPoolDeps;
  /** Payload encryption (dataConverterFor); the clients talking to these workflows must use the same. */
  dataConverter?: DataConverter;
  /** A pre-built bundle (tests build one per run); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
  /** Worker Versioning and graceful shutdown (src/worker/deployment.ts); unversioned, no grace time if omitted. */
  deployment?: Pick<WorkerOptions, 'workerDeploymentOptions' | 'shutdownGraceTime' | 'shutdownForceTime'>;
  /** Traces (spans for activities; the workflow span sink) and the worker's activity metrics; off when absent. */
  tracing?: Tracing;
  metrics?: WorkerMetrics;
  /**
   * How often a running activity's heartbeat (and its details: streamed model text) reaches the server at most
   * (MODEL_STREAM_INTERVAL_MS; 0 or absent: the SDK's default, 80 % of the heartbeat timeout).
   */
  heartbeatThrottleMs?: number;
  /** Slots, sticky cache and pollers (src/worker/sizing.ts); the variables' defaults when absent. */
  sizing?: WorkerSizing;
}

/** A worker that runs the plan, task and pool workflows and their activities on one task queue. */
export function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.dataConverter ? { dataConverter: opts.dataConverter } : {}),
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('./workflows') }),
    activities: { ...createActivities(opts.deps), ...createPoolActivities(opts.pool) },
    interceptors: {
      // A pre-built bundle has them already (bundled with workflowInterceptorModules).
      ...(opts.workflowBundle ? {} : { workflowModules: workflowInterceptorModules }),
      activity: [
        ...tracingActivityInterceptors(opts.tracing),
        ...(opts.metrics ? [opts.metrics.activityInterceptor] : []),
      ],
    },
    sinks: tracingSinks(opts.tracing),
    // After a worker dies, queries and workflow tasks stuck on its sticky queue move to the shared queue after this;
    // the default 10 s makes status reads fail for that long.
    stickyQueueScheduleToStartTimeout: '3s',
    ...(opts.heartbeatThrottleMs ? { maxHeartbeatThrottleInterval: opts.heartbeatThrottleMs } : {}),
    ...(opts.sizing ?? DEFAULT_SIZING),
    ...opts.deployment,
  });
}

const log = createLogger('agent-orchestrator-worker');
/** Core (the SDK's Rust part) is chatty at INFO: its messages come in one level above LOG_LEVEL's, up to debug. */
const CORE_LOG_LEVEL = { trace: 'INFO', debug: 'INFO', info: 'WARN', warn: 'WARN', error: 'ERROR' } as const;

async function main(): Promise<void> {
  const config = loadConfigOrExit(log, 'worker');
  log.level = config.LOG_LEVEL;
  const tracing = startTracing(config, config.OTEL_SERVICE_NAME ?? 'agent-orchestrator-worker', log);
  const metrics = config.WORKER_METRICS_PORT > 0 ? new WorkerMetrics() : undefined;
  const corePort = metrics ? await freeLoopbackPort() : undefined;
  // Before any connection: the SDK's logs (its own, Core's, workflows' and activities') go to the JSON log, and Core's
  // metrics to a loopback Prometheus exporter that the worker's /metrics includes.
  Runtime.install({
    logger: temporalLogger(log),
    telemetryOptions: {
      logging: { forward: {}, filter: { core: CORE_LOG_LEVEL[config.LOG_LEVEL], other: 'ERROR' } },
      ...(corePort ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${corePort}` } } } : {}),
    },
  });
  const metricsServer = metrics
    ? await serveWorkerMetrics({
        metrics,
        host: config.WORKER_METRICS_HOST,
        port: config.WORKER_METRICS_PORT,
        coreUrl: `http://127.0.0.1:${corePort}/metrics`,
        log,
      })
    : undefined;
  if (metricsServer)
    log.info(`worker metrics on http://${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT}/metrics`);
  if (tracing) log.info({ url: tracing.url }, 'exporting traces by OTLP/HTTP');
  // Before connecting: a stale WORKFLOW_BUNDLE_PATH is refused at once.
  const bundle = chooseWorkflowBundle({
    explicitPath: config.WORKFLOW_BUNDLE_PATH,
    defaultPath: resolve(__dirname, '..', 'dist', 'workflow-bundle.js'),
    codeRoot: __dirname,
    encodeFailures: config.encryption !== undefined,
  });
  log.info(
    bundle.kind === 'prebuilt'
      ? `workflows from the pre-built bundle ${bundle.path} (sha256 ${bundle.manifest.bundleSha256.slice(0, 12)})`
      : `workflows bundled at start (${bundle.reason})`,
  );
  const connection = await NativeConnection.connect(config.temporal.connectionOptions);
  const clientConnection = await Connection.connect(config.temporal.connectionOptions);
  const dataConverter = dataConverterFor(config.encryption);
  const client = new Client({
    connection: clientConnection,
    namespace: config.TEMPORAL_NAMESPACE,
    interceptors: tracingClientInterceptors(tracing),
    ...(dataConverter ? { dataConverter } : {}),
  });
  const added = await ensureSearchAttributes(connection.operatorService, config.TEMPORAL_NAMESPACE);
  if (added.length > 0) log.info(`registered search attributes: ${added.join(', ')}`);
  const deps = buildDeps({ ...config, tracing: tracing !== undefined, log }, client);
  const pool = poolDepsOf(config, client, deps.policy);
  metrics?.watchProviderCalls(() => deps.providerCalls());
  if (metrics) deps.onVerdict = (agentType, by, accepted) => metrics.verdict(agentType, by, accepted);
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    deps,
    pool,
    ...(dataConverter ? { dataConverter } : {}),
    ...(bundle.kind === 'prebuilt' ? { workflowBundle: { codePath: bundle.path } } : {}),
    deployment: { ...deploymentOptions(config), ...shutdownOptions(config) },
    tracing,
    metrics,
    heartbeatThrottleMs: config.MODEL_STREAM_INTERVAL_MS,
    sizing: workerSizing(config),
  });
  // The registry file's types and MAX_AGENTS are (re)applied to the pool at every worker start.
  await signalPool(pool, config.AGENT_POOL_ID, { kind: 'configure', input: pool.poolInput() });
  log.info(
    `worker polling task queue "${config.TEMPORAL_TASK_QUEUE}" on ${describeTarget(config.temporal.target)}; ${describeDeployment(config)}`,
  );
  try {
    await worker.run(); // returns after SIGINT/SIGTERM once in-flight work is handed back
    log.info('worker stopped: running steps finished or were handed back');
  } finally {
    await deps.close();
    await connection.close();
    await clientConnection.close();
    metricsServer?.close();
    await tracing?.shutdown();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    log.fatal(err instanceof Error ? err.message : String(err));
    process.exit(err instanceof StaleBundleError ? 2 : 1); // 2, as for bad configuration
  });
}
