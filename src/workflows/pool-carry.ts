import type { AgentInstance, Memory } from '../shared/agent';
import type { AgentState } from '../shared/agent';

/**
 * The pool's instances as it carries them across continue-as-new, packed so that MAX_AGENTS of 10,000 fits Temporal's
 * 2 MB payload limit (test/unit/pool-state.test.ts measures it): one row per instance, the long strings of busy ones (their
 * holder workflow and the request that granted them) in tables, memory as the key of its claim check, and only the
 * latest transition.
 */
export interface PackedInstances {
  holders: string[];
  requests: string[];
  rows: PackedRow[];
}

/** [id, type ('' when the id says it), state, tasksCompleted, failures, consecutiveFailures, createdAt ms,
 * lastActiveAt − createdAt ms, memory, busy, last transition [state, ms]]. */
type PackedRow = [
  string,
  string,
  AgentState,
  number,
  number,
  number,
  number,
  number,
  PackedMemory,
  PackedBusy,
  [AgentInstance['transitions'][number]['state'], number]?,
];
type PackedMemory = 0 | [string, number, number] | Memory;
/** [holder index, request index, grant suffix, planId (0 when the holder is `plan-<planId>`), taskId], or 0 if idle. */
type PackedBusy = [number, number, string, string | 0, string | null] | 0;

function packMemory(memory: Memory): PackedMemory {
  if (Array.isArray(memory)) return memory.length === 0 ? 0 : memory;
  return [memory.$blob.replace(/^sha256:/, ''), memory.bytes, memory.count ?? 0];
}

function unpackMemory(m: PackedMemory): Memory {
  if (m === 0) return [];
  if (Array.isArray(m) && typeof m[0] === 'string') {
    const [hex, bytes, count] = m as [string, number, number];
    return { $blob: `sha256:${hex}`, bytes, count };
  }
  return m as Memory;
}

/** The type an id `<type>-<n>` names. */
const typeOfId = (id: string): string => id.slice(0, id.lastIndexOf('-'));

export function packInstances(instances: Iterable<AgentInstance>): PackedInstances {
  const holders: string[] = [];
  const requests: string[] = [];
  const holderIdx = new Map<string, number>();
  const requestIdx = new Map<string, number>();
  const intern = (table: string[], index: Map<string, number>, s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = table.push(s) - 1;
      index.set(s, i);
    }
    return i;
  };
  const rows: PackedRow[] = [];
  for (const i of instances) {
    let busy: PackedBusy = 0;
    if (i.holder !== null && i.requestId !== null) {
      const hash = i.requestId.lastIndexOf('#');
      const base = hash < 0 ? i.requestId : i.requestId.slice(0, hash);
      busy = [
        intern(holders, holderIdx, i.holder),
        intern(requests, requestIdx, base),
        hash < 0 ? '' : i.requestId.slice(hash),
        i.holder === `plan-${i.planId}` ? 0 : (i.planId ?? ''),
        i.taskId,
      ];
    }
    const created = Date.parse(i.createdAt);
    const last = i.transitions.at(-1);
    rows.push([
      i.id,
      typeOfId(i.id) === i.type ? '' : i.type,
      i.state,
      i.tasksCompleted,
      i.failures,
      i.consecutiveFailures,
      created,
      Date.parse(i.lastActiveAt) - created,
      packMemory(i.memory),
      busy,
      ...(last ? [[last.state, Date.parse(last.at)] as [AgentState, number]] : []),
    ] as PackedRow);
  }
  return { holders, requests, rows };
}

export function unpackInstances(packed: PackedInstances): AgentInstance[] {
  return packed.rows.map((row) => {
    const [id, type, state, tasksCompleted, failures, consecutiveFailures, created, sinceCreated, memory, busy, last] =
      row;
    let holder: string | null = null;
    let requestId: string | null = null;
    let planId: string | null = null;
    let taskId: string | null = null;
    if (busy) {
      const [h, r, suffix, plan, task] = busy;
      holder = packed.holders[h] ?? null;
      requestId = `${packed.requests[r] ?? ''}${suffix}`;
      planId = plan === 0 ? (holder?.replace(/^plan-/, '') ?? null) : plan || null;
      taskId = task;
    }
    return {
      id,
      type: type || typeOfId(id),
      state,
      planId,
      taskId,
      holder,
      requestId,
      tasksCompleted,
      failures,
      consecutiveFailures,
      createdAt: new Date(created).toISOString(),
      lastActiveAt: new Date(created + sinceCreated).toISOString(),
      memory: unpackMemory(memory),
      transitions: last ? [{ state: last[0], at: new Date(last[1]).toISOString() }] : [],
    };
  });
}
