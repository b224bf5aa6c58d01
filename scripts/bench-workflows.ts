/**
 * The workflows the benchmark worker runs: every production workflow, plus two bench-only baselines. Bundled by
 * `scripts/bench.ts` in place of `src/workflows`; runs in the workflow sandbox, so nothing Node-only in here.
 */
import { condition, proxyActivities, setHandler, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { PoolActivities } from '../src/activities/pool';
import type { AgentActivities, StepContext } from '../src/activities/types';
import type { Grant } from '../src/shared/pool';
import type { ExecutionSettings } from '../src/shared/settings';
import { agentsGrantedSignal } from '../src/workflows/messages';

export * from '../src/workflows';

export interface BareLifecycleInput {
  tasks: number;
  concurrency: number;
  /** The retry and timeout settings a plan would be stamped with, so both sides use the same activity options. */
  settings: ExecutionSettings;
  agentType: string;
}

/**
 * Baseline for the plan benchmark: the same reason → execute → validate activities the worker registers, `tasks` times,
 * `concurrency` at a time, in one workflow: no pool, no child workflows, no plan bookkeeping. Deterministic.
 */
export async function bareLifecycleWorkflow(input: BareLifecycleInput): Promise<{ completed: number }> {
  const { settings } = input;
  const options: ActivityOptions = {
    startToCloseTimeout: `${settings.agentTimeoutSeconds}s`,
    heartbeatTimeout: `${Math.min(settings.heartbeatTimeoutSeconds, settings.agentTimeoutSeconds)}s`,
    retry: {
      maximumAttempts: settings.maxRetries + 1,
      initialInterval: settings.retryInitialIntervalMs,
      maximumInterval: Math.max(settings.retryMaxIntervalMs, settings.retryInitialIntervalMs),
      backoffCoefficient: 2,
    },
  };
  const { reason, execute, validate } = proxyActivities<AgentActivities>(options);
  const { workflowId } = workflowInfo();
  let next = 0;
  let completed = 0;
  const runOne = async (i: number): Promise<void> => {
    const ctx: StepContext = {
      planId: workflowId,
      taskId: `t${i}`,
      workflowId,
      agentId: `${input.agentType}-${(i % 100) + 1}`,
      agentType: input.agentType,
      description: 'bench task',
      dependencies: {},
      assignment: 0,
      depth: 0,
      inbox: [],
      memory: [],
    };
    const reasoning = await reason(ctx);
    const executed = await execute({ ...ctx, reasoning: reasoning.thoughts });
    await validate({ ...ctx, output: executed.output });
    completed++;
  };
  // A sliding window: each lane takes the next task as soon as its previous one is done.
  const lane = async (): Promise<void> => {
    while (next < input.tasks) await runOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, input.tasks) }, lane));
  return { completed };
}

export interface PoolRoundTripInput {
  poolId: string;
  rounds: number;
  /** Eligible agent types of each request, best fit first. */
  types: string[];
}

export interface PoolRoundTripResult {
  /** Workflow time from scheduling the acquire activity to handling the grant signal, per round. */
  acquireMs: number[];
  /** The same plus the release activity: one whole acquire → grant → release cycle, per round. */
  cycleMs: number[];
}

/**
 * Measures the pool's acquire → grant → release round trip, `rounds` times in sequence, through the same `signalPool`
 * activity and `agentGranted` signal a task workflow uses. Date.now() is the workflow clock (replay-safe).
 */
export async function poolRoundTripWorkflow(input: PoolRoundTripInput): Promise<PoolRoundTripResult> {
  const pool = proxyActivities<PoolActivities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '200ms', maximumInterval: '10s' },
  });
  const grants = new Map<string, Grant>();
  setHandler(agentsGrantedSignal, (list) => {
    for (const grant of list) grants.set(grant.requestId, grant);
  });
  const { workflowId, runId } = workflowInfo();
  const acquireMs: number[] = [];
  const cycleMs: number[] = [];
  for (let i = 0; i < input.rounds; i++) {
    const requestId = `${workflowId}/${runId}/${i}`;
    const started = Date.now();
    await pool.signalPool(input.poolId, {
      kind: 'acquire',
      request: {
        requestId,
        holder: workflowId,
        planId: workflowId,
        taskId: `round-${i}`,
        priority: 0,
        types: input.types,
        exclude: [],
      },
    });
    await condition(() => grants.has(requestId));
    acquireMs.push(Date.now() - started);
    const grant = grants.get(requestId) as Grant;
    grants.delete(requestId);
    if (grant.agentId) {
      await pool.signalPool(input.poolId, {
        kind: 'release',
        release: { requestId, agentId: grant.agentId, outcome: 'completed' },
      });
    }
    cycleMs.push(Date.now() - started);
  }
  return { acquireMs, cycleMs };
}
