import type { Usage } from '../shared/usage';
import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, patched } from '@temporalio/workflow';
import type { Assignment, Revision, TaskError, TaskView } from '../shared/task';
import { Failure, NON_RETRYABLE_TYPES, REASSIGNABLE_TYPES } from '../shared/errors';

/**
 * How a task's failure is shown and judged in workflows. The failure types themselves (which end a task at once,
 * which are not the agent instance's fault) are in src/shared/errors.ts.
 */

/** Details a failed agent task workflow attaches to its ApplicationFailure, so the parent can show who tried what. */
export interface TaskFailureDetails {
  agentId?: string;
  attempts: number;
  assignments: Assignment[];
  /** The root cause, as the failing step reported it. */
  error?: TaskError;
  subtasks: TaskView[];
  /** Verdicts on its outputs (contract, reviewer), when it had any. */
  revisions?: Revision[];
  /** As in TaskOutcome: usage the plan counts from here. */
  unreportedUsage?: Record<string, Usage>;
}

/**
 * The failure a task ends with: `TaskFailed`, non-retryable, its details saying who tried what, with the failure that
 * ended it as its cause (`create`, not `nonRetryable`, so the cause is kept).
 */
export function taskFailed(
  taskId: string,
  details: TaskFailureDetails,
  reason: string,
  cause: unknown,
): ApplicationFailure {
  return ApplicationFailure.create({
    type: Failure.TaskFailed,
    message: `task "${taskId}" failed after ${details.assignments.length} assignment(s): ${reason}`,
    nonRetryable: true,
    details: [details],
    cause: cause instanceof Error ? cause : undefined,
  });
}

/** Turns whatever a child workflow failed with into the error shown for its task. */
export function describeFailure(err: unknown): { error: TaskError; details?: TaskFailureDetails } {
  let cause: unknown = err instanceof ChildWorkflowFailure ? (err.cause ?? err) : err;
  if (cause instanceof ApplicationFailure && cause.type === Failure.TaskFailed) {
    const details = cause.details?.[0] as TaskFailureDetails | undefined;
    return { error: { message: cause.message, type: details?.error?.type ?? Failure.TaskFailed }, details };
  }
  while (
    cause instanceof Error &&
    'cause' in cause &&
    cause.cause instanceof Error &&
    !(cause instanceof ApplicationFailure)
  ) {
    cause = cause.cause;
  }
  if (cause instanceof ApplicationFailure) return { error: { message: cause.message, type: cause.type ?? 'Error' } };
  if (cause instanceof Error) return { error: { message: cause.message, type: cause.name } };
  return { error: { message: String(cause), type: Failure.Error } };
}

/** How many attempts a failed step used: all of them when retries ran out, else what the activity reported. */
export function attemptsOf(err: unknown, maxAttempts: number): number {
  if (err instanceof ActivityFailure && err.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED) return maxAttempts;
  // A local activity's failure reaches the workflow as the activity's own ApplicationFailure, not wrapped.
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const details = cause instanceof ApplicationFailure ? (cause.details ?? []) : [];
  const reported = details.find(
    (d): d is { attempt: number } => typeof (d as { attempt?: unknown })?.attempt === 'number',
  );
  return reported?.attempt ?? (err instanceof ActivityFailure ? 1 : 0);
}

/** A failure no other attempt or agent can fix. */
export function isFatal(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure)) return false;
  // A rejected output goes to another instance (tasks that failed so before this change replay as they ran).
  if (REASSIGNABLE_TYPES.includes(cause.type ?? '') && patched(REJECTED_OUTPUTS_REASSIGN)) return false;
  return cause.nonRetryable || NON_RETRYABLE_TYPES.includes(cause.type ?? '');
}

const REJECTED_OUTPUTS_REASSIGN = 'rejected-outputs-reassign';
