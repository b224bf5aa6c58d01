import { z } from 'zod';
import type { AgentMail } from './agent-mail';
import { LIFECYCLE_STEPS, type Memory } from './agent';
import type { LeasedAgent } from './pool';
import type { FailurePolicy } from './plan';
import type { ExecutionSettings } from './settings';
import type { Usage } from './usage';
import type { LifecycleResult } from '../activities/types';
import type { RerunSeed } from './rerun';

/** Ids go into workflow ids (`plan-<planId>-task-<taskId>`), so they are kept to a safe alphabet. */
export const Id = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/,
    'letters, digits, "_", ".", ":" or "-", at most 100, not starting with a symbol',
  );

/** A task as a plan submits it: the one list of a task's fields, their limits and their defaults. */
export const TaskInput = z.object({
  id: Id,
  description: z.string().max(20_000).optional(),
  capabilities: z.array(z.string().min(1).max(100)).max(50).default([]),
  agentType: z.string().min(1).optional(),
  dependsOn: z.array(Id).max(1_000).default([]),
  input: z.record(z.string(), z.unknown()).optional(),
  optional: z.boolean().default(false),
  priority: z.number().int().min(-1_000).max(1_000).default(0),
  timeoutSeconds: z.number().int().min(1).max(86_400).optional(),
  maxRetries: z.number().int().min(0).max(100).optional(),
  maxReassignments: z.number().int().min(0).max(20).default(2),
  fallbackAgentType: z.string().min(1).optional(),
  requiresApproval: z.boolean().default(false),
  awaitInput: z.boolean().default(false),
  inputTimeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 86_400)
    .default(3_600),
  /** What a waiting task does when no input arrives in time. */
  onInputTimeout: z.enum(['fail', 'skip', 'default']).default('fail'),
  defaultInput: z.unknown().optional(),
  /**
   * The output contract: the JSON Schema (draft 2020-12) the task's output must meet, checked at submission. A model
   * agent is asked for that shape; an output that does not meet it goes back to the agent with the reasons, up to
   * `maxRevisions` times, before the task fails with ValidationRejected (docs/plans.md, "Validation").
   */
  output: z
    .object({
      schema: z.record(z.string(), z.unknown()),
      maxRevisions: z.number().int().min(0).max(10).default(2),
    })
    .optional(),
  /** What an acceptable output is, in words: told to the agent, and to its reviewer. */
  acceptance: z.string().min(1).max(10_000).optional(),
  /**
   * A reviewer validates the output: an agent of `agentType` or with `capabilities`, drawn from the pool like any
   * other, answering a verdict {accepted, reasons}. A rejection goes back to the agent, up to `maxRevisions` times.
   */
  review: z
    .object({
      capabilities: z.array(z.string().min(1).max(100)).max(50).default([]),
      agentType: z.string().min(1).optional(),
      maxRevisions: z.number().int().min(0).max(10).default(2),
    })
    .optional(),
  /** How a coordinator runs its sub-agents: all at once (subject to dependsOn) or one after another. */
  subtaskMode: z.enum(['parallel', 'sequential']).default('parallel'),
  get subtasks(): z.ZodDefault<z.ZodArray<typeof TaskInput>> {
    return z.array(TaskInput).max(1_000).default([]);
  },
});
export type TaskInput = z.input<typeof TaskInput>;

/**
 * A task after validation (src/shared/plan-check.ts): the schema's output, with its agent type resolved, every type
 * that can do it (best fit first; the pool spreads work over them), and its subtasks checked the same way.
 */
export type TaskSpec = Omit<z.output<typeof TaskInput>, 'agentType' | 'subtasks' | 'review'> & {
  agentType: string;
  eligibleTypes: string[];
  subtasks: TaskSpec[];
  /** The reviewer, with the types that may review (best fit first). */
  review?: NonNullable<z.output<typeof TaskInput>['review']> & { types: string[] };
};

/** One verdict on a task's output: by its contract (`by: "schema"`) or by a reviewer (its agent id). */
export interface Revision {
  /** 1 for the first output, 2 for the first revision, … */
  round: number;
  by: string;
  accepted: boolean;
  reasons: string[];
  at: string;
}

/** The fields a task gets when it leaves them out, as the schema gives them. */
export const TASK_DEFAULTS: Readonly<Omit<TaskSpec, 'id' | 'agentType' | 'eligibleTypes' | 'subtasks'>> = (() => {
  const { id: _id, subtasks: _subtasks, review: _review, ...defaults } = TaskInput.parse({ id: 'defaults' });
  return defaults;
})();

export const TASK_STATES = ['pending', ...LIFECYCLE_STEPS, 'skipped', 'cancelled', 'waiting'] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const FINAL_TASK_STATES: readonly TaskState[] = ['completed', 'failed', 'skipped', 'cancelled'];

export interface TaskError {
  message: string;
  type: string;
}

export interface Assignment {
  agentId: string;
  agentType: string;
  outcome: 'completed' | 'failed' | 'cancelled' | 'running';
  error?: string;
}

export interface TaskView {
  id: string;
  state: TaskState;
  agentId?: string;
  agentType: string;
  /** Sibling tasks this one waits for (the plan's view; a task workflow's own view leaves them out). */
  dependsOn?: string[];
  attempts: number;
  assignments: Assignment[];
  error?: TaskError;
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
  subtasks: TaskView[];
  /** Tokens and cost of this task's model calls (agents with a model only). */
  usage?: Usage;
  /** The lifecycle steps this task went through, with times: a task workflow's own, or an inline task's in the plan. */
  transitions?: { state: TaskState; at: string; agentId?: string }[];
  /** Task workflows only, while the task is `waiting`: what it asks a human for. */
  input?: InputRequest;
  /** Verdicts on its outputs, in order (tasks with an output contract or a reviewer). */
  revisions?: Revision[];
  /**
   * It runs (or ran) inline in its plan's workflow, as one activity and no task workflow of its own (INLINE_SHORT_TASKS):
   * its step is the activity `reason → execute → validate · <task> · <agent>` in the plan's history.
   */
  inline?: true;
  /**
   * A rerun reused its output from an earlier plan (POST /v1/plans/:planId/rerun): it did not run in this plan, its
   * state is `completed` and `reusedFrom` is the plan that ran it.
   */
  reused?: true;
  reusedFrom?: string;
}

/** What a task waiting for a human asks (POST /v1/plans/:planId/tasks/:taskId/input answers it). */
export interface InputRequest {
  /** `approval`: requiresApproval (answer approved true/false); `input`: awaitInput (answer with data). */
  kind: 'approval' | 'input';
  description?: string;
  since?: string;
  timeoutSeconds: number;
  onTimeout: TaskSpec['onInputTimeout'];
}

/** A human's answer to a task waiting in state `waiting`. */
export interface HumanInput {
  approved: boolean;
  data?: unknown;
}

/** What an agent task workflow returns when its task completed. */
export interface TaskOutcome {
  taskId: string;
  agentId: string;
  agentType: string;
  attempts: number;
  output: unknown;
  assignments: Assignment[];
  subtasks: TaskView[];
  usage?: Usage;
  /** Usage its plan has not been told of by signal, by agent type: the plan counts it when it reads the outcome. */
  unreportedUsage?: Record<string, Usage>;
  /**
   * Set when the task completed on the instance its plan (or coordinator) leased it and still holds it: the instance
   * goes back to the lease for the next task, remembering this one.
   */
  kept?: { memory?: Memory; usage?: Usage };
  /** It ran inline in its plan's workflow (TaskView.inline): its output is kept by the plan, not a task workflow. */
  inline?: true;
  /** Verdicts on its outputs, in order (tasks with an output contract or a reviewer). */
  revisions?: Revision[];
  /** A task that ran inline: its lifecycle steps with times (a task workflow shows its own in its query). */
  transitions?: TaskView['transitions'];
}

/**
 * A task that began inline in its plan's workflow (src/workflows/inline-task.ts) and goes on in a task workflow of its
 * own: what it did inline.
 */
export interface Handover {
  /** The fused steps stopped short (subtasks to run, tool calls to make): the task goes on from them, on its agent. */
  fused?: LifecycleResult;
  /** The first assignment failed inline (its instance went back to the pool): the task goes on with the next one. */
  failed?: {
    assignment: Assignment;
    attempts: number;
    /** False when the failure was not the agent's fault. */ itsFault: boolean;
  };
}

export interface TaskWorkflowInput {
  planId: string;
  /** Mail that arrived before the task started. */
  inbox?: AgentMail[];
  task: TaskSpec;
  /** Outputs of the tasks this one depends on, by task id. */
  dependencies: Record<string, unknown>;
  settings: ExecutionSettings;
  failurePolicy: FailurePolicy;
  maxConcurrency: number;
  depth: number;
  /** The plan has a budget: usage reports are acknowledged, and the task waits for that before its next model call. */
  budgeted?: boolean;
  /** The instance to start on, from the plan's (or coordinator's) lease; without one the task asks the pool. */
  agent?: LeasedAgent;
  /**
   * Set by every plan and coordinator since measure (i) (absent in task workflows started before): a model agent's
   * validate step runs as a local activity, and without a budget a top-level task reports its usage with its outcome.
   * In the input, so a replay takes the path its first run took, without a patch marker and a search-attribute upsert
   * in every task's history.
   */
  leanSteps?: true;
  /** Set when the task began inline in its plan's workflow: where it got to there. */
  handover?: Handover;
  /** A coordinator in a rerun plan: the sub-agents of its subtree whose outputs are reused (src/shared/rerun.ts). */
  rerun?: RerunSeed;
}

/** Every task of the tree, depth first. */
export function allTasks(tasks: TaskSpec[]): TaskSpec[] {
  return tasks.flatMap((t) => [t, ...allTasks(t.subtasks)]);
}
