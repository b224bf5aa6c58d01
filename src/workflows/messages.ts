import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PlanView, TaskView } from '../shared/status';

/** The plan's live status: what `GET /v1/plans/:id` serves and `temporal workflow query --type planStatus` prints. */
export const planStatusQuery = defineQuery<PlanView>('planStatus');
/** One task workflow's live lifecycle state, with its sub-agents' states. */
export const taskStatusQuery = defineQuery<TaskView>('taskStatus');

/** Cancels the whole plan: running tasks end `cancelled`, nothing new starts, the plan ends `cancelled`. */
export const cancelPlanSignal = defineSignal<[{ reason?: string }]>('cancelPlan');
/** Cancels one task (and its subtree); its dependents are skipped. */
export const cancelTaskSignal = defineSignal<[{ taskId: string; reason?: string }]>('cancelTask');
/** Paused plans start no new tasks; running ones finish. */
export const pausePlanSignal = defineSignal<[]>('pausePlan');
export const resumePlanSignal = defineSignal<[]>('resumePlan');
