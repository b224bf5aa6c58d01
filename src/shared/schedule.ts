import type { PlanMode, PlanSummary } from './plan';

/**
 * A schedule of plans (docs/schedules.md): a Temporal Schedule whose runs are plans. What the API answers about one;
 * the request (`ScheduleInput`) and these answers' schemas are in src/api/schemas.ts, the service in src/api/schedules.
 */

/** When a run is due while the previous one still runs (Temporal's overlap policies, in the API's words). */
export const OVERLAP_POLICIES = [
  'skip',
  'buffer-one',
  'buffer-all',
  'cancel-other',
  'terminate-other',
  'allow-all',
] as const;
export type Overlap = (typeof OVERLAP_POLICIES)[number];

/** One plan a schedule started. */
export interface ScheduleRun {
  planId: string;
  workflowId: string;
  /** When the run was due. */
  scheduledAt: string;
  /** When Temporal started its plan. */
  startedAt: string;
}

export interface ScheduleLinks {
  self: string;
  /** GET /v1/plans?schedule=<id> */
  plans: string;
  /** The schedule in the Temporal Web UI, when its address is known. */
  ui?: string;
}

/** One row of GET /v1/schedules. */
export interface ScheduleSummary {
  scheduleId: string;
  /** The plan template's name. */
  name?: string;
  cron?: string;
  interval?: string;
  timeZone: string;
  paused: boolean;
  note?: string;
  /** The next times a plan is due; none while paused. */
  nextRuns: string[];
  /** The plans it started last, newest first. */
  recentRuns: ScheduleRun[];
  links: ScheduleLinks;
}

/** GET /v1/schedules/:scheduleId. */
export interface ScheduleView extends ScheduleSummary {
  overlap: Overlap;
  catchupWindow: string;
  /** The template: its runs are `<idPrefix>-<scheduled time>`. */
  plan: { idPrefix: string; mode: PlanMode; tasks: number };
  actions: { taken: number; skippedOverlap: number; missedCatchupWindow: number };
  createdAt: string;
  /** Its plans with their status, newest first. */
  plans: PlanSummary[];
}

/** POST /v1/schedules. */
export type ScheduleCreated = Pick<ScheduleSummary, 'scheduleId' | 'paused' | 'nextRuns' | 'links'>;
