import type { AgentInstance, AgentView, Memory, MemoryEntry } from './agent';
import type { AgentType } from './agent-type';
import type { PoolSettings } from './settings';
import type { Usage } from './usage';
import type { PackedInstances } from '../workflows/pool-carry';

/** The agent pool's protocol: what task workflows, plans and the worker ask of it, what it grants, what it shows. */

/** A task workflow asking for an agent. */
export interface AcquireRequest {
  /** Unique per task workflow and assignment; makes the request idempotent. */
  requestId: string;
  holder: string;
  planId: string;
  taskId: string;
  priority: number;
  /** The plan's tenant (absent: the default): with fair share on, tenants' requests are served in turn. */
  tenant?: string;
  /** Eligible agent types, best fit first. */
  types: string[];
  /** Instances this task already failed on (reassignment goes to a different one). */
  exclude: string[];
  /** An instance to prefer when it is idle (a coordinator coming back to synthesize). */
  prefer?: string;
  /**
   * How many instances the holder wants (a lease: a plan or coordinator asking for agents for its ready tasks, which
   * it then assigns itself). Default 1. Served as instances free up; each granted instance gets its own grant id.
   */
  count?: number;
}

export interface Grant {
  /** The request's id for a single-instance request; `<requestId>#<n>` for the n-th instance of a lease. */
  requestId: string;
  /** The task workflow the grant goes to. */
  holder: string;
  agentId?: string;
  agentType?: string;
  memory?: Memory;
  /** The type runs offline (no model): its steps are short and run as local activities. */
  offline?: boolean;
  /** Set when the request can never be served (its agent type was removed). */
  error?: string;
}

export interface Release {
  requestId: string;
  agentId: string;
  /** `yielded`: handed back mid-task (a coordinator while its sub-agents work); nothing is counted. */
  outcome: 'completed' | 'failed' | 'cancelled' | 'yielded';
  /** Its memory after this assignment (when the task completed), replacing what the pool had. */
  memory?: Memory;
  /** Before memory was claim-checked (pool histories of then): a note to add. */
  note?: MemoryEntry;
  /** Tokens and cost the instance spent on this assignment (model agents), counted per agent type. */
  usage?: Usage;
  /** A lease handing its instance back: how many tasks it completed while leased (`outcome` is the last one's). */
  completed?: number;
}

/** An instance a task starts with, handed over by its plan (or coordinator) from the lease. */
export interface LeasedAgent {
  agentId: string;
  agentType: string;
  /** The pool's id for this grant: a task that gives the instance back itself releases it under this id. */
  grantId: string;
  memory: Memory;
  /** The type runs offline: its steps are short (local activities). */
  offline: boolean;
  /**
   * What it did for earlier tasks of this lease, not yet reported to the pool: a task that hands the instance back
   * itself reports it with its release.
   */
  prior?: LeaseWork;
}

/** Work done on a leased instance since it was leased: counted by the pool when the instance goes back. */
export interface LeaseWork {
  completed: number;
  usage?: Usage;
}

/** The instances a plan (or coordinator) holds on lease, and the task each is working on. */
export type LeaseView = { agentId: string; agentType: string; taskId?: string; served: string[] }[];

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
  /** The latest agent types the pool refused, with why (the worker's policy, docs/security.md); newest last. */
  refusedTypes?: RefusedAgentType[];
}

/** What GET /v1/agents answers: the pool's counts, and each instance with its live lifecycle step. */
export interface PoolAnswer extends Pick<
  PoolView,
  'maxAgents' | 'active' | 'queued' | 'busy' | 'peakBusy' | 'refusedTypes'
> {
  agents: AgentView[];
  usageByType: Record<string, Usage>;
}

/** An agent type the pool did not take: the worker's policy (or the schema) refused it. */
export interface RefusedAgentType {
  name: string;
  reason: string;
  /** When it was refused (ISO-8601); set by the pool. */
  at?: string;
}

/** The pool's check of agent types that reached it (the vetAgentTypes local activity). */
export interface AgentTypeVerdict {
  accepted: AgentType[];
  refused: RefusedAgentType[];
}

export interface PoolSnapshot {
  settings: PoolSettings;
  types: AgentType[];
  /** Instances as pools carried them before packing (old histories); today's pools carry `packed`. */
  instances?: AgentInstance[];
  /** Instances packed small (see workflows/pool-carry.ts), so 10,000 of them fit one payload. */
  packed?: PackedInstances;
  counters: Record<string, number>;
  queue: (AcquireRequest & { seq: number })[];
  seq: number;
  peakBusy: number;
  spawned: number;
  finishedRequests: string[];
  terminated: AgentInstance[];
  usageByType?: Record<string, Usage>;
  /** The latest agent types the pool refused (vetAgentTypes), newest last. */
  refusedTypes?: RefusedAgentType[];
  /** The names of the types the latest configurePool signal carried (a worker's registry file), taken or refused. */
  applied?: string[];
}

export interface PoolInput {
  settings: PoolSettings;
  types: AgentType[];
  snapshot?: PoolSnapshot;
}

/** What a task workflow, a plan (or the worker at start-up) asks of the pool; poolSignalOf names the signal for each. */
export type PoolRequest =
  | { kind: 'acquire'; request: AcquireRequest }
  | { kind: 'release'; release: Release }
  /** `onlyQueued`: a lease withdraws the part of its request not yet granted, keeping what it was given. */
  | { kind: 'cancel'; requestId: string; onlyQueued?: boolean }
  | { kind: 'configure'; input: PoolInput };
