import { taskResultRef } from './claim-check';

/**
 * What a rerun plan (POST /v1/plans/:planId/rerun) starts with: the plan it was forked from and the completed tasks it
 * reuses, at any depth. A reused task is not executed again: its output is a reference to the task workflow's result
 * of the plan that produced it (`origin`), or, for a task that ran inline in that plan's workflow (no task workflow of
 * its own), its output as that plan kept it (small: larger ones are blob claim checks). Workflow-safe.
 */
export interface RerunSeed {
  /** The plan this one was forked from. */
  of: string;
  /** Reused tasks whose output is a task workflow's result: the plan that ran them → their ids. */
  reused: Record<string, string[]>;
  /** Reused tasks that ran inline where they ran: their output as that plan kept it, and that plan. */
  kept?: Record<string, { from: string; output: unknown }>;
}

/** One reused task: the plan that ran it, and its output (a reference, or the value kept inline). */
export interface ReusedTask {
  from: string;
  output: unknown;
  /** It ran inline in that plan's workflow: `output` is the value, not a reference. */
  kept?: true;
}

/** Every reused task of a seed by id. */
export function reusedTasks(seed: RerunSeed | undefined): Map<string, ReusedTask> {
  const out = new Map<string, ReusedTask>();
  if (!seed) return out;
  for (const [from, ids] of Object.entries(seed.reused))
    for (const id of ids) out.set(id, { from, output: taskResultRef(from, id) });
  for (const [id, { from, output }] of Object.entries(seed.kept ?? {})) out.set(id, { from, output, kept: true });
  return out;
}

/** The part of a seed that concerns `ids` (a coordinator's subtree); undefined when none does. */
export function seedFor(seed: RerunSeed | undefined, ids: ReadonlySet<string>): RerunSeed | undefined {
  if (!seed) return undefined;
  const reused: Record<string, string[]> = {};
  for (const [from, list] of Object.entries(seed.reused)) {
    const mine = list.filter((id) => ids.has(id));
    if (mine.length > 0) reused[from] = mine;
  }
  const kept = Object.fromEntries(Object.entries(seed.kept ?? {}).filter(([id]) => ids.has(id)));
  if (Object.keys(reused).length === 0 && Object.keys(kept).length === 0) return undefined;
  return { of: seed.of, reused, ...(Object.keys(kept).length > 0 ? { kept } : {}) };
}

/** The ids of `tasks` and their subtasks at every depth. */
export function subtreeIds(tasks: readonly { id: string; subtasks: readonly unknown[] }[], into = new Set<string>()) {
  for (const t of tasks) {
    into.add(t.id);
    subtreeIds(t.subtasks as { id: string; subtasks: unknown[] }[], into);
  }
  return into;
}

/** Reused task id → the plan that ran it (what a plan's result shows as `reused`). */
export function reusedOrigins(seed: RerunSeed | undefined): Record<string, string> {
  return Object.fromEntries([...reusedTasks(seed)].map(([id, t]) => [id, t.from]));
}
