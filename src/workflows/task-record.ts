import type { Usage } from '../shared/usage';
import { isCancellation, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { Failure } from '../shared/errors';
import type { Assignment, Revision, TaskError, TaskState, TaskView } from '../shared/task';
import { AgentIdKey, AgentTypeKey, LifecycleStateKey } from '../shared/search-attributes';
import { describeFailure, taskFailed, type TaskFailureDetails } from './failures';

const MAX_TRANSITIONS = 50;
/** Lifecycle states worth a search-attribute upsert: finding tasks by them matters; the steps between live in queries. */
const INDEXED_STATES: readonly TaskState[] = ['assigned', 'waiting', 'completed', 'failed', 'skipped', 'cancelled'];

/** Who works the task at a given moment: the instance (once there is one) and its type. */
export interface Assignee {
  agentId: string | undefined;
  agentType: string;
}

/**
 * What a task workflow records of its lifecycle: its state and transitions, its assignments, attempts and error, shown
 * by the `taskStatus` query and returned in the outcome. Workflow code: each state change sets the current details, and
 * the states people search by upsert the search attributes.
 */
export class TaskRecord {
  state: TaskState = 'assigned';
  attempts = 0;
  error: TaskError | undefined;
  finishedAt: string | undefined;
  readonly startedAt = new Date().toISOString();
  readonly assignments: Assignment[] = [];
  readonly transitions: NonNullable<TaskView['transitions']> = [];
  /** Every verdict on the task's outputs (its contract's, its reviewer's), in order. */
  readonly revisions: Revision[] = [];

  constructor(
    private readonly taskId: string,
    /** Read at each transition: the instance may change between them. */
    private readonly assignee: () => Assignee,
  ) {}

  /** A step's (or the fused steps') attempts count when they are more than any before. */
  countAttempts(attempt: number): void {
    this.attempts = Math.max(this.attempts, attempt);
  }

  /** A new assignment: the instance the task now runs on. */
  assign(agentId: string, agentType: string): void {
    this.assignments.push({ agentId, agentType, outcome: 'running' });
  }

  /** The running assignment (the last one) ends with `outcome`. */
  endAssignment(outcome: Assignment['outcome'], error?: string): void {
    const current = this.assignments[this.assignments.length - 1];
    if (!current) return;
    current.outcome = outcome;
    if (error !== undefined) current.error = error;
  }

  /** A verdict on an output: recorded, and shown in the current details while the task revises. */
  verdict(revision: Omit<Revision, 'at'>): void {
    this.revisions.push({ ...revision, at: new Date().toISOString() });
  }

  /** The waiting state's start, for the input request a `waiting` task shows. */
  waitingSince(): string | undefined {
    return [...this.transitions].reverse().find((t) => t.state === 'waiting')?.at;
  }

  finish(): void {
    this.finishedAt = new Date().toISOString();
  }

  /** Cancelled: assignments still running end cancelled too. */
  cancel(): void {
    for (const a of this.assignments) if (a.outcome === 'running') a.outcome = 'cancelled';
    this.transition('cancelled');
  }

  /**
   * Search attributes change at assignment and at the end (and when a human is asked), which is what people search
   * by; the steps in between show in the query, the current details and the step summaries.
   */
  transition(next: TaskState, alreadyIndexed = false, at = new Date().toISOString()): void {
    this.state = next;
    const { agentId, agentType } = this.assignee();
    this.transitions.push({ state: next, at, ...(agentId ? { agentId } : {}) });
    if (this.transitions.length > MAX_TRANSITIONS) this.transitions.shift();
    if (INDEXED_STATES.includes(next) && !alreadyIndexed) {
      upsertSearchAttributes([
        { key: LifecycleStateKey, value: next },
        { key: AgentTypeKey, value: agentType },
        ...(agentId ? [{ key: AgentIdKey, value: agentId }] : []),
      ]);
    }
    setCurrentDetails(`**${next}** · ${this.taskId}${agentId ? ` · ${agentId}` : ''}`);
  }

  /**
   * Records how the task ended and returns the failure its workflow ends with: its details say who tried what
   * (cancellation stays cancellation).
   */
  failure(
    err: unknown,
    agentId: string | undefined,
    subtasks: TaskView[],
    unreportedUsage?: Record<string, Usage>,
  ): unknown {
    this.finish();
    if (isCancellation(err)) {
      this.cancel();
      return err;
    }
    this.transition(this.error?.type === Failure.BudgetExhausted ? 'skipped' : 'failed');
    const details: TaskFailureDetails = {
      agentId,
      attempts: this.attempts,
      assignments: this.assignments,
      error: this.error,
      subtasks,
      ...(this.revisions.length > 0 ? { revisions: this.revisions } : {}),
      ...(unreportedUsage ? { unreportedUsage } : {}),
    };
    return taskFailed(this.taskId, details, this.error?.message ?? describeFailure(err).error.message, err);
  }
}
