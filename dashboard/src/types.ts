/** The API's JSON, as the page reads it: the server's own types, so the two cannot drift apart. */
import type { Assignment, TaskError, TaskState, TaskView } from '../../src/shared/task';
import type { MailLogEntry } from '../../src/shared/agent-mail';
import type { PlanLinks, PlanProgress, PlanStatus, PlanSummary, PlanView } from '../../src/shared/plan';
import type { AgentState, AgentView } from '../../src/shared/agent';
import type { PoolAnswer } from '../../src/shared/pool';
import type { ScheduleRun, ScheduleSummary } from '../../src/shared/schedule';
import type { Usage, UsageReport } from '../../src/shared/usage';

export type {
  AgentState,
  AgentView,
  Assignment,
  MailLogEntry,
  PlanLinks,
  PlanProgress,
  PlanStatus,
  PlanSummary,
  PlanView,
  ScheduleRun,
  ScheduleSummary,
  TaskError,
  TaskState,
  TaskView,
  Usage,
  UsageReport,
};

/** GET /v1/agents (and the `snapshot` event of the pool's stream). */
export type PoolSnapshot = PoolAnswer;

/** An instance on the pool page: from the snapshot (every field), or from an `agent` event (these fields only). */
export type AgentRow = Pick<AgentView, 'id' | 'type' | 'state' | 'planId' | 'taskId'> & Partial<AgentView>;

/** Every plan status, for the filter (a value: the server's list lives beside a zod schema the page does not load). */
const STATUS_SET: Record<PlanStatus, true> = {
  running: true,
  completed: true,
  partial: true,
  failed: true,
  cancelled: true,
};
export const PLAN_STATUSES = Object.keys(STATUS_SET) as PlanStatus[];

/** GET /v1/plans/:planId (and the `snapshot` event of its stream). */
export type PlanStatusView = PlanView & { links?: PlanLinks };

/** GET /v1/plans/:planId/tasks/:taskId. */
export type TaskDetailView = TaskView & { path: string[]; output?: unknown };

/** GET /v1/plans/:planId/tasks/:taskId/spec: a task as its plan declares it (what a rerun's overrides start from). */
export interface TaskSpecView {
  planId: string;
  taskId: string;
  description?: string;
  input?: Record<string, unknown>;
}

/** POST /v1/plans/:planId/rerun: the new plan, the tasks that run again, and the reused ones with the plan that ran each. */
export interface RerunAnswer {
  planId: string;
  workflowId: string;
  status: PlanStatus;
  links: PlanLinks;
  rerunOf: string;
  runs: string[];
  reused: Record<string, string>;
}
