import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { PoolInput, PoolRequest } from '../shared/pool';
import { poolSignalOf } from '../workflows/messages';
import type { agentPoolWorkflow } from '../workflows/pool';

export type { PoolRequest } from '../shared/pool';

/** Activities the pool and the task workflows use to reach each other through the client. */
export interface PoolActivities {
  /** Of the given workflow ids, those that are no longer running (or never existed). */
  closedWorkflows(workflowIds: string[]): Promise<string[]>;
  /** Signals the pool, starting it if it is not running yet (signal-with-start). Idempotent by request id. */
  signalPool(poolId: string, message: PoolRequest): Promise<void>;
}

export interface PoolDeps {
  client: Client;
  taskQueue: string;
  /** What a pool that does not exist yet is started with. */
  poolInput: () => PoolInput;
}

/** Starts the pool if needed and hands it a message; used by the worker at start-up and by the activities. */
export async function signalPool(deps: PoolDeps, poolId: string, message: PoolRequest): Promise<void> {
  const base = {
    workflowId: poolId,
    taskQueue: deps.taskQueue,
    args: [deps.poolInput()] as [PoolInput],
    staticSummary: 'agent pool and registry',
  };
  const [signal, arg] = poolSignalOf(message);
  await deps.client.workflow.signalWithStart<typeof agentPoolWorkflow, [unknown]>('agentPoolWorkflow', {
    ...base,
    signal,
    signalArgs: [arg],
  });
}

export function createPoolActivities(deps: PoolDeps): PoolActivities {
  return {
    async closedWorkflows(workflowIds) {
      const closed: string[] = [];
      // Twenty at a time: a pool leased to hundreds of plans must not take longer than the activity's timeout.
      for (let i = 0; i < workflowIds.length; i += 20) {
        await Promise.all(
          workflowIds.slice(i, i + 20).map(async (id) => {
            try {
              const d = await deps.client.workflow.getHandle(id).describe();
              if (d.status.name !== 'RUNNING') closed.push(id);
            } catch (err) {
              if (err instanceof WorkflowNotFoundError) closed.push(id);
              else throw err;
            }
          }),
        );
      }
      return closed;
    },
    async signalPool(poolId, message) {
      await signalPool(deps, poolId, message);
    },
  };
}
