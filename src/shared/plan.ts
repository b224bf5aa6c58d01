import { z } from 'zod';
import type { CompactPlan } from './plan-codec';
import { Id, TaskInput, type Revision, type TaskError, type TaskSpec, type TaskState, type TaskView } from './task';
import type { ExecutionSettings } from './settings';
import type { UsageReport } from './usage';
import type { DagSnapshot } from '../workflows/dag-carry';
import type { RouterSnapshot } from '../workflows/mail-router';
import type { RerunSeed } from './rerun';

export const PlanMode = z.enum(['parallel', 'sequential', 'hierarchical', 'dag']);
export type PlanMode = z.infer<typeof PlanMode>;
export const FailurePolicy = z.enum(['fail-fast', 'continue']);
export type FailurePolicy = z.infer<typeof FailurePolicy>;

/** A plan as it is submitted (POST /v1/plans); its tasks are src/shared/task.ts's TaskInput. */
export const PlanInput = z.object({
  // "-task-" would let a plan id collide with another plan's task workflow ids (plan-<planId>-task-<taskId>).
  id: Id.refine((id) => !id.includes('-task-'), 'a plan id may not contain "-task-"').optional(),
  name: z.string().max(200).optional(),
  mode: PlanMode.default('dag'),
  failurePolicy: FailurePolicy.default('fail-fast'),
  maxConcurrency: z.number().int().min(1).max(1_000).default(10),
  tasks: z.array(TaskInput).min(1, 'a plan needs at least one task'),
  budget: z
    .object({ maxTokens: z.number().int().min(1).optional(), maxCostUsd: z.number().positive().optional() })
    .optional(),
});
export type PlanInput = z.input<typeof PlanInput>;

/** What a plan workflow runs: the schema's output with its id given and its tasks checked (plan-check.ts). */
export type PlanSpec = Omit<z.output<typeof PlanInput>, 'id' | 'tasks'> & { id: string; tasks: TaskSpec[] };

export const PLAN_STATUSES = ['running', 'completed', 'partial', 'failed', 'cancelled'] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

export interface PlanProgress {
  total: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  skipped: number;
  cancelled: number;
}

export interface PlanView {
  planId: string;
  name?: string;
  status: PlanStatus;
  mode: PlanMode;
  failurePolicy: FailurePolicy;
  paused: boolean;
  progress: PlanProgress;
  tasks: TaskView[];
  /** Tokens and cost so far: total, by agent type, by task. */
  usage?: UsageReport;
  /** Why the plan stopped starting tasks early (`budget_exhausted`). */
  reason?: string;
  /** The schedule that started it (GET /v1/schedules/:scheduleId), if one did. */
  schedule?: string;
  /** The plan it was forked from (POST /v1/plans/:planId/rerun); its reused tasks say `reused: true`. */
  rerunOf?: string;
  startedAt: string;
  closedAt: string | null;
}

export interface PlanResult {
  planId: string;
  status: PlanStatus;
  outputs: Record<string, unknown>;
  errors: Record<string, TaskError & { state: TaskState; reason?: string }>;
  /** `budget_exhausted` when the plan ran out of budget (its status is then `partial`). */
  reason?: string;
  /** Present when agents used models. */
  usage?: UsageReport;
  /** Some task ran sub-agents: the API then adds `tasks`. */
  nested?: boolean;
  /** Verdicts on outputs, by task (top-level tasks with an output contract or a reviewer; sub-agents': in `tasks`). */
  revisions?: Record<string, Revision[]>;
  /**
   * Plans with sub-agents: every task at every depth, by id (the API adds it from the plan's status and the sub-agents'
   * results): where it sits, its state, agent, error, usage and, when completed, its output.
   */
  tasks?: Record<string, unknown>;
  /** The plan it was forked from (POST /v1/plans/:planId/rerun). */
  rerunOf?: string;
  /** A rerun's reused tasks, at every depth: task id → the plan that ran it (its output is that plan's). */
  reused?: Record<string, string>;
}

/** Where a plan's answers link to; `ui` is absent when the Web UI's address is unknown (self-hosted, no TEMPORAL_UI_URL). */
export interface PlanLinks {
  self: string;
  result: string;
  ui?: string;
}

/** One row of GET /v1/plans. */
export interface PlanSummary {
  planId: string;
  workflowId: string;
  name?: string;
  status: PlanStatus;
  /** The schedule that started it, if one did. */
  schedule?: string;
  /** The plan it was forked from, if it is a rerun. */
  rerunOf?: string;
  startedAt: string;
  closedAt: string | null;
}

/** What a plan workflow carries across continue-as-new (its parts are the workflows' own snapshots). */
export interface PlanCarry {
  startedAt: string;
  runs: number;
  dag: DagSnapshot;
  router: RouterSnapshot;
  usage?: UsageReport;
}

export interface PlanWorkflowInput {
  /** The compact form is what the API sends (it keeps big plans under the payload limit); both are accepted. */
  plan: PlanSpec | CompactPlan;
  /** Set by continue-as-new: where the previous run stopped. */
  carried?: PlanCarry;
  /** What the API stamps (complete); missing fields take the defaults. */
  settings?: Partial<ExecutionSettings>;
  /**
   * The id of the schedule that started this plan (docs/schedules.md). The plan's id is then its workflow id's
   * (`plan-<prefix>-<scheduled time>`: Temporal appends the time), not the template's, so every run has its own.
   */
  schedule?: string;
  /** A rerun (POST /v1/plans/:planId/rerun): the plan it was forked from and the completed tasks it reuses. */
  rerun?: RerunSeed;
}
