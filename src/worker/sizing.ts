import type { WorkerOptions } from '@temporalio/worker';
import { ConfigSchema, type Config } from '../config';

export type WorkerSizing = Pick<
  WorkerOptions,
  | 'tuner'
  | 'maxConcurrentActivityTaskExecutions'
  | 'maxConcurrentLocalActivityExecutions'
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxCachedWorkflows'
  | 'activityTaskPollerBehavior'
>;

type SizingConfig = Pick<
  Config,
  | 'WORKER_TUNER'
  | 'WORKER_MAX_ACTIVITIES'
  | 'WORKER_MAX_LOCAL_ACTIVITIES'
  | 'WORKER_MAX_WORKFLOW_TASKS'
  | 'WORKER_MAX_CACHED_WORKFLOWS'
  | 'WORKER_ACTIVITY_POLLERS'
>;

/**
 * The worker's slot budgets, separately: activities wait on models and tools (I/O: thousands fit in one process),
 * local activities are short steps, workflow tasks are CPU. Fixed-size by default; `WORKER_TUNER=resource` hands them to
 * Temporal's resource-based tuner with the same budgets as its maximums (docs/benchmarks.md, measure (i), compares the
 * two). Activity polls autoscale, so a burst of scheduled model calls is picked up by many pollers at once and an idle
 * worker keeps one poll open.
 */
export function workerSizing(config: SizingConfig): WorkerSizing {
  const cache =
    config.WORKER_MAX_CACHED_WORKFLOWS > 0 ? { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS } : {};
  const activityTaskPollerBehavior = {
    type: 'autoscaling' as const,
    minimum: 1,
    initial: Math.min(5, config.WORKER_ACTIVITY_POLLERS),
    maximum: config.WORKER_ACTIVITY_POLLERS,
  };
  if (config.WORKER_TUNER === 'resource') {
    return {
      tuner: {
        tunerOptions: { targetCpuUsage: 0.9, targetMemoryUsage: 0.8 },
        activityTaskSlotOptions: { maximumSlots: config.WORKER_MAX_ACTIVITIES },
        localActivityTaskSlotOptions: { maximumSlots: config.WORKER_MAX_LOCAL_ACTIVITIES },
        workflowTaskSlotOptions: { maximumSlots: config.WORKER_MAX_WORKFLOW_TASKS },
      },
      ...cache,
      activityTaskPollerBehavior,
    };
  }
  return {
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_ACTIVITIES,
    maxConcurrentLocalActivityExecutions: config.WORKER_MAX_LOCAL_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_WORKFLOW_TASKS,
    ...cache,
    activityTaskPollerBehavior,
  };
}

/** The sizing a worker gets when nothing is configured: the variables' defaults. */
export const DEFAULT_SIZING: WorkerSizing = workerSizing(
  ConfigSchema.pick({
    WORKER_TUNER: true,
    WORKER_MAX_ACTIVITIES: true,
    WORKER_MAX_LOCAL_ACTIVITIES: true,
    WORKER_MAX_WORKFLOW_TASKS: true,
    WORKER_MAX_CACHED_WORKFLOWS: true,
    WORKER_ACTIVITY_POLLERS: true,
  }).parse({}),
);
