/*
 * src/worker/: what only the worker process runs at start-up and shut-down, beside its entry point (src/worker.ts):
 * Worker Versioning and graceful shutdown (this file), the workflow bundle `npm run build` makes and the check that a
 * worker may run it (prebuilt-bundle.ts), and the build step that writes it (bundle-workflows.ts).
 */
import type { WorkerOptions } from '@temporalio/worker';
import type { Config } from '../config';

/** Beyond the grace time: how long cancelled steps get to hand back before the worker gives up and exits. */
export const SHUTDOWN_FORCE_MARGIN_SECONDS = 15;

type DeployConfig = Pick<Config, 'WORKER_DEPLOYMENT_NAME' | 'WORKER_BUILD_ID' | 'WORKER_SHUTDOWN_GRACE_SECONDS'>;

/**
 * Worker Versioning (docs/operations-deploy.md): with WORKER_BUILD_ID set, the worker is version
 * {WORKER_DEPLOYMENT_NAME, WORKER_BUILD_ID} of a Worker Deployment. Its default behaviour, AUTO_UPGRADE, is the agent
 * pool's; plans and their tasks declare PINNED (src/workflows/versioning.ts). Without WORKER_BUILD_ID the worker is
 * unversioned, as before.
 */
export function deploymentOptions(config: DeployConfig): Pick<WorkerOptions, 'workerDeploymentOptions'> {
  if (!config.WORKER_BUILD_ID) return {};
  return {
    workerDeploymentOptions: {
      useWorkerVersioning: true,
      version: { deploymentName: config.WORKER_DEPLOYMENT_NAME, buildId: config.WORKER_BUILD_ID },
      defaultVersioningBehavior: 'AUTO_UPGRADE',
    },
  };
}

/**
 * Graceful shutdown: on SIGTERM the worker stops polling, lets running steps finish for WORKER_SHUTDOWN_GRACE_SECONDS,
 * then cancels the rest (they heartbeat out and are retried elsewhere) and exits at most
 * {@link SHUTDOWN_FORCE_MARGIN_SECONDS} later.
 */
export function shutdownOptions(config: DeployConfig): Pick<WorkerOptions, 'shutdownGraceTime' | 'shutdownForceTime'> {
  const grace = config.WORKER_SHUTDOWN_GRACE_SECONDS;
  return { shutdownGraceTime: grace * 1_000, shutdownForceTime: (grace + SHUTDOWN_FORCE_MARGIN_SECONDS) * 1_000 };
}

/** For the start-up line: which version this worker is. */
export const describeDeployment = (config: DeployConfig): string =>
  config.WORKER_BUILD_ID
    ? `deployment ${config.WORKER_DEPLOYMENT_NAME}, build ${config.WORKER_BUILD_ID} (versioned)`
    : 'unversioned';
