import { setWorkflowOptions, workflowInfo } from '@temporalio/workflow';

/**
 * Worker Versioning (docs/operations-deploy.md). A versioned worker's default behaviour is AUTO_UPGRADE: the agent pool
 * never completes, and pinned it would keep an old build alive forever; it moves to each new current version at its
 * next workflow task (where its history is replayed: the replay test guards that) and continues-as-new onto it.
 *
 * Plans and their tasks are PINNED: each finishes (across continue-as-new too) on the build it started on, so a new
 * build never replays an old plan. The SDK asks for these options whenever a worker loads the workflow, and only a
 * versioned worker (it has a deployment name; an unversioned worker's build id is the SDK's default) may declare a
 * behaviour: the server rejects the workflow task otherwise. So a plan begun before versioning was turned on is pinned
 * to the first versioned build that loads it.
 */
export function pinnedWhenVersioned(workflow: (...args: never[]) => Promise<unknown>): void {
  setWorkflowOptions(
    () => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: 'PINNED' } : {}),
    workflow,
  );
}
