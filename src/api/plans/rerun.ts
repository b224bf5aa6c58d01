import type { z } from 'zod';
import type { Registry } from '../../shared/registry';
import { reusedOrigins, reusedTasks } from '../../shared/rerun';
import { allTasks, type TaskView } from '../../shared/task';
import type { RerunBody } from '../schemas';
import { ApiError, invalid } from '../errors';
import type { PlanLookup } from './plan-lookup';
import type { PlanViews } from './plan-views';
import { planRerun } from './rerun-plan';
import { findTask } from './tasks';
import { bodyHashOf, type Fork, type PlanSubmission, type PreparedPlan } from './submission';
import { planTenant } from './tenant-gate';

/** Leaves room under Temporal's 2 MB payload limit for the rest of the workflow input (as a submission does). */
const MAX_INPUT_PAYLOAD = 1_500_000;

/** A rerun ready to start: the new plan, checked like any submission, and how it forks from its source. */
export interface PreparedRerun {
  prepared: PreparedPlan;
  fork: Fork;
  runs: string[];
}

/**
 * POST /v1/plans/:planId/rerun: a new plan from an earlier one (docs/plans.md, "Rerun"). Reads the source's spec and
 * how its tasks ended, works the rerun out (rerun-plan.ts), checks the new plan like any submission, and refuses it
 * when a reused output can no longer be read. Starting it is the submission's (with the fork's tenant and seed).
 */
export class PlanReruns {
  constructor(
    private readonly lookup: PlanLookup,
    private readonly views: PlanViews,
    private readonly submission: PlanSubmission,
    private readonly registry: () => Promise<Registry>,
  ) {}

  async prepare(sourceId: string, body: z.output<typeof RerunBody>): Promise<PreparedRerun> {
    const { lookup } = this;
    const desc = await lookup.describe(sourceId);
    // The view and the spec come from queries: a closed plan is replayed on a worker to answer them.
    const [view, source, registry] = await Promise.all([
      this.views.status(sourceId),
      lookup.source(sourceId),
      this.registry(),
    ]);
    const { spec } = source;
    const checked = planRerun(
      {
        planId: sourceId,
        spec,
        tasks: await this.withReusedSubtrees(
          view.tasks,
          new Set(
            allTasks(spec.tasks)
              .filter((t) => t.subtasks.length > 0)
              .map((t) => t.id),
          ),
        ),
        ...(source.rerun ? { seed: source.rerun } : {}),
        kept: source.kept,
      },
      {
        from: body.from,
        ...(body.overrides ? { overrides: body.overrides } : {}),
        ...(body.settings ? { settings: body.settings } : {}),
      },
      registry,
    );
    if (!checked.ok) throw invalid('rerun', checked.issues);
    const { seed, runs } = checked.plan;
    // The new plan goes through every check a submission does (an override can break it: a capability no agent type
    // has, a bad output schema, a bad simulate directive).
    const prepared = await this.submission.prepare({ ...checked.plan.body, ...(body.id ? { id: body.id } : {}) });
    const size = JSON.stringify(prepared.compact).length + JSON.stringify(seed).length;
    if (size > MAX_INPUT_PAYLOAD)
      throw new ApiError(
        'PAYLOAD_TOO_LARGE',
        `the rerun's plan and reused outputs are ${size} bytes; the limit is ${MAX_INPUT_PAYLOAD} (Temporal payloads are capped at 2 MB)`,
      );
    await this.checkReadable(sourceId, seed);
    return {
      // The same rerun asked again (same id) answers as the plan it started: the request is what is hashed.
      prepared: { ...prepared, bodyHash: bodyHashOf({ rerunOf: sourceId, ...body }), taskCount: runs.length },
      fork: { tenant: planTenant(desc), seed },
      runs,
    };
  }

  /**
   * A coordinator the source reused shows no sub-agents there (they ran in the plan that ran it): they are read from
   * that plan, so a rerun of one of them reuses its siblings from where they ran. When that plan is gone, its
   * sub-agents show as not completed, and run.
   */
  private async withReusedSubtrees(tasks: TaskView[], coordinators: ReadonlySet<string>): Promise<TaskView[]> {
    const views = new Map<string, Promise<TaskView[] | undefined>>();
    const planTasks = (planId: string) => {
      let v = views.get(planId);
      if (!v)
        views.set(
          planId,
          (v = this.views.status(planId).then(
            (p) => p.tasks,
            () => undefined,
          )),
        );
      return v;
    };
    const graft = async (t: TaskView): Promise<TaskView> => {
      if (t.reusedFrom === undefined || t.subtasks.length > 0 || !coordinators.has(t.id))
        return { ...t, subtasks: await Promise.all(t.subtasks.map(graft)) };
      const there = findTask((await planTasks(t.reusedFrom)) ?? [], t.id)?.task;
      const from = t.reusedFrom;
      const mark = (s: TaskView): TaskView => ({
        ...s,
        ...(s.state === 'completed' && s.reusedFrom === undefined ? { reused: true as const, reusedFrom: from } : {}),
        subtasks: s.subtasks.map(mark),
      });
      return { ...t, subtasks: await Promise.all((there?.subtasks ?? []).map((s) => graft(mark(s)))) };
    };
    return Promise.all(tasks.map(graft));
  }

  /** The answer's lineage: which tasks run, which are reused and from where. */
  static lineage(rerun: PreparedRerun) {
    return { rerunOf: rerun.fork.seed.of, runs: rerun.runs, reused: reusedOrigins(rerun.fork.seed) };
  }

  /**
   * Every reused output must still be readable where it lives: its task workflow within retention and completed, its
   * blob in the store, a key that decrypts it. Otherwise the rerun is refused (409) before anything starts.
   */
  private async checkReadable(sourceId: string, seed: Fork['seed']): Promise<void> {
    const outputs = Object.fromEntries([...reusedTasks(seed)].map(([id, t]) => [id, t.output]));
    const gone = await this.lookup.unreadable(sourceId, outputs);
    const ids = Object.keys(gone);
    if (ids.length === 0) return;
    const first = ids[0] as string;
    throw new ApiError(
      'CONFLICT',
      `plan "${sourceId}" cannot be rerun: the output of task "${first}" can no longer be read (${gone[first]})` +
        (ids.length > 1 ? ` (and ${ids.length - 1} more)` : '') +
        '; rerun it too (name it in "from") or submit the plan afresh',
      ids.map((id) => ({ path: `from`, message: `task "${id}": ${gone[id]}` })),
    );
  }
}
