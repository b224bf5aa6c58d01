import type { PlanSpec, TaskSpec } from './plan';

/**
 * The plan as a workflow input: fields at their default are left out and the lists of eligible agent types are
 * shared, so a 10,000-task plan stays well under Temporal's 2 MB payload limit. `expandPlan` restores a PlanSpec.
 */
export interface CompactPlan {
  id: string;
  name?: string;
  mode: PlanSpec['mode'];
  failurePolicy: PlanSpec['failurePolicy'];
  maxConcurrency: number;
  budget?: PlanSpec['budget'];
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

const TASK_DEFAULTS = {
  capabilities: [] as string[],
  dependsOn: [] as string[],
  optional: false,
  priority: 0,
  maxReassignments: 2,
  requiresApproval: false,
  awaitInput: false,
  inputTimeoutSeconds: 3_600,
  onInputTimeout: 'fail',
  subtaskMode: 'parallel',
} as const;

const isDefault = (key: string, value: unknown): boolean => {
  const def = (TASK_DEFAULTS as Record<string, unknown>)[key];
  if (def === undefined) return value === undefined;
  return Array.isArray(def) ? Array.isArray(value) && value.length === 0 : value === def;
};

export function compactPlan(plan: PlanSpec): CompactPlan {
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
      if (!isDefault(key, value)) out[key] = value;
    }
    if (t.subtasks.length > 0) out.subtasks = t.subtasks.map(task);
    return out as CompactTask;
  };
  const { tasks, ...rest } = plan;
  return { ...rest, typeSets, tasks: tasks.map(task) };
}

export function expandPlan(plan: CompactPlan): PlanSpec {
  const task = (t: CompactTask): TaskSpec => {
    const { types, subtasks, ...fields } = t;
    return {
      ...TASK_DEFAULTS,
      capabilities: [],
      dependsOn: [],
      ...fields,
      eligibleTypes: plan.typeSets[types] ?? [t.agentType],
      subtasks: (subtasks ?? []).map(task),
    } as TaskSpec;
  };
  const { typeSets: _typeSets, tasks, ...rest } = plan;
  return { ...rest, tasks: tasks.map(task) };
}
