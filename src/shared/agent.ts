import { DEFAULT_TENANT } from './tenant';
import type { BlobRef } from './claim-check';
import type { TaskState } from './task';

/**
 * Agent instances: their lifecycle states, the instance as the pool keeps it, and what it remembers across reuse.
 * What an instance can do is its type's (src/shared/agent-type.ts).
 */

/** The states an agent instance goes through for one task; the task shows the same ones (src/shared/task.ts). */
export const LIFECYCLE_STEPS = ['assigned', 'reasoning', 'executing', 'validating', 'completed', 'failed'] as const;

/** Lifecycle states of an agent instance, exactly these words everywhere. */
export const AGENT_STATES = ['created', 'idle', ...LIFECYCLE_STEPS, 'terminated'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** Something an agent instance remembers from a task; carried across reuse. */
export interface MemoryEntry {
  at: string;
  planId: string;
  taskId: string;
  /** The tenant of the plan the note is from (absent: the default tenant): only that tenant's tasks recall it. */
  tenant?: string;
  note: string;
}

/** What an agent recalls for a task of `tenant`: only the notes of that tenant's tasks (docs/security.md, "Tenants"). */
export const recallFor = (entries: MemoryEntry[], tenant: string | undefined): MemoryEntry[] =>
  entries.filter((e) => (e.tenant ?? DEFAULT_TENANT) === (tenant ?? DEFAULT_TENANT));

/**
 * An instance's memory: its entries, or (once it has any) a claim check of them in the blob store, so the pool carries
 * about a hundred bytes per instance whatever the instance remembers. Activities resolve it; `count` says how many.
 */
export type Memory = MemoryEntry[] | (BlobRef & { count?: number });

/** The entries of a memory the activity has already resolved (a claim check has none to show). */
export const memoryEntries = (memory: Memory): MemoryEntry[] => (Array.isArray(memory) ? memory : []);

/** How many entries a memory holds, resolved or not. */
export const memorySize = (memory: Memory): number => (Array.isArray(memory) ? memory.length : (memory.count ?? 0));

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
  /** The tenant of the plan holding it while it is busy (the pool's fair share counts by it; never shown). */
  tenant?: string;
  requestId: string | null;
  tasksCompleted: number;
  failures: number;
  consecutiveFailures: number;
  createdAt: string;
  lastActiveAt: string;
  transitions: Transition[];
  memory: Memory;
}

const MAX_MEMORY = 10;
const MAX_NOTE = 200;

/** An instance's memory after it remembers `notes`: the newest ten, each cut to 200 characters. */
export function remember(memory: MemoryEntry[], notes: MemoryEntry[]): MemoryEntry[] {
  if (notes.length === 0) return memory;
  return [...memory, ...notes.map((n) => ({ ...n, note: n.note.slice(0, MAX_NOTE) }))].slice(-MAX_MEMORY);
}

/** An instance as the API shows it (GET /v1/agents): its memory as a count, without the pool's bookkeeping. */
export interface AgentView extends Omit<
  AgentInstance,
  'holder' | 'tenant' | 'requestId' | 'consecutiveFailures' | 'memory'
> {
  memory: number;
}
