import type { WorkerOptions } from '@temporalio/worker';
import { ConfigSchema, type Config } from '../config';

export type WorkerSizing = Pick<
  WorkerOptions,
  | 'maxConcurrentActivityTaskExecutions'
  | 'maxConcurrentLocalActivityExecutions'
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxCachedWorkflows'
  | 'activityTaskPollerBehavior'
>;

type SizingConfig = Pick<
  Config,
  | 'WORKER_MAX_ACTIVITIES'
  | 'WORKER_MAX_LOCAL_ACTIVITIES'
  | 'WORKER_MAX_WORKFLOW_TASKS'
  | 'WORKER_MAX_CACHED_WORKFLOWS'
  | 'WORKER_ACTIVITY_POLLERS'
>;

/**
 * The worker's slot budgets, separately: activities wait on models and tools (I/O: thousands fit in one process),
 * local activities are short steps, workflow tasks are CPU. Fixed-size slots, not the resource-based tuner: an agent
 * waiting on a model costs almost no CPU or memory, so a resource tuner sees nothing to stop at and only adds its
 * ramp-up delay (docs/benchmarks.md, measure (i)). Activity polls autoscale, so a burst of a thousand scheduled model
 * calls is picked up by many pollers at once and an idle worker keeps one poll open.
 */
export function workerSizing(config: SizingConfig): WorkerSizing {
  return {
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_ACTIVITIES,
    maxConcurrentLocalActivityExecutions: config.WORKER_MAX_LOCAL_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_WORKFLOW_TASKS,
    ...(config.WORKER_MAX_CACHED_WORKFLOWS > 0 ? { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS } : {}),
    activityTaskPollerBehavior: {
      type: 'autoscaling',
      minimum: 1,
      initial: Math.min(5, config.WORKER_ACTIVITY_POLLERS),
      maximum: config.WORKER_ACTIVITY_POLLERS,
    },
  };
}

/** The sizing a worker gets when nothing is configured: the variables' defaults. */
export const DEFAULT_SIZING: WorkerSizing = workerSizing(
  ConfigSchema.pick({
    WORKER_MAX_ACTIVITIES: true,
    WORKER_MAX_LOCAL_ACTIVITIES: true,
    WORKER_MAX_WORKFLOW_TASKS: true,
    WORKER_MAX_CACHED_WORKFLOWS: true,
    WORKER_ACTIVITY_POLLERS: true,
  }).parse({}),
);
