import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { AgentTypeVerdict, PoolInput, PoolRequest } from '../shared/pool';
import { AgentType } from '../shared/agent-type';
import { describeIssues } from '../shared/zod-issues';
import type { AgentTypePolicy } from './agent-type-policy';
import { poolSignalOf } from '../workflows/messages';
import type { agentPoolWorkflow } from '../workflows/pool';

export type { PoolRequest } from '../shared/pool';

/** Activities the pool and the task workflows use to reach each other through the client. */
export interface PoolActivities {
  /** Of the given workflow ids, those that are no longer running (or never existed). */
  closedWorkflows(workflowIds: string[]): Promise<string[]>;
  /** Signals the pool, starting it if it is not running yet (signal-with-start). Idempotent by request id. */
  signalPool(poolId: string, message: PoolRequest): Promise<void>;
  /**
   * Checks agent types, as they reached the pool (a signal or update anyone with access to Temporal can send), against
   * the schema and this worker's policy: those it may run, and the others with why. No side effects.
   */
  vetAgentTypes(types: unknown[]): Promise<AgentTypeVerdict>;
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

/** What a worker's pool activities need besides the client: the worker's policy for agent types. */
export type WorkerPoolDeps = PoolDeps & { policy: AgentTypePolicy };

export function createPoolActivities(deps: WorkerPoolDeps): PoolActivities {
  return {
    async vetAgentTypes(types) {
      const verdict: AgentTypeVerdict = { accepted: [], refused: [] };
      for (const raw of types) {
        const parsed = AgentType.safeParse(raw);
        const name = (raw as { name?: unknown } | null)?.name;
        if (!parsed.success) {
          const reason = describeIssues(parsed.error.issues);
          verdict.refused.push({ name: typeof name === 'string' ? name.slice(0, 100) : '?', reason });
          continue;
        }
        const problems = deps.policy.problems(parsed.data);
        if (problems.length > 0) verdict.refused.push({ name: parsed.data.name, reason: problems.join('; ') });
        else verdict.accepted.push(parsed.data);
      }
      return verdict;
    },
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
