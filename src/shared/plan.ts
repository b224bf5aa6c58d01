import { z } from 'zod';
import { eligibleAgentTypes, matchAgentType, type Registry } from './registry';
import { Simulate } from './simulate';

/** Ids go into workflow ids (`plan-<planId>-task-<taskId>`), so they are kept to a safe alphabet. */
const Id = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/,
    'letters, digits, "_", ".", ":" or "-", at most 100, not starting with a symbol',
  );

export const TaskInput = z.object({
  id: Id,
  description: z.string().max(20_000).optional(),
  capabilities: z.array(z.string().min(1).max(100)).max(50).default([]),
  agentType: z.string().min(1).optional(),
  dependsOn: z.array(Id).max(1_000).default([]),
  input: z.record(z.string(), z.unknown()).optional(),
  optional: z.boolean().default(false),
  priority: z.number().int().min(-1_000).max(1_000).default(0),
  timeoutSeconds: z.number().int().min(1).max(86_400).optional(),
  maxRetries: z.number().int().min(0).max(100).optional(),
  maxReassignments: z.number().int().min(0).max(20).default(2),
  fallbackAgentType: z.string().min(1).optional(),
  requiresApproval: z.boolean().default(false),
  awaitInput: z.boolean().default(false),
  inputTimeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 86_400)
    .default(3_600),
  onInputTimeout: z.enum(['fail', 'skip', 'default']).default('fail'),
  defaultInput: z.unknown().optional(),
  subtaskMode: z.enum(['parallel', 'sequential']).default('parallel'),
  get subtasks(): z.ZodDefault<z.ZodArray<typeof TaskInput>> {
    return z.array(TaskInput).max(1_000).default([]);
  },
});
export type TaskInput = z.input<typeof TaskInput>;

export const PlanMode = z.enum(['parallel', 'sequential', 'hierarchical', 'dag']);
export type PlanMode = z.infer<typeof PlanMode>;
export const FailurePolicy = z.enum(['fail-fast', 'continue']);
export type FailurePolicy = z.infer<typeof FailurePolicy>;

export const PlanInput = z.object({
  // "-task-" would let a plan id collide with another plan's task workflow ids (plan-<planId>-task-<taskId>).
  id: Id.refine((id) => !id.includes('-task-'), 'a plan id may not contain "-task-"').optional(),
  name: z.string().max(200).optional(),
  mode: PlanMode.default('dag'),
  failurePolicy: FailurePolicy.default('fail-fast'),
  maxConcurrency: z.number().int().min(1).max(1_000).default(10),
  tasks: z.array(TaskInput).min(1, 'a plan needs at least one task'),
  budget: z
    .object({ maxTokens: z.number().int().min(1).optional(), maxCostUsd: z.number().positive().optional() })
    .optional(),
});
export type PlanInput = z.input<typeof PlanInput>;
type ParsedTask = z.output<typeof TaskInput>;
type ParsedPlan = z.output<typeof PlanInput>;

/** A task after validation: dependencies made explicit and its agent type resolved. */
export interface TaskSpec {
  id: string;
  description?: string;
  capabilities: string[];
  agentType: string;
  /** Every agent type that can do the task, best fit first (the pool spreads work over them). */
  eligibleTypes: string[];
  dependsOn: string[];
  input?: Record<string, unknown>;
  optional: boolean;
  priority: number;
  timeoutSeconds?: number;
  maxRetries?: number;
  maxReassignments: number;
  fallbackAgentType?: string;
  requiresApproval: boolean;
  awaitInput: boolean;
  inputTimeoutSeconds: number;
  /** What a waiting task does when no input arrives in time. */
  onInputTimeout: 'fail' | 'skip' | 'default';
  defaultInput?: unknown;
  /** How a coordinator runs its sub-agents: all at once (subject to dependsOn) or one after another. */
  subtaskMode: 'parallel' | 'sequential';
  subtasks: TaskSpec[];
}

/** What a plan workflow is started with. */
export interface PlanSpec {
  id: string;
  name?: string;
  mode: PlanMode;
  failurePolicy: FailurePolicy;
  maxConcurrency: number;
  tasks: TaskSpec[];
  budget?: { maxTokens?: number; maxCostUsd?: number };
}

export interface ValidationIssue {
  path: string;
  message: string;
}

export type PlanCheck = { ok: true; plan: PlanSpec } | { ok: false; issues: ValidationIssue[] };

export interface PlanLimits {
  maxTasks: number;
}

function zodPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/** Finds one dependency cycle among sibling tasks and returns the ids on it, in order, or null. */
export function findCycle(tasks: { id: string; dependsOn: string[] }[]): string[] | null {
  const deps = new Map(tasks.map((t) => [t.id, t.dependsOn]));
  const color = new Map<string, 1 | 2>(); // 1 = on the stack, 2 = done
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    color.set(id, 1);
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      if (!deps.has(dep)) continue;
      const c = color.get(dep);
      if (c === 1) return [...stack.slice(stack.indexOf(dep)), dep];
      if (c === undefined) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    color.set(id, 2);
    return null;
  };
  for (const t of tasks) {
    if (color.has(t.id)) continue;
    const found = visit(t.id);
    if (found) return found;
  }
  return null;
}

/**
 * Parses and checks a submitted plan: shape, unique ids, dependencies, cycles, capabilities.
 * Returns the normalized plan (mode applied as dependencies, agent types resolved) or every problem found.
 */
export function checkPlan(body: unknown, registry: Registry, limits: PlanLimits, defaultId: () => string): PlanCheck {
  const parsed = PlanInput.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((i) => ({ path: zodPath(i.path), message: i.message })),
    };
  }
  const input: ParsedPlan = parsed.data;
  const issues: ValidationIssue[] = [];
  const seen = new Map<string, string>();
  let count = 0;

  const resolveLevel = (tasks: ParsedTask[], prefix: string): TaskSpec[] => {
    const ids = new Set(tasks.map((t) => t.id));
    const specs = tasks.map((t, i): TaskSpec => {
      const path = `${prefix}[${i}]`;
      count++;
      const earlier = seen.get(t.id);
      if (earlier !== undefined)
        issues.push({ path: `${path}.id`, message: `duplicate task id "${t.id}" (also at ${earlier})` });
      else seen.set(t.id, path);
      if (t.description === undefined && t.input === undefined) {
        issues.push({ path, message: `task "${t.id}" needs a description or an input` });
      }
      if (t.input?.simulate !== undefined) {
        const sim = Simulate.safeParse(t.input.simulate);
        for (const issue of sim.success ? [] : sim.error.issues)
          issues.push({ path: [`${path}.input.simulate`, ...issue.path].join('.'), message: issue.message });
      }
      t.dependsOn.forEach((dep, j) => {
        if (!ids.has(dep)) {
          issues.push({
            path: `${path}.dependsOn[${j}]`,
            message: `task "${t.id}" depends on unknown task "${dep}"${prefix === 'tasks' ? '' : ' (dependencies are between siblings)'}`,
          });
        } else if (dep === t.id) {
          issues.push({ path: `${path}.dependsOn[${j}]`, message: `task "${t.id}" depends on itself` });
        }
      });
      if (input.mode === 'parallel' && t.dependsOn.length > 0 && prefix === 'tasks') {
        issues.push({ path: `${path}.dependsOn`, message: 'mode "parallel" takes no dependsOn; use mode "dag"' });
      }
      // A task with subtasks is a coordinator's job unless it says otherwise.
      const wanted =
        t.subtasks.length > 0 && t.capabilities.length === 0 && !t.agentType ? ['coordination'] : t.capabilities;
      const match = matchAgentType(registry, wanted, t.agentType);
      if (!match.ok)
        issues.push({
          path: t.agentType ? `${path}.agentType` : `${path}.capabilities`,
          message: `task "${t.id}": ${match.message}`,
        });
      if (t.fallbackAgentType !== undefined && !registry.agentTypes.some((a) => a.name === t.fallbackAgentType)) {
        issues.push({
          path: `${path}.fallbackAgentType`,
          message: `task "${t.id}": unknown agent type "${t.fallbackAgentType}"`,
        });
      }
      return {
        id: t.id,
        description: t.description,
        capabilities: t.capabilities,
        agentType: match.ok ? match.agentType : '',
        eligibleTypes: match.ok ? eligibleAgentTypes(registry, wanted, t.agentType) : [],
        dependsOn: [...new Set(t.dependsOn)],
        input: t.input,
        optional: t.optional,
        priority: t.priority,
        timeoutSeconds: t.timeoutSeconds,
        maxRetries: t.maxRetries,
        maxReassignments: t.maxReassignments,
        fallbackAgentType: t.fallbackAgentType,
        requiresApproval: t.requiresApproval,
        awaitInput: t.awaitInput,
        inputTimeoutSeconds: t.inputTimeoutSeconds,
        onInputTimeout: t.onInputTimeout,
        defaultInput: t.defaultInput,
        subtaskMode: t.subtaskMode,
        subtasks: resolveLevel(t.subtasks, `${path}.subtasks`),
      };
    });
    const cycle = findCycle(specs);
    if (cycle) issues.push({ path: prefix, message: `dependency cycle: ${cycle.join(' -> ')}` });
    return specs;
  };

  const tasks = resolveLevel(input.tasks, 'tasks');
  if (input.mode === 'sequential') {
    tasks.forEach((t, i) => {
      const prev = tasks[i - 1];
      if (prev && !t.dependsOn.includes(prev.id)) t.dependsOn.push(prev.id);
    });
    const cycle = issues.some((i) => i.message.startsWith('dependency cycle')) ? null : findCycle(tasks);
    if (cycle)
      issues.push({ path: 'tasks', message: `dependency cycle (with sequential order): ${cycle.join(' -> ')}` });
  }
  if (count > limits.maxTasks)
    issues.push({ path: 'tasks', message: `a plan may have at most ${limits.maxTasks} tasks (this one has ${count})` });
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    plan: {
      id: input.id ?? defaultId(),
      name: input.name,
      mode: input.mode,
      failurePolicy: input.failurePolicy,
      maxConcurrency: input.maxConcurrency,
      tasks,
      budget: input.budget,
    },
  };
}

/** Every task of the tree, depth first. */
export function allTasks(tasks: TaskSpec[]): TaskSpec[] {
  return tasks.flatMap((t) => [t, ...allTasks(t.subtasks)]);
}
