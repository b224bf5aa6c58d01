import { isCancellation } from '@temporalio/workflow';
import type { LifecycleResult } from '../activities/types';
import type { AgentMail } from '../shared/agent-mail';
import { NOT_THE_AGENTS_FAULT } from '../shared/errors';
import type { LeasedAgent } from '../shared/pool';
import type { Assignment, Handover, TaskOutcome, TaskWorkflowInput } from '../shared/task';
import { addUsage, type Usage } from '../shared/usage';
import { attemptsOf, describeFailure, isFatal, taskFailed, type TaskFailureDetails } from './failures';
import { maxAttempts, stepActivities, stepContextOf, stepsAreShort } from './task-options';

/** The label of the one activity an inline task is: `reason → execute → validate · <task> · <agent>` in the Web UI. */
export const INLINE_STEPS = 'reason → execute → validate';
/** An inline task's output over this many bytes (JSON) goes to the blob store: its plan keeps only a reference. */
export const INLINE_OUTPUT_MAX_BYTES = 1_024;

/**
 * Whether a task runs inline in its plan's workflow instead of in a task workflow of its own. A task workflow costs a
 * workflow execution (its start, history, visibility records, workflow tasks, the child events in the plan): for a task
 * whose steps are one short activity that is most of its cost (measure (b) in docs/benchmarks.md). So a top-level task
 * runs inline when nothing about it needs a workflow of its own: its plan has leased it an instance of an offline type
 * (its steps are short), it declares no sub-agents and no human in the loop, its plan has no budget (usage
 * acknowledgements are signals to a task workflow), the plan was started with INLINE_SHORT_TASKS on, and `room` (the
 * plan keeps inline tasks' outputs itself, so it bounds them).
 */
export function runsInline(
  input: TaskWorkflowInput,
  room: boolean,
): input is TaskWorkflowInput & { agent: LeasedAgent } {
  const { task, agent } = input;
  return (
    room &&
    input.settings.inlineShortTasks === true &&
    input.depth === 0 &&
    !input.budgeted &&
    agent !== undefined &&
    agent.offline &&
    stepsAreShort(input, true) &&
    task.subtasks.length === 0 &&
    !task.requiresApproval &&
    !task.awaitInput &&
    !task.output &&
    !task.review
  );
}

/** What an inline task asks of its plan. */
export interface InlineHost {
  /** Goes on in a task workflow of its own, from where the inline run got to. */
  handOver(handover: Handover, agent: LeasedAgent | undefined): Promise<TaskOutcome>;
  /** Its instance failed it (or, `cancelled`, failed through no fault of its own): back to the pool. */
  giveBack(outcome: 'failed' | 'cancelled'): void;
}

/**
 * Runs a task inline (see runsInline): reason → execute → validate as one activity of the plan's workflow, retried by
 * the task's policy, on the instance the plan leased it. A regular activity, not a local one: a plan runs many such
 * tasks back to back, and local activities would hold its workflow task open (signals, queries and cancellation
 * waiting behind it, its history length unseen, markers piling into one completion). It completes there; when the
 * steps stop short (a coordinator's subtasks, tool calls) or its instance fails it and the task may be reassigned, it
 * hands over to a task workflow that goes on from there, so nothing a task workflow does is lost. Deterministic.
 */
export async function runInline(
  input: TaskWorkflowInput & { agent: LeasedAgent },
  inbox: AgentMail[],
  host: InlineHost,
): Promise<TaskOutcome> {
  const { task, agent } = input;
  const startedAt = new Date().toISOString();
  let fused: LifecycleResult;
  try {
    fused = await stepActivities(input, INLINE_STEPS, agent.agentId, /* local */ false).lifecycle({
      ...stepContextOf(input, agent, inbox, 0),
      keepOutputUnder: INLINE_OUTPUT_MAX_BYTES,
    });
  } catch (err) {
    if (isCancellation(err)) throw err;
    return failedInline(input, err, host);
  }
  if (!fused.validated || !fused.executed) return host.handOver({ fused }, agent);
  const usage = [fused.reasoning.usage, fused.executed.usage].reduce<Usage | undefined>(
    (sum, u) => (u ? addUsage(sum, u) : sum),
    undefined,
  );
  return {
    taskId: task.id,
    agentId: agent.agentId,
    agentType: agent.agentType,
    attempts: fused.attempt,
    output: fused.executed.output,
    assignments: [{ agentId: agent.agentId, agentType: agent.agentType, outcome: 'completed' }],
    subtasks: [],
    ...(usage ? { usage, unreportedUsage: { [agent.agentType]: usage } } : {}),
    kept: { ...(fused.memory !== undefined ? { memory: fused.memory } : {}), ...(usage ? { usage } : {}) },
    inline: true,
    // Its lifecycle, as the one step lived it: shown in the plan's view, told on its event stream.
    transitions: [
      { state: 'assigned', at: startedAt, agentId: agent.agentId },
      ...fused.phases.map((p) => ({ state: p.state, at: p.at, agentId: agent.agentId })),
      { state: 'completed', at: new Date().toISOString(), agentId: agent.agentId },
    ],
  };
}

/**
 * The instance failed the task inline: it goes back to the pool (as failed, unless it was not its fault), and the task
 * goes on with its next assignment in a task workflow, or fails here when none may try.
 */
function failedInline(
  input: TaskWorkflowInput & { agent: LeasedAgent },
  err: unknown,
  host: InlineHost,
): Promise<TaskOutcome> {
  const { task, agent } = input;
  const { error } = describeFailure(err);
  const itsFault = !NOT_THE_AGENTS_FAULT.includes(error.type);
  host.giveBack(itsFault ? 'failed' : 'cancelled');
  const assignment: Assignment = {
    agentId: agent.agentId,
    agentType: agent.agentType,
    outcome: 'failed',
    error: error.message,
  };
  const attempts = attemptsOf(err, maxAttempts(input));
  if (!isFatal(err) && task.maxReassignments > 0)
    return host.handOver({ failed: { assignment, attempts, itsFault } }, undefined);
  const details: TaskFailureDetails = {
    agentId: agent.agentId,
    attempts,
    assignments: [assignment],
    error,
    subtasks: [],
  };
  throw taskFailed(task.id, details, error.message, err);
}
