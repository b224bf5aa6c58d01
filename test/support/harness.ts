import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { closeEventStreams, createApp } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { buildDeps, createWorker } from '../../src/worker';
import type { ActivityDeps } from '../../src/activities';
import { checkPlan } from '../../src/shared/plan-check';
import { type PlanInput } from '../../src/shared/plan';
import { compactPlan } from '../../src/shared/plan-codec';
import { TASK_DEFAULTS } from '../../src/shared/task';
import { DEFAULT_REGISTRY, type Registry } from '../../src/shared/registry';
import type { PoolSettings } from '../../src/shared/settings';
import { planWorkflowId } from '../../src/shared/ids';
import { PlanIdKey } from '../../src/shared/search-attributes';
import type { ExecutionSettings } from '../../src/shared/settings';
import type { PlanResult } from '../../src/shared/plan';
import { DEFAULT_SETTINGS } from '../../src/shared/settings';
import type { planWorkflow } from '../../src/workflows/plan';

/** Settings that keep retries fast in tests; the behaviour is the same as production, only the clock is shorter. */
export const FAST_SETTINGS: ExecutionSettings = {
  ...DEFAULT_SETTINGS,
  agentTimeoutSeconds: 30,
  heartbeatTimeoutSeconds: 3,
  retryInitialIntervalMs: 50,
  retryMaxIntervalMs: 200,
};

export interface Harness {
  client: Client;
  address: string;
  namespace: string;
  taskQueue: string;
  poolId: string;
  worker: Worker;
  /** Starts a plan workflow directly (as the API would) and returns its id. */
  start(body: PlanInput, settings?: Partial<ExecutionSettings>): Promise<string>;
  /** Starts a plan and waits for its result. */
  run(body: PlanInput, settings?: Partial<ExecutionSettings>): Promise<PlanResult>;
  close(): Promise<void>;
}

export function testAddress(): string {
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!address)
    throw new Error('TEST_TEMPORAL_ADDRESS is not set: run the tests with jest (global setup starts the server)');
  return address;
}

export const uniqueId = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Keeps test output readable: the SDK logs at WARN. Installing twice (several files in one jest worker) throws. */
export function quietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this process
  }
}

export interface HarnessOptions {
  deps?: Partial<ActivityDeps>;
  taskQueue?: string;
  /** Each harness has a pool of its own unless told otherwise, so tests do not share instances or caps. */
  poolId?: string;
  pool?: Partial<PoolSettings>;
  registry?: Registry;
  /** Worker settings beyond the defaults (blob store, provider limits). */
  config?: Partial<Parameters<typeof buildDeps>[0]>;
  /** Extra environment for the worker's deps (API keys). */
  env?: Record<string, string>;
  /** Payload encryption for the worker and the harness's client (dataConverterFor). */
  dataConverter?: DataConverter;
  /** A namespace of its own (registered beforehand), so nothing else on the dev server is visible; default `default`. */
  namespace?: string;
}

/** A real worker on its own task queue against the run's dev server, plus a client. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  quietRuntime();
  const address = testAddress();
  const taskQueue = opts.taskQueue ?? uniqueId('tq');
  const poolId = opts.poolId ?? uniqueId('pool');
  const registry = opts.registry ?? DEFAULT_REGISTRY;
  const poolSettings: PoolSettings = {
    maxAgents: 100,
    quarantineAfter: 3,
    sweepIntervalSeconds: 5,
    historyLimit: 10_000,
    ...opts.pool,
  };
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const namespace = opts.namespace ?? 'default';
  const client = new Client({
    connection,
    namespace,
    ...(opts.dataConverter ? { dataConverter: opts.dataConverter } : {}),
  });
  const base = buildDeps(
    {
      AGENT_REGISTRY_FILE: undefined,
      OFFLINE_RUNTIME_OUTAGE_FILE: undefined,
      AGENT_POOL_ID: poolId,
      BLOB_STORE_DIR: process.env.TEST_BLOB_DIR,
      ALLOW_SIMULATE: true,
      // The harness's registry stands for the worker's registry file: trusted as written.
      registry,
      ...opts.config,
    },
    client,
    { ...process.env, ...opts.env },
  );
  const worker = await createWorker({
    connection: nativeConnection,
    namespace,
    taskQueue,
    deps: { ...base, ...opts.deps },
    pool: {
      client,
      taskQueue,
      poolInput: () => ({ settings: poolSettings, types: registry.agentTypes }),
      policy: base.policy,
    },
    // The run's shared bundle has no failure converter: an encrypting worker bundles its own, with the converter in.
    ...(opts.dataConverter?.failureConverterPath
      ? {}
      : { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE as string } }),
    ...(opts.dataConverter ? { dataConverter: opts.dataConverter } : {}),
    heartbeatThrottleMs: opts.config?.MODEL_STREAM_INTERVAL_MS ?? 1_000,
  });
  const running = worker.run();

  const start = async (body: PlanInput, settings: Partial<ExecutionSettings> = {}): Promise<string> => {
    const checked = checkPlan(body, registry, { maxTasks: 10_000, allowSimulate: true }, () => uniqueId('plan'));
    if (!checked.ok) throw new Error(`test plan is invalid: ${JSON.stringify(checked.issues)}`);
    const workflowId = planWorkflowId(checked.plan.id);
    await client.workflow.start<typeof planWorkflow>('planWorkflow', {
      workflowId,
      taskQueue,
      args: [{ plan: compactPlan(checked.plan, TASK_DEFAULTS), settings: { ...FAST_SETTINGS, poolId, ...settings } }],
      typedSearchAttributes: [{ key: PlanIdKey, value: checked.plan.id }],
    });
    return workflowId;
  };

  return {
    client,
    address,
    namespace,
    taskQueue,
    poolId,
    worker,
    start,
    async run(body, settings) {
      const id = await start(body, settings);
      return client.workflow.getHandle<typeof planWorkflow>(id).result();
    },
    async close() {
      worker.shutdown();
      await running;
      await base.close();
      await nativeConnection.close();
      await connection.close();
    },
  };
}

/** Polls until `check` returns a value (not undefined) or the time runs out. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The HTTP API in this test process (createApp on a free loopback port), wired to a harness's client, task queue and pool. */
export async function startInProcessApi(
  h: Harness,
  env: Record<string, string> = {},
  /** What the API configures the pool with when it first needs it: the harness's own registry, for its agent types. */
  registry: Registry = DEFAULT_REGISTRY,
): Promise<{ base: string; app: ReturnType<typeof createApp>; close(): Promise<void> }> {
  const config = loadConfig({
    TEMPORAL_ADDRESS: h.address,
    TEMPORAL_NAMESPACE: h.namespace,
    TEMPORAL_TASK_QUEUE: h.taskQueue,
    AGENT_POOL_ID: h.poolId,
    ...(process.env.TEST_BLOB_DIR ? { BLOB_STORE_DIR: process.env.TEST_BLOB_DIR } : {}),
    ALLOW_SIMULATE: 'true',
    ...env,
  });
  const app = createApp({ client: h.client, config, registry });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    app,
    close: () =>
      new Promise<void>((r) => {
        closeEventStreams(app); // open streams would keep the server (and their polling) alive
        server.close(() => r());
      }),
  };
}
