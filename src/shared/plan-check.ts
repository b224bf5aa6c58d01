import { PlanInput, type PlanSpec } from './plan';
import { eligibleAgentTypes, matchAgentType, type Registry } from './registry';
import { Simulate } from './simulate';
import type { TaskSpec } from './task';
import { schemaProblems } from './output-contract';
import { bracketPath } from './zod-issues';

export interface ValidationIssue {
  path: string;
  message: string;
}

export type PlanCheck = { ok: true; plan: PlanSpec } | { ok: false; issues: ValidationIssue[] };

export interface PlanLimits {
  maxTasks: number;
  /** Whether tasks may carry `simulate` directives (ALLOW_SIMULATE: a development aid, off in production). */
  allowSimulate?: boolean;
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
      issues: parsed.error.issues.map((i) => ({ path: bracketPath(i.path), message: i.message })),
    };
  }
  const input = parsed.data;
  const issues: ValidationIssue[] = [];
  const seen = new Map<string, string>();
  let count = 0;

  /** A task's reviewer with the types that may review; an unknown type or capability is an issue. */
  const reviewerOf = (
    review: NonNullable<(typeof input)['tasks'][number]['review']>,
    taskId: string,
    path: string,
  ): TaskSpec['review'] => {
    const match = matchAgentType(registry, review.capabilities, review.agentType);
    if (!match.ok) {
      issues.push({
        path: review.agentType ? `${path}.agentType` : `${path}.capabilities`,
        message: `task "${taskId}": its reviewer: ${match.message}`,
      });
      return { ...review, types: [] };
    }
    return { ...review, types: eligibleAgentTypes(registry, review.capabilities, review.agentType) };
  };

  const resolveLevel = (tasks: (typeof input)['tasks'], prefix: string): TaskSpec[] => {
    const ids = new Set(tasks.map((t) => t.id));
    const specs = tasks.map(({ subtasks, review: reviewIn, ...t }, i): TaskSpec => {
      const path = `${prefix}[${i}]`;
      count++;
      const earlier = seen.get(t.id);
      if (earlier !== undefined)
        issues.push({ path: `${path}.id`, message: `duplicate task id "${t.id}" (also at ${earlier})` });
      else seen.set(t.id, path);
      if (t.description === undefined && t.input === undefined) {
        issues.push({ path, message: `task "${t.id}" needs a description or an input` });
      }
      if (t.output) issues.push(...schemaProblems(t.output.schema, `${path}.output.schema`));
      const review = reviewIn ? reviewerOf(reviewIn, t.id, `${path}.review`) : undefined;
      if (t.input?.simulate !== undefined && !limits.allowSimulate) {
        issues.push({
          path: `${path}.input.simulate`,
          message: 'simulate directives are a development aid, off on this orchestrator (ALLOW_SIMULATE)',
        });
      } else if (t.input?.simulate !== undefined) {
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
        subtasks.length > 0 && t.capabilities.length === 0 && !t.agentType ? ['coordination'] : t.capabilities;
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
        ...t,
        agentType: match.ok ? match.agentType : '',
        eligibleTypes: match.ok ? eligibleAgentTypes(registry, wanted, t.agentType) : [],
        dependsOn: [...new Set(t.dependsOn)],
        subtasks: resolveLevel(subtasks, `${path}.subtasks`),
        ...(review ? { review } : {}),
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
  return { ok: true, plan: { ...input, id: input.id ?? defaultId(), tasks } };
}
