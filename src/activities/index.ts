import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { checkPlan } from '../shared/plan';
import { isTaskResultRef } from '../shared/status';
import type { Registry } from '../shared/registry';
import type { AgentActivities, AiRuntime, Messenger, StepControl, ToolRunner } from './types';

export interface ActivityDeps {
  /** The live registry (the pool's), for validating subtasks an agent proposes. */
  registry: () => Promise<Registry>;
  runtime: (agentType: string) => AiRuntime;
  tools: ToolRunner;
  messenger: Messenger;
  /** Reads a task's output from its task workflow's result (for outputs passed by reference). */
  taskResult: (workflowId: string) => Promise<unknown>;
}

/** Replaces output references (see TaskResultRef) with the outputs themselves. */
export async function resolveRefs(
  values: Record<string, unknown>,
  read: (workflowId: string) => Promise<unknown>,
): Promise<Record<string, unknown>> {
  const entries = await Promise.all(
    Object.entries(values).map(async ([k, v]) => [k, isTaskResultRef(v) ? await read(v.$taskResult) : v] as const),
  );
  return Object.fromEntries(entries);
}

function control(): StepControl {
  const ctx = Context.current();
  return {
    attempt: ctx.info.attempt,
    idempotencyKey: `${ctx.info.workflowExecution?.workflowId ?? ctx.info.activityType}/${ctx.info.activityId}`,
    heartbeat: (details?: unknown) => ctx.heartbeat(details),
    sleep: async (ms: number) => {
      // Heartbeat while waiting so a live agent is told apart from a hung one well before the step timeout.
      const deadline = Date.now() + ms;
      for (let left = ms; left > 0; left = deadline - Date.now()) {
        ctx.heartbeat();
        await ctx.sleep(Math.min(left, 1_000));
      }
    },
    cancellationSignal: ctx.cancellationSignal,
    heartbeatTimeoutMs: ctx.info.heartbeatTimeoutMs,
  };
}

/** Re-throws a step's failure with the attempt it happened on, so the task can report how many attempts it used. */
async function reportingAttempt<T>(attempt: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApplicationFailure && !err.details?.length) {
      throw ApplicationFailure.create({
        type: err.type ?? 'Error',
        message: err.message,
        nonRetryable: err.nonRetryable ?? false,
        nextRetryDelay: err.nextRetryDelay ?? undefined,
        details: [{ attempt }],
      });
    }
    throw err;
  }
}

/**
 * The lifecycle steps as activities. Each is retried by Temporal's policy, so each must be safe to repeat: reason and
 * validate have no side effects; execute hands the runtime an idempotency key stable across retries.
 */
export function createActivities(deps: ActivityDeps): AgentActivities {
  return {
    async reason(ctx) {
      const c = control();
      ctx = { ...ctx, dependencies: await resolveRefs(ctx.dependencies, deps.taskResult) };
      const result = await reportingAttempt(c.attempt, () => deps.runtime(ctx.agentType).reason(ctx, c));
      if (!result.subtasks || result.subtasks.length === 0) return { thoughts: result.thoughts, attempt: c.attempt };
      // Dynamic decomposition: prefix ids with the parent's so they cannot clash with the plan's other tasks.
      const prefix = (id: unknown) => `${ctx.taskId}.${String(id)}`;
      const proposed = result.subtasks.map((s) => ({
        ...s,
        id: prefix(s.id),
        dependsOn: Array.isArray(s.dependsOn) ? s.dependsOn.map(prefix) : [],
      }));
      const checked = checkPlan({ tasks: proposed }, await deps.registry(), { maxTasks: 1_000 }, () => ctx.planId);
      if (!checked.ok) {
        throw ApplicationFailure.create({
          type: 'InvalidSubtasks',
          message: `task "${ctx.taskId}": the subtasks its reasoning returned are invalid: ${checked.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
          nonRetryable: true,
        });
      }
      return { thoughts: result.thoughts, subtasks: checked.plan.tasks, attempt: c.attempt };
    },

    async execute(ctx) {
      const c = control();
      ctx = { ...ctx, dependencies: await resolveRefs(ctx.dependencies, deps.taskResult) };
      const output = await reportingAttempt(c.attempt, () =>
        deps.runtime(ctx.agentType).act(ctx, c, { tools: deps.tools, messenger: deps.messenger }),
      );
      return { output, attempt: c.attempt };
    },

    async validate(ctx) {
      const c = control();
      const verdict = await deps.runtime(ctx.agentType).validate(ctx, c);
      if (!verdict.ok) {
        throw ApplicationFailure.create({
          type: 'ValidationRejected',
          message: `task "${ctx.taskId}": output rejected by validation: ${verdict.reason}`,
          nonRetryable: true,
        });
      }
      return { output: true, attempt: c.attempt };
    },
  };
}

/** A tool runner with no tools: what agent types get until tools are configured for them. */
export const noTools: ToolRunner = {
  async list() {
    return [];
  },
  async call(name) {
    throw ApplicationFailure.create({
      type: 'BadInput',
      message: `no tool named "${name}" is configured`,
      nonRetryable: true,
    });
  },
};
