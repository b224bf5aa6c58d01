import {
  ActivityCancellationType,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { AgentActivities, StepContext } from '../activities/types';
import type { Memory } from '../shared/agent';
import type { AgentMail } from '../shared/agent-mail';
import type { TaskWorkflowInput } from '../shared/task';
import { NON_RETRYABLE_TYPES } from '../shared/errors';
import { taskPriority } from './task-priority';

/** How one lifecycle step runs: retried by the task's policy, named in the Web UI `<step> · <task> · <agent>`. */
export function stepOptions(input: TaskWorkflowInput, step: string, agentId: string): ActivityOptions {
  const { task, settings } = input;
  const timeoutSeconds = task.timeoutSeconds ?? settings.agentTimeoutSeconds;
  return {
    startToCloseTimeout: `${timeoutSeconds}s`,
    heartbeatTimeout: `${Math.min(settings.heartbeatTimeoutSeconds, timeoutSeconds)}s`,
    retry: {
      maximumAttempts: maxAttempts(input),
      initialInterval: settings.retryInitialIntervalMs,
      maximumInterval: Math.max(settings.retryMaxIntervalMs, settings.retryInitialIntervalMs),
      backoffCoefficient: 2,
      nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
    },
    // Wait for a cancelled step to acknowledge, so "cancelled" means the agent really stopped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    summary: `${step} · ${task.id} · ${agentId}`,
    ...taskPriority(input),
  };
}

/** The same policy for a step run as a local activity (no heartbeat: a short step has nothing to report). */
export function localStepOptions(input: TaskWorkflowInput, step: string, agentId: string): LocalActivityOptions {
  const { heartbeatTimeout: _h, priority: _p, ...rest } = stepOptions(input, step, agentId);
  return rest as LocalActivityOptions;
}

export const maxAttempts = (input: TaskWorkflowInput): number =>
  (input.task.maxRetries ?? input.settings.maxRetries) + 1;

/**
 * Short steps run as local activities: no workflow task, no activity events, just a marker each, so reason → execute
 * → validate costs one workflow task instead of four. A step is short when its agent runs offline and the task asks
 * for no simulated latency or hang (model calls, tools and slow agents keep regular activities: heartbeats, a heartbeat
 * timeout, and their state visible while they run).
 */
export function stepsAreShort(input: TaskWorkflowInput, offline: boolean): boolean {
  if (!offline) return false;
  const sim = input.task.input?.simulate as { latencyMs?: unknown; hang?: unknown } | undefined;
  return !sim || (!sim.latencyMs && !sim.hang);
}

/** The activities of one lifecycle step, local or regular, named `<step> · <task> · <agent>` in the Web UI. */
export function stepActivities(
  input: TaskWorkflowInput,
  label: string,
  agentId: string,
  local: boolean,
): AgentActivities {
  return local
    ? proxyLocalActivities<AgentActivities>(localStepOptions(input, label, agentId))
    : proxyActivities<AgentActivities>(stepOptions(input, label, agentId));
}

/**
 * A model agent's validate step makes no model call (it checks the answer and writes the agent's memory): a local
 * activity, a marker instead of three activity events and a workflow task of its own (measure (i) in
 * docs/benchmarks.md). Tasks started before `leanSteps` replay with the regular activity they recorded.
 */
export function validatesLocally(input: TaskWorkflowInput, offline: boolean): boolean {
  return stepsAreShort(input, offline) || (!offline && input.leanSteps === true);
}

/**
 * What every step of a task is given: the task and its dependencies' outputs, the instance working it (assignment `n`),
 * its inbox so far, and what its output must be. `workflowId` is where the step runs: the task workflow, or the plan's
 * for a task that runs inline.
 */
export function stepContextOf(
  input: TaskWorkflowInput,
  agent: { agentId: string; agentType: string; memory: Memory },
  inbox: AgentMail[],
  n: number,
): StepContext {
  const { task } = input;
  return {
    planId: input.planId,
    taskId: task.id,
    workflowId: workflowInfo().workflowId,
    agentId: agent.agentId,
    agentType: agent.agentType,
    description: task.description,
    input: task.input,
    dependencies: input.dependencies,
    ...(input.settings.tenant !== undefined ? { tenant: input.settings.tenant } : {}),
    assignment: n,
    depth: input.depth,
    inbox,
    memory: agent.memory,
    ...(task.output ? { contract: { schema: task.output.schema } } : {}),
    ...(task.acceptance ? { acceptance: task.acceptance } : {}),
  };
}
