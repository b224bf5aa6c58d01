/** The API's JSON, as the page reads it: the server's own types, so the two cannot drift apart. */
import type { Assignment, TaskError, TaskState, TaskView } from '../../src/shared/task';
import type { MailLogEntry } from '../../src/shared/agent-mail';
import type { PlanProgress, PlanStatus, PlanView } from '../../src/shared/plan';
import type { AgentState } from '../../src/shared/agent';
import type { Usage, UsageReport } from '../../src/shared/usage';

export type {
  AgentState,
  Assignment,
  MailLogEntry,
  PlanProgress,
  PlanStatus,
  PlanView,
  TaskError,
  TaskState,
  TaskView,
  Usage,
  UsageReport,
};

export const PLAN_STATUSES: readonly PlanStatus[] = ['running', 'completed', 'partial', 'failed', 'cancelled'];

export interface PlanLinks {
  self: string;
  result: string;
  /** The plan's workflow in the Temporal Web UI (absent when its address is unknown). */
  ui?: string;
}

/** GET /v1/plans/:planId (and the `snapshot` event of its stream). */
export type PlanStatusView = PlanView & { links?: PlanLinks };

/** GET /v1/plans: one row. */
export interface PlanSummary {
  planId: string;
  workflowId: string;
  name?: string;
  status: PlanStatus;
  startedAt: string;
  closedAt: string | null;
}

/** GET /v1/plans/:planId/tasks/:taskId. */
export type TaskDetailView = TaskView & { path: string[]; output?: unknown };

/** One agent instance of GET /v1/agents. */
export interface AgentView {
  id: string;
  type: string;
  state: AgentState | string;
  planId: string | null;
  taskId: string | null;
  tasksCompleted?: number;
  failures?: number;
  createdAt?: string;
  lastActiveAt?: string;
}

/** GET /v1/agents (and the `snapshot` event of the pool's stream). */
export interface PoolSnapshot {
  maxAgents: number;
  active?: number;
  queued: number;
  busy: number;
  peakBusy?: number;
  agents: AgentView[];
  usageByType?: Record<string, Usage>;
}
