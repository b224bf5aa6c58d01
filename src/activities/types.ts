import type { TaskSpec } from '../shared/plan';
import type { AgentMessage } from '../shared/status';

/** What every lifecycle step of one agent on one task is given. */
export interface StepContext {
  planId: string;
  taskId: string;
  workflowId: string;
  agentId: string;
  agentType: string;
  description?: string;
  input?: Record<string, unknown>;
  /** Outputs of the tasks this one depends on. */
  dependencies: Record<string, unknown>;
  /** 0 for the first agent given this task, 1 for the next after a reassignment, ... */
  assignment: number;
  depth: number;
  /** Messages received so far from other agents or from outside. */
  inbox: AgentMessage[];
  /** What this agent instance remembers from earlier tasks (kept by the pool, carried across reuse). */
  memory: MemoryEntry[];
}

export interface ExecuteContext extends StepContext {
  reasoning: string;
  /** What a human answered, for tasks that wait for approval or input. */
  humanInput?: unknown;
  subtaskOutputs?: Record<string, unknown>;
  subtaskErrors?: Record<string, unknown>;
}

export interface ValidateContext extends StepContext {
  output: unknown;
}

/** What a runtime call gets from the activity it runs in. */
export interface StepControl {
  /** 1 on the first try of this step, then 2, 3, ... on Temporal retries. */
  attempt: number;
  /** `<workflowId>/<activityId>`: the same on every retry of one step, so side effects can be de-duplicated. */
  idempotencyKey: string;
  heartbeat(details?: unknown): void;
  /** Sleeps, heartbeating; throws when the activity is cancelled. */
  sleep(ms: number): Promise<void>;
  cancellationSignal: AbortSignal;
  heartbeatTimeoutMs?: number;
}

/** A subtask as a runtime proposes it (dynamic decomposition): the plan's task shape. */
export type ProposedSubtask = Record<string, unknown>;

/** The AI Runtime: how an agent thinks. The offline runtime is the default; model-backed ones plug in here. */
export interface AiRuntime {
  reason(ctx: StepContext, control: StepControl): Promise<{ thoughts: string; subtasks?: ProposedSubtask[] }>;
  act(ctx: ExecuteContext, control: StepControl, env: { tools: ToolRunner; messenger: Messenger }): Promise<unknown>;
  validate(ctx: ValidateContext, control: StepControl): Promise<{ ok: true } | { ok: false; reason: string }>;
}

/** The Tool Runner: how an agent acts on the world. Calls carry the step's idempotency key. */
export interface ToolRunner {
  list(agentType: string): Promise<string[]>;
  call(name: string, args: unknown, options: { idempotencyKey: string; agentId: string }): Promise<unknown>;
}

export type { MemoryEntry } from '../shared/pool';
import type { MemoryEntry } from '../shared/pool';

/** How an agent sends a message on its plan's bus (the send-message tool of a runtime). */
export interface Messenger {
  send(planId: string, message: AgentMessage): Promise<void>;
}

export interface ReasonResult {
  thoughts: string;
  /** Validated subtasks for dynamic decomposition, ids prefixed with the parent task's id. */
  subtasks?: TaskSpec[];
  attempt: number;
}

export interface StepResult<T> {
  output: T;
  attempt: number;
}

/** The activities a task workflow schedules. */
export interface AgentActivities {
  reason(ctx: StepContext): Promise<ReasonResult>;
  execute(ctx: ExecuteContext): Promise<StepResult<unknown>>;
  validate(ctx: ValidateContext): Promise<StepResult<true>>;
}
