import type { PlanInput, PlanSpec } from '../../shared/plan';
import type { ValidationIssue } from '../../shared/plan-check';
import { eligibleAgentTypes, type Registry } from '../../shared/registry';
import { reusedTasks, type RerunSeed } from '../../shared/rerun';
import { allTasks, type TaskInput, type TaskSpec, type TaskView } from '../../shared/task';
import { inSequence } from '../../workflows/dag-schedule';
import { flattenTasks } from './tasks';

/** What a rerun may change of a task (POST /v1/plans/:planId/rerun, `overrides`). */
export type TaskOverride = Partial<
  Pick<TaskInput, 'description' | 'input' | 'agentType' | 'capabilities' | 'acceptance'>
> & {
  output?: TaskInput['output'];
};

/** Plan-wide fields a rerun may set for the new plan (its budget is its own either way). */
export type RerunSettings = Partial<Pick<PlanInput, 'name' | 'failurePolicy' | 'maxConcurrency' | 'budget'>>;

export interface RerunRequest {
  from: string[] | 'failed';
  overrides?: Record<string, TaskOverride>;
  settings?: RerunSettings;
}

/** The plan a rerun comes from: its spec, its tasks as they ended (at every depth), and what it reused itself. */
export interface RerunSource {
  planId: string;
  spec: PlanSpec;
  tasks: TaskView[];
  /** Its own seed, when it is a rerun too: a chain reuses from the plan that ran each task. */
  seed?: RerunSeed;
  /** Outputs of its tasks that ran inline in its workflow (no task workflow holds them). */
  kept: Record<string, unknown>;
}

/** The new plan: its body (checked by checkPlan like any submission), its seed, and which tasks run again. */
export interface RerunPlan {
  body: Omit<PlanInput, 'id'>;
  seed: RerunSeed;
  /** Tasks that run (at every depth), in plan order. */
  runs: string[];
}

export type RerunCheck = { ok: true; plan: RerunPlan } | { ok: false; issues: ValidationIssue[] };

const NOT_COMPLETED_AGAIN = new Set(['failed', 'skipped', 'cancelled']);

/**
 * Works out a rerun (pure; docs/plans.md, "Rerun"): the `from` tasks (and those with overrides) run again with their
 * overrides, and so does everything that depends on them at their level, every coordinator above them (it synthesizes
 * again; its other sub-agents are reused) and every task that had not completed. Every other completed task is reused:
 * its output is a reference to the task workflow of the plan that ran it (nothing is copied, nothing runs again), or,
 * for a task that ran inline there, the value that plan kept. Sub-agents a coordinator made by reasoning are not in the
 * plan: a rerun of their coordinator makes them afresh.
 */
export function planRerun(source: RerunSource, request: RerunRequest, registry: Registry): RerunCheck {
  const issues: ValidationIssue[] = [];
  const declared = new Set(allTasks(source.spec.tasks).map((t) => t.id));
  const seen = new Map(flattenTasks(source.tasks).map((at) => [at.task.id, at]));
  const known = (id: string, path: string): boolean => {
    if (declared.has(id)) return true;
    const made = seen.get(id);
    issues.push({
      path,
      message: made
        ? `task "${id}" was made by its coordinator's reasoning, not declared in the plan: rerun "${made.path[made.path.length - 2]}" to make its sub-agents afresh`
        : `no task "${id}" in plan "${source.planId}"`,
    });
    return false;
  };
  const from = new Set<string>();
  if (request.from === 'failed') {
    for (const id of declared) if (NOT_COMPLETED_AGAIN.has(seen.get(id)?.task.state ?? '')) from.add(id);
  } else request.from.forEach((id, i) => known(id, `from[${i}]`) && from.add(id));
  for (const id of Object.keys(request.overrides ?? {})) if (known(id, `overrides.${id}`)) from.add(id);
  if (issues.length > 0) return { ok: false, issues };

  const completed = (id: string) => seen.get(id)?.task.state === 'completed';
  /** Tasks that run, decided bottom-up: a coordinator runs when any of its sub-agents does. */
  const runs = new Set<string>();
  const decide = (tasks: TaskSpec[], sequential: boolean): boolean => {
    const level = sequential ? inSequence(tasks) : tasks;
    const here = new Set<string>();
    for (const t of level) {
      const below = t.subtasks.length > 0 && decide(t.subtasks, t.subtaskMode === 'sequential');
      if (from.has(t.id) || !completed(t.id) || below) here.add(t.id);
    }
    // What depends on a task that runs (at its level, transitively) runs too: its inputs change.
    for (let grew = true; grew;) {
      grew = false;
      for (const t of level)
        if (!here.has(t.id) && t.dependsOn.some((d) => here.has(d))) {
          here.add(t.id);
          grew = true;
        }
    }
    for (const id of here) runs.add(id);
    return here.size > 0;
  };
  decide(source.spec.tasks, false);
  if (runs.size === 0)
    return {
      ok: false,
      issues: [
        {
          path: 'from',
          message:
            request.from === 'failed'
              ? `nothing to rerun: every task of plan "${source.planId}" completed (name tasks in "from")`
              : 'nothing to rerun: name at least one task in "from" or "overrides"',
        },
      ],
    };

  // Reused: the completed tasks that do not run, at the levels that do run (the top, and under a coordinator that runs).
  const earlier = reusedTasks(source.seed);
  const seed: RerunSeed = { of: source.planId, reused: {} };
  const reuse = (t: TaskSpec) => {
    const view = seen.get(t.id)?.task;
    const before = earlier.get(t.id);
    const origin = view?.reusedFrom ?? before?.from ?? source.planId;
    if (before?.kept) (seed.kept ??= {})[t.id] = { from: origin, output: before.output };
    else if (view?.inline && !view.reusedFrom) {
      if (!(t.id in source.kept))
        issues.push({ path: 'from', message: `the output of task "${t.id}" (it ran inline) is no longer known` });
      else (seed.kept ??= {})[t.id] = { from: origin, output: source.kept[t.id] };
    } else (seed.reused[origin] ??= []).push(t.id);
  };
  const collect = (tasks: TaskSpec[]) => {
    for (const t of tasks) {
      if (!runs.has(t.id)) reuse(t);
      else collect(t.subtasks);
    }
  };
  collect(source.spec.tasks);
  if (issues.length > 0) return { ok: false, issues };

  const order = allTasks(source.spec.tasks)
    .map((t) => t.id)
    .filter((id) => runs.has(id));
  const { spec } = source;
  const settings = request.settings ?? {};
  const body: Omit<PlanInput, 'id'> = {
    ...((settings.name ?? spec.name) !== undefined ? { name: settings.name ?? spec.name } : {}),
    mode: spec.mode,
    failurePolicy: settings.failurePolicy ?? spec.failurePolicy,
    maxConcurrency: settings.maxConcurrency ?? spec.maxConcurrency,
    ...((settings.budget ?? spec.budget) ? { budget: settings.budget ?? spec.budget } : {}),
    tasks: spec.tasks.map((t) => asSubmitted(t, request.overrides ?? {}, registry)),
  };
  return { ok: true, plan: { body, seed, runs: order } };
}

/**
 * A checked task as a submission would give it, with its override applied. Its agent type is left to its
 * capabilities when they alone resolve to the same types (so the pool still spreads its work over every type that
 * fits), or when the override changes the capabilities without naming a type.
 */
function asSubmitted(t: TaskSpec, overrides: Record<string, TaskOverride>, registry: Registry): TaskInput {
  const { eligibleTypes, subtasks, review, agentType, ...fields } = t;
  const o = overrides[t.id] ?? {};
  const capabilities = o.capabilities ?? t.capabilities;
  const wanted = subtasks.length > 0 && capabilities.length === 0 ? ['coordination'] : capabilities;
  const byCapabilities = eligibleAgentTypes(registry, wanted).join('\n') === eligibleTypes.join('\n');
  const type = o.agentType ?? (o.capabilities || byCapabilities ? undefined : agentType);
  const { types: _reviewTypes, ...reviewer } = review ?? { types: [] };
  return {
    ...fields,
    ...(o.description !== undefined ? { description: o.description } : {}),
    ...(o.input !== undefined ? { input: o.input } : {}),
    ...(o.acceptance !== undefined ? { acceptance: o.acceptance } : {}),
    ...(o.output !== undefined ? { output: o.output } : {}),
    capabilities,
    ...(type !== undefined ? { agentType: type } : {}),
    ...(review ? { review: reviewer } : {}),
    subtasks: subtasks.map((s) => asSubmitted(s, overrides, registry)),
  };
}
