import type { AgentType } from './registry';
import type { AgentState, TaskState } from './status';
import type { Usage } from './usage';

/** Something an agent instance remembers from a task; carried across reuse. */
export interface MemoryEntry {
  at: string;
  planId: string;
  taskId: string;
  note: string;
}

export interface Transition {
  state: AgentState | TaskState;
  at: string;
  taskId?: string;
  planId?: string;
}

/** One live agent instance as the pool keeps it. */
export interface AgentInstance {
  id: string;
  type: string;
  state: AgentState;
  planId: string | null;
  taskId: string | null;
  /** The task workflow holding this instance while it is busy. */
  holder: string | null;
  requestId: string | null;
  tasksCompleted: number;
  failures: number;
  consecutiveFailures: number;
  createdAt: string;
  lastActiveAt: string;
  transitions: Transition[];
  memory: MemoryEntry[];
}

/** A task workflow asking for an agent. */
export interface AcquireRequest {
  /** Unique per task workflow and assignment; makes the request idempotent. */
  requestId: string;
  holder: string;
  planId: string;
  taskId: string;
  priority: number;
  /** Eligible agent types, best fit first. */
  types: string[];
  /** Instances this task already failed on (reassignment goes to a different one). */
  exclude: string[];
  /** An instance to prefer when it is idle (a coordinator coming back to synthesize). */
  prefer?: string;
}

export interface Grant {
  requestId: string;
  /** The task workflow the grant goes to. */
  holder: string;
  agentId?: string;
  agentType?: string;
  memory?: MemoryEntry[];
  /** Set when the request can never be served (its agent type was removed). */
  error?: string;
}

export interface Release {
  requestId: string;
  agentId: string;
  /** `yielded`: handed back mid-task (a coordinator while its sub-agents work); nothing is counted. */
  outcome: 'completed' | 'failed' | 'cancelled' | 'yielded';
  note?: MemoryEntry;
  /** Tokens and cost the instance spent on this assignment (model agents), counted per agent type. */
  usage?: Usage;
}

export interface PoolSettings {
  maxAgents: number;
  /** An instance failing this many tasks in a row is quarantined (terminated). */
  quarantineAfter: number;
  /** How often busy instances are checked for a dead holder. */
  sweepIntervalSeconds: number;
  /** Continue-as-new after this many history events. */
  historyLimit: number;
}

export interface PoolView {
  maxAgents: number;
  active: number;
  busy: number;
  queued: number;
  /** Highest number of busy instances ever seen at once (since the pool started). */
  peakBusy: number;
  spawned: number;
  agents: AgentInstance[];
  queue: { requestId: string; planId: string; taskId: string; priority: number; types: string[] }[];
  recentlyTerminated: AgentInstance[];
  /** Tokens and cost of model calls by agent type, since the pool started. */
  usageByType: Record<string, Usage>;
}

export interface PoolSnapshot {
  settings: PoolSettings;
  types: AgentType[];
  instances: AgentInstance[];
  counters: Record<string, number>;
  queue: (AcquireRequest & { seq: number })[];
  seq: number;
  peakBusy: number;
  spawned: number;
  finishedRequests: string[];
  terminated: AgentInstance[];
  usageByType?: Record<string, Usage>;
}

export interface PoolInput {
  settings: PoolSettings;
  types: AgentType[];
  snapshot?: PoolSnapshot;
}

/** What a task workflow (or the worker at start-up) tells the pool; see poolSignalOf for the signal each one is. */
export type PoolMessage =
  | { kind: 'acquire'; request: AcquireRequest }
  | { kind: 'release'; release: Release }
  | { kind: 'cancel'; requestId: string }
  | { kind: 'configure'; input: PoolInput };
