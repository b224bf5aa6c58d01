import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, noTools, type ActivityDeps } from './activities';
import { OfflineRuntime } from './activities/offline-runtime';
import { createPoolActivities, signalPool, type PoolDeps } from './activities/pool';
import type { Messenger } from './activities/types';
import { loadConfigOrExit, poolSettings, type Config } from './config';
import { loadRegistry } from './registry';
import { planWorkflowId } from './shared/ids';
import type { Registry } from './shared/registry';
import type { TaskOutcome } from './shared/status';
import { ensureSearchAttributes } from './temporal';
import { agentMessageSignal, registryQuery } from './workflows/messages';

/** Sends agents' messages to their plan workflow as signals. */
export function signalMessenger(client: Client): Messenger {
  return {
    async send(planId, message) {
      await client.workflow.getHandle(planWorkflowId(planId)).signal(agentMessageSignal, message);
    },
  };
}

/** The pool's registry when the pool runs, else the file's. */
export function liveRegistry(client: Client, poolId: string, fallback: Registry): () => Promise<Registry> {
  return async () => {
    try {
      return { agentTypes: await client.workflow.getHandle(poolId).query(registryQuery) };
    } catch {
      return fallback;
    }
  };
}

type DepsConfig = Pick<Config, 'AGENT_REGISTRY_FILE' | 'OFFLINE_RUNTIME_OUTAGE_FILE' | 'AGENT_POOL_ID'>;

/** The real dependencies of the activities, built from configuration. */
export function buildDeps(config: DepsConfig, client: Client): ActivityDeps {
  const registry = loadRegistry(config.AGENT_REGISTRY_FILE);
  const offline = new OfflineRuntime(config.OFFLINE_RUNTIME_OUTAGE_FILE);
  return {
    registry: liveRegistry(client, config.AGENT_POOL_ID, registry),
    runtime: () => offline,
    tools: noTools,
    messenger: signalMessenger(client),
    taskResult: async (workflowId) => ((await client.workflow.getHandle(workflowId).result()) as TaskOutcome).output,
  };
}

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  pool: PoolDeps;
  /** A pre-built bundle (tests build one per run); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
}

/** A worker that runs the plan, task and pool workflows and their activities on one task queue. */
export function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('./workflows') }),
    activities: { ...createActivities(opts.deps), ...createPoolActivities(opts.pool) },
    // After a worker dies, queries and workflow tasks stuck on its sticky queue move to the shared queue after this;
    // the default 10 s makes status reads fail for that long.
    stickyQueueScheduleToStartTimeout: '3s',
  });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
  const added = await ensureSearchAttributes(connection.operatorService, config.TEMPORAL_NAMESPACE);
  if (added.length > 0) console.log(`registered search attributes: ${added.join(', ')}`);
  const registry = loadRegistry(config.AGENT_REGISTRY_FILE);
  const pool: PoolDeps = {
    client,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    poolInput: () => ({ settings: poolSettings(config), types: registry.agentTypes }),
  };
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    deps: buildDeps(config, client),
    pool,
  });
  // The registry file's types and MAX_AGENTS are (re)applied to the pool at every worker start.
  await signalPool(pool, config.AGENT_POOL_ID, { kind: 'configure', input: pool.poolInput() });
  console.log(
    `worker polling task queue "${config.TEMPORAL_TASK_QUEUE}" on ${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`,
  );
  try {
    await worker.run(); // returns after SIGINT/SIGTERM once in-flight work is handed back
  } finally {
    await connection.close();
    await clientConnection.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
