import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Messenger } from './activities/types';
import { planWorkflowId } from './shared/ids';
import { agentMessageSignal } from './workflows/messages';
import { createActivities, InProcessMemory, noTools, type ActivityDeps } from './activities';
import { OfflineRuntime } from './activities/offline-runtime';
import { loadConfigOrExit, type Config } from './config';
import { loadRegistry } from './registry';
import { ensureSearchAttributes } from './temporal';

/** Sends agents' messages to their plan workflow as signals. */
export function signalMessenger(client: Client): Messenger {
  return {
    async send(planId, message) {
      await client.workflow.getHandle(planWorkflowId(planId)).signal(agentMessageSignal, message);
    },
  };
}

/** The real dependencies of the activities, built from configuration. */
export function buildDeps(
  config: Pick<Config, 'AGENT_REGISTRY_FILE' | 'OFFLINE_RUNTIME_OUTAGE_FILE'>,
  client: Client,
): ActivityDeps {
  const registry = loadRegistry(config.AGENT_REGISTRY_FILE);
  const offline = new OfflineRuntime(config.OFFLINE_RUNTIME_OUTAGE_FILE);
  return {
    registry: () => registry,
    runtime: () => offline,
    tools: noTools,
    memory: new InProcessMemory(),
    messenger: signalMessenger(client),
  };
}

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A pre-built bundle (tests build one per run); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
}

/** A worker that runs the plan and task workflows and the lifecycle activities on one task queue. */
export function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('./workflows') }),
    activities: createActivities(opts.deps),
  });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const deps = buildDeps(config, new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE }));
  const added = await ensureSearchAttributes(connection.operatorService, config.TEMPORAL_NAMESPACE);
  if (added.length > 0) console.log(`registered search attributes: ${added.join(', ')}`);
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    deps,
  });
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
