import type { TaskSpec } from '../shared/task';
import type { BlobRef } from '../shared/claim-check';
import type { AgentMail } from '../shared/agent-mail';
import type { Usage } from '../shared/usage';

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
  /**
   * The plan's tenant (absent in plans from before tenants: the default): whose outputs references may read, and
   * which of the agent's memories it recalls.
   */
  tenant?: string;
  /** 0 for the first agent given this task, 1 for the next after a reassignment, ... */
  assignment: number;
  depth: number;
  /** Messages received so far from other agents or from outside. */
  inbox: AgentMail[];
  /**
   * What this agent instance remembers from earlier tasks (kept by the pool, carried across reuse): a claim check in
   * workflow history, the entries by the time a runtime sees it (see memoryEntries).
   */
  memory: Memory;
  /** The task's output contract: the JSON Schema its output must meet (docs/plans.md, "Validation"). */
  contract?: { schema: Record<string, unknown> };
  /** What an acceptable output is, in words. */
  acceptance?: string;
  /** Why the reasoning's delegation was refused (no subtasks where delegation is required, or subtasks that do not check). */
  delegationFeedback?: string[];
  /**
   * The task runs inline and its plan keeps its output: an output bigger than this (as JSON) goes to the blob store
   * whatever BLOB_THRESHOLD_BYTES says, so the plan holds a reference.
   */
  keepOutputUnder?: number;
}

/** The agent's last output was rejected: what it answered and why, for it to do better. */
export interface RevisionRequest {
  /** 2 for the first revision, 3 for the next, … */
  round: number;
  output: unknown;
  reasons: string[];
}

/** A remote A2A agent's task (runtime provider `a2a`, docs/a2a.md). */
export interface RemoteTaskRef {
  taskId: string;
  contextId: string;
}

/** The remote agent asked for input (its task is input-required): the task waits for a human, whose answer goes back. */
export interface RemoteQuestion {
  task: RemoteTaskRef;
  /** What it asks, in words (its status message). */
  question?: string;
  /** Which status asked it (its time and message id): after the answer, that status is stale, not a new question. */
  askedIn?: string;
}

export interface ExecuteContext extends StepContext {
  reasoning: string;
  /** Set after a remote agent's question: its task, and the human's answer to send it. */
  remote?: { task: RemoteTaskRef; answer: unknown; askedIn?: string };
  /** What a human answered, for tasks that wait for approval or input. */
  humanInput?: unknown;
  subtaskOutputs?: Record<string, unknown>;
  subtaskErrors?: Record<string, unknown>;
  /** Set from the second turn of a model agent's loop on: the conversation so far and the tool results to add. */
  loop?: LoopState;
  /** Set when the output of the round before was rejected. */
  revision?: RevisionRequest;
}

/** A tool call the model asked for, run by the task workflow as an activity of its own. */
export interface ToolCallRequest {
  toolCallId: string;
  toolName: string;
  input: unknown;
}

export interface ToolCallResult {
  toolCallId: string;
  toolName: string;
  /** What the tool returned (a claim check when large); for a failed call, the error message. */
  output: unknown;
  isError: boolean;
}

export interface LoopState {
  /** The model messages so far (a claim check when large). */
  conversation: unknown[] | BlobRef;
  results: ToolCallResult[];
  /** How many model turns came before this one. */
  step: number;
  /** How many inbox messages the model has seen; later ones join the conversation at the next turn. */
  inboxSeen?: number;
}

/** One turn of an agent loop: the final output, or tool calls to run before the next turn. */
export type Turn =
  | { output: unknown; usage?: Usage; summary?: string }
  | { inputRequired: RemoteQuestion }
  | { toolCalls: ToolCallRequest[]; conversation: unknown[] | BlobRef; usage?: Usage; inboxSeen?: number };

/** A tool as offered to a model. */
export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the tool's arguments. */
  inputSchema: Record<string, unknown>;
}

export interface ToolCallOptions {
  /** `<workflowId>/<activityId>`: the same on every retry of one call, so the tool can de-duplicate. */
  idempotencyKey: string;
  agentId: string;
  agentType?: string;
  planId?: string;
  taskId?: string;
  /** Aborted when the activity running the call is cancelled. */
  signal?: AbortSignal;
  /** How long the call may take (the activity's start-to-close timeout). */
  timeoutMs?: number;
}

export interface ValidateContext extends StepContext {
  output: unknown;
  /** The agent's one-line summary of its answer, for its memory. */
  summary?: string;
}

/** What the validate step found: accepted (the output as parsed, the agent's memory of the task) or why not. */
export interface Validated extends StepResult<true> {
  /** Absent in results recorded before output contracts: those were accepted (a rejection threw). */
  accepted?: boolean;
  /** Why the output does not meet the contract (rejected only). */
  reasons?: string[];
  /** The output as the contract reads it (parsed JSON), when the task has one. */
  parsed?: unknown;
  /** The agent's memory with this task added (accepted only). */
  memory?: Memory;
}

/** What a reviewer is given: the task, its acceptance criteria and contract, and the output to judge. */
export interface ReviewContext extends StepContext {
  output: unknown;
  /** 1 for the first output, 2 for the first revision, … */
  round: number;
}

/** A reviewer's verdict on an output. */
export interface Verdict {
  accepted: boolean;
  reasons: string[];
  usage?: Usage;
  attempt: number;
  /** The reviewer's memory with this review added. */
  memory?: Memory;
}

/** What a runtime call gets from the activity it runs in. */
export interface StepControl {
  /** 1 on the first try of this step, then 2, 3, ... on Temporal retries. */
  attempt: number;
  /** `<workflowId>/<activityId>`: the same on every retry of one step, so side effects can be de-duplicated. */
  idempotencyKey: string;
  /** `details` go with this beat and the later ones (a streaming call's text so far); `null` stops sending them. */
  heartbeat(details?: unknown): void;
  /** Later beats carry no details (sends nothing by itself). */
  clearDetails(): void;
  /** Sleeps, heartbeating; throws when the activity is cancelled. */
  sleep(ms: number): Promise<void>;
  /**
   * Runs `fn`, heartbeating while it waits (no heartbeat up front: most calls finish at once, and a heartbeat is a
   * write on the server), so a live step doing slow I/O is not timed out and retried.
   */
  keepAlive<T>(fn: () => Promise<T>): Promise<T>;
  cancellationSignal: AbortSignal;
  /** The details the previous attempt of this step heartbeated last (a retried step resumes from them). */
  lastDetails?: unknown;
  heartbeatTimeoutMs?: number;
  startToCloseTimeoutMs?: number;
}

/** A subtask as a runtime proposes it (dynamic decomposition): the plan's task shape. */
export type ProposedSubtask = Record<string, unknown>;

/**
 * The AI Runtime: how an agent thinks. The offline runtime is the default. A runtime answers in one `act`, or in
 * `turn`s (model agents): each turn is one activity, and tool calls between turns are activities of their own.
 */
export interface AiRuntime {
  reason(
    ctx: StepContext,
    control: StepControl,
  ): Promise<{ thoughts: string; subtasks?: ProposedSubtask[]; usage?: Usage; delegationRequired?: boolean }>;
  act?(ctx: ExecuteContext, control: StepControl, env: { tools: ToolRunner; messenger: Messenger }): Promise<unknown>;
  turn?(ctx: ExecuteContext, control: StepControl): Promise<Turn>;
  validate(ctx: ValidateContext, control: StepControl): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** As a reviewer: judges another agent's output against the task's acceptance criteria. */
  review(ctx: ReviewContext, control: StepControl): Promise<{ accepted: boolean; reasons: string[]; usage?: Usage }>;
}

/** The Tool Runner: how an agent acts on the world. Calls carry the step's idempotency key. */
export interface ToolRunner {
  list(agentType: string): Promise<ToolDefinition[]>;
  call(name: string, args: unknown, options: ToolCallOptions): Promise<unknown>;
}

export type { MemoryEntry } from '../shared/agent';
import type { Memory } from '../shared/agent';

/** How an agent sends a message on its plan's bus (the send-message tool of a runtime). */
export interface Messenger {
  send(planId: string, message: AgentMail): Promise<void>;
}

export interface ReasonResult {
  thoughts: string;
  usage?: Usage;
  /** Validated subtasks for dynamic decomposition, ids prefixed with the parent task's id. */
  subtasks?: TaskSpec[];
  attempt: number;
}

export interface StepResult<T> {
  output: T;
  attempt: number;
}

/** What one execute activity returns: the output, or (model agents) tool calls to run before the next turn. */
export interface ExecuteResult extends StepResult<unknown> {
  toolCalls?: ToolCallRequest[];
  conversation?: unknown[] | BlobRef;
  usage?: Usage;
  inboxSeen?: number;
  /** A line for the agent's memory. */
  summary?: string;
  /** A remote A2A agent asks for input: the task waits for a human, then executes again with the answer. */
  inputRequired?: RemoteQuestion;
}

export interface CallToolInput {
  planId: string;
  taskId: string;
  agentId: string;
  agentType: string;
  call: ToolCallRequest;
}

/** What the fused lifecycle step did: as far as it got, with when each state began. */
export interface LifecycleResult {
  reasoning: ReasonResult;
  /** Absent when reasoning returned subtasks or execution asked for tool calls: the task goes on step by step. */
  executed?: ExecuteResult;
  validated?: boolean;
  /** The agent's memory with this task added (when validated). */
  memory?: Memory;
  phases: { state: 'reasoning' | 'executing' | 'validating'; at: string }[];
  attempt: number;
}

/** The activities a task workflow schedules. */
export interface AgentActivities {
  reason(ctx: StepContext): Promise<ReasonResult>;
  execute(ctx: ExecuteContext): Promise<ExecuteResult>;
  /**
   * Validates the output: the runtime's own check (a rejection fails the step), then the task's contract (a rejection
   * is a verdict, for a revision). Accepted, it also writes the agent's memory of the task, returned as `memory`.
   */
  validate(ctx: ValidateContext): Promise<Validated>;
  /** A reviewer's verdict on the output (the task's `review`): run on the reviewer's instance. */
  review(ctx: ReviewContext): Promise<Verdict>;
  /**
   * reason → execute → validate in one activity, for short steps (an offline agent): one retry policy for the three,
   * one marker in history instead of three, one workflow activation instead of three.
   */
  lifecycle(ctx: StepContext): Promise<LifecycleResult>;
  callTool(input: CallToolInput): Promise<ToolCallResult>;
}
