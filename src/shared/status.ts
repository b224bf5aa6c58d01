import type { FailurePolicy, PlanMode, PlanSpec, TaskSpec } from './plan';
import type { CompactPlan } from './plan-codec';
import { taskWorkflowId } from './ids';
import type { Usage, UsageReport } from './usage';
import type { LeasedAgent, Memory } from './pool';

/** Lifecycle states of an agent instance, exactly these words everywhere. */
export const AGENT_STATES = [
  'created',
  'idle',
  'assigned',
  'reasoning',
  'executing',
  'validating',
  'completed',
  'failed',
  'terminated',
] as const;
export type AgentState = (typeof AGENT_STATES)[number];

export const TASK_STATES = [
  'pending',
  'assigned',
  'reasoning',
  'executing',
  'validating',
  'completed',
  'failed',
  'skipped',
  'cancelled',
  'waiting',
] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const FINAL_TASK_STATES: readonly TaskState[] = ['completed', 'failed', 'skipped', 'cancelled'];

export const PLAN_STATUSES = ['running', 'completed', 'partial', 'failed', 'cancelled'] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

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

/** Execution settings stamped into a plan at submission, so a running plan keeps the settings it started with. */
export interface ExecutionSettings {
  agentTimeoutSeconds: number;
  heartbeatTimeoutSeconds: number;
  maxRetries: number;
  retryInitialIntervalMs: number;
  retryMaxIntervalMs: number;
  /** How deep sub-agents may nest (a top-level task is depth 0). */
  maxDepth: number;
  /** How many subtasks one coordinator may spawn. */
  maxFanOut: number;
  /** The plan workflow continues-as-new (after its running tasks finish) past this many history events. */
  planHistoryLimit: number;
  /** Workflow id of the agent pool that serves this plan. */
  poolId: string;
}

export const DEFAULT_SETTINGS: ExecutionSettings = {
  agentTimeoutSeconds: 300,
  heartbeatTimeoutSeconds: 30,
  maxRetries: 3,
  retryInitialIntervalMs: 1_000,
  retryMaxIntervalMs: 30_000,
  maxDepth: 5,
  maxFanOut: 100,
  planHistoryLimit: 8_000,
  poolId: 'agent-pool',
};

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
  /** Task workflows only: the lifecycle steps this task went through, with times. */
  transitions?: { state: TaskState; at: string; agentId?: string }[];
  /** Task workflows only, while the task is `waiting`: what it asks a human for. */
  input?: InputRequest;
}

/** What a task waiting for a human asks (POST /v1/plans/:planId/tasks/:taskId/input answers it). */
export interface InputRequest {
  /** `approval`: requiresApproval (answer approved true/false); `input`: awaitInput (answer with data). */
  kind: 'approval' | 'input';
  description?: string;
  since?: string;
  timeoutSeconds: number;
  onTimeout: 'fail' | 'skip' | 'default';
}

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
  /**
   * Plans with sub-agents: every task at every depth, by id (the API adds it from the plan's status and the sub-agents'
   * results): where it sits, its state, agent, error, usage and, when completed, its output.
   */
  tasks?: Record<string, unknown>;
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
  /**
   * Set when the task completed on the instance its plan (or coordinator) leased it and still holds it: the instance
   * goes back to the lease for the next task, remembering this one.
   */
  kept?: { memory?: Memory; usage?: Usage };
}

/** A message on the plan's bus: from an agent, or from outside through the API. */
export interface AgentMessage {
  /** De-duplication key: a second message with the same id is ignored. */
  id: string;
  from: string;
  /** A task id, an agent id, or "*" for every running agent of the plan. */
  to: string;
  body: unknown;
  sentAt: string;
}

export type DeliveryState = 'delivered' | 'pending' | 'undeliverable';

export interface MessageLogEntry extends AgentMessage {
  state: DeliveryState;
  /** Per recipient task (a broadcast has several). */
  deliveries: { taskId: string; state: DeliveryState; at?: string }[];
  reason?: string;
}

/** A human's answer to a task waiting in state `waiting`. */
export interface HumanInput {
  approved: boolean;
  data?: unknown;
}

export interface TaskWorkflowInput {
  planId: string;
  /** Messages that arrived before the task started. */
  inbox?: AgentMessage[];
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
}

/** A reference to a task's output kept in its task workflow's result (claim check), resolved by the API and activities. */
export interface TaskResultRef {
  $taskResult: string;
}

export const taskResultRef = (planId: string, taskId: string): TaskResultRef => ({
  $taskResult: taskWorkflowId(planId, taskId),
});

export const isTaskResultRef = (v: unknown): v is TaskResultRef =>
  typeof v === 'object' && v !== null && typeof (v as TaskResultRef).$taskResult === 'string';

export interface PlanCarry {
  startedAt: string;
  runs: number;
  dag: unknown;
  router: unknown;
  usage?: unknown;
}

export interface PlanWorkflowInput {
  /** The compact form is what the API sends (it keeps big plans under the payload limit); both are accepted. */
  plan: PlanSpec | CompactPlan;
  /** Set by continue-as-new: where the previous run stopped (opaque to callers). */
  carried?: PlanCarry;
  settings?: ExecutionSettings;
}
