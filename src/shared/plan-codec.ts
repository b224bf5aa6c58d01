import type { PlanSpec } from './plan';
import type { TASK_DEFAULTS, TaskSpec } from './task';

/** The fields a task leaves out when they are at their default (src/shared/task.ts `TASK_DEFAULTS`). */
export type TaskDefaults = typeof TASK_DEFAULTS;

/**
 * The plan as a workflow input: fields at their default are left out and the lists of eligible agent types are
 * shared, so a 10,000-task plan stays well under Temporal's 2 MB payload limit. `expandPlan` restores a PlanSpec.
 * The defaults travel with the plan, so the workflow fills them in without loading the schema (src/workflows/lazy-schemas.ts).
 */
export interface CompactPlan {
  id: string;
  name?: string;
  mode: PlanSpec['mode'];
  failurePolicy: PlanSpec['failurePolicy'];
  maxConcurrency: number;
  budget?: PlanSpec['budget'];
  /** The task defaults the tasks were compacted against; absent in plans compacted before they travelled along. */
  defaults?: Partial<TaskDefaults>;
  /** Distinct eligible-type lists, referenced by index from the tasks. */
  typeSets: string[][];
  tasks: CompactTask[];
}

export type CompactTask = Partial<Omit<TaskSpec, 'eligibleTypes' | 'subtasks'>> & {
  id: string;
  agentType: string;
  types: number;
  subtasks?: CompactTask[];
};

const isDefault = (defaults: Partial<TaskDefaults>, key: string, value: unknown): boolean => {
  const def = (defaults as Record<string, unknown>)[key];
  if (def === undefined) return value === undefined;
  return Array.isArray(def) ? Array.isArray(value) && value.length === 0 && def.length === 0 : value === def;
};

export function compactPlan(plan: PlanSpec, defaults: TaskDefaults): CompactPlan {
  const typeSets: string[][] = [];
  const index = new Map<string, number>();
  const typeSet = (types: string[]): number => {
    const key = types.join('\u0000');
    let i = index.get(key);
    if (i === undefined) {
      i = typeSets.push(types) - 1;
      index.set(key, i);
    }
    return i;
  };
  const task = (t: TaskSpec): CompactTask => {
    const out: Record<string, unknown> = { id: t.id, agentType: t.agentType, types: typeSet(t.eligibleTypes) };
    for (const [key, value] of Object.entries(t)) {
      if (key === 'id' || key === 'agentType' || key === 'eligibleTypes' || key === 'subtasks') continue;
      if (!isDefault(defaults, key, value)) out[key] = value;
    }
    if (t.subtasks.length > 0) out.subtasks = t.subtasks.map(task);
    return out as CompactTask;
  };
  const { tasks, ...rest } = plan;
  return { ...rest, defaults, typeSets, tasks: tasks.map(task) };
}

/** The PlanSpec again; `fallback` gives the defaults of a plan compacted before they travelled with it. */
export function expandPlan(plan: CompactPlan, fallback: () => Partial<TaskDefaults>): PlanSpec {
  const defaults = plan.defaults ?? fallback();
  const task = (t: CompactTask): TaskSpec => {
    const { types, subtasks, ...fields } = t;
    return {
      ...defaults,
      capabilities: [],
      dependsOn: [],
      ...fields,
      eligibleTypes: plan.typeSets[types] ?? [t.agentType],
      subtasks: (subtasks ?? []).map(task),
    } as TaskSpec;
  };
  const { typeSets: _typeSets, defaults: _defaults, tasks, ...rest } = plan;
  return { ...rest, tasks: tasks.map(task) };
}
