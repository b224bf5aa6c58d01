/**
 * The plans API's dealings with Temporal, by concern; holds no state of its own. `PlanLookup` is what they share (the
 * deadline-bound client, a plan's workflow or a 404, a running task's live view, a task's output); `PlanSubmission`
 * checks and starts plans; `PlanViews`, `TaskViews` and `PlanResults` read them; `PlanControl` tells running plans what
 * to do. `tasks.ts`: tasks at every depth of a plan's view.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../../config';
import type { Registry } from '../../shared/registry';
import { PlanControl } from './control';
import { PlanLookup } from './plan-lookup';
import { PlanViews } from './plan-views';
import { PlanResults } from './results';
import { PlanReruns } from './rerun';
import { PlanSubmission } from './submission';
import { TaskViews } from './task-views';
import { TenantGate } from './tenant-gate';

export interface PlanServices {
  /** What they share; schedules (api/schedules) reach Temporal with it too. */
  lookup: PlanLookup;
  submission: PlanSubmission;
  views: PlanViews;
  tasks: TaskViews;
  results: PlanResults;
  control: PlanControl;
  /** Reruns: new plans forked from earlier ones, reusing their completed tasks. */
  reruns: PlanReruns;
  /** Every route naming a plan asks it first: another tenant's plan is no plan (404). */
  gate: TenantGate;
}

/**
 * `registry`: the live registry (the pool's); `fallback` (the file's) when Temporal cannot be asked, so bad input still
 * gets its 400.
 */
export function planServices(
  client: Client,
  config: Config,
  registry: () => Promise<Registry>,
  fallback: Registry,
): PlanServices {
  const lookup = new PlanLookup(client, config);
  const views = new PlanViews(lookup);
  const submission = new PlanSubmission(lookup, registry, fallback);
  return {
    lookup,
    submission,
    views,
    tasks: new TaskViews(lookup, views),
    results: new PlanResults(lookup),
    control: new PlanControl(lookup, views),
    reruns: new PlanReruns(lookup, views, submission, registry),
    gate: new TenantGate(lookup),
  };
}

export type { PreparedPlan, SubmitAnswer, Submitted } from './submission';
export { PlanReruns } from './rerun';
export type { PlanStatusView } from './plan-views';
export { spansTenants, tenantOf } from './tenant-gate';
