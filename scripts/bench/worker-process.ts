/**
 * A worker process for measure (i): the production worker (src/worker.ts's createWorker and buildDeps, sized by the same
 * WORKER_* variables, configured from the environment like `npm run worker`), running the bench bundle (every
 * production workflow plus the bare baselines of scripts/bench-workflows.ts). Prints `ready` once it polls; stops on
 * SIGTERM. No tracing and no metrics endpoint: what it costs is the orchestration's.
 */
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { signalPool } from '../../src/activities/pool';
import { loadConfig } from '../../src/config';
import { workflowInterceptorModules } from '../../src/observability/temporal';
import { buildDeps, createWorker, poolDepsOf } from '../../src/worker';
import { workerSizing } from '../../src/worker/sizing';

async function main(): Promise<void> {
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
  const config = loadConfig(process.env, 'worker');
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../bench-workflows'),
    workflowInterceptorModules, // as the worker bundles them (tracing off: they pass through)
    logger: new DefaultLogger('ERROR'),
  });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
  const deps = buildDeps(config, client);
  const pool = poolDepsOf(config, client, deps.policy);
  const worker = await createWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    deps,
    pool,
    workflowBundle: { code },
    identity: `bench-worker@${process.pid}`,
    heartbeatThrottleMs: config.MODEL_STREAM_INTERVAL_MS,
    sizing: workerSizing(config),
  });
  await signalPool(pool, config.AGENT_POOL_ID, { kind: 'configure', input: pool.poolInput() });
  const running = worker.run();
  console.log('ready');
  process.once('SIGTERM', () => worker.shutdown());
  try {
    await running;
  } finally {
    await deps.close();
    await connection.close();
    await clientConnection.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
