import { ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import type { z } from 'zod';
import type { PlanSpec } from '../../shared/plan';
import type { Overlap } from '../../shared/schedule';
import type { ScheduleFields } from '../schemas';

/** What the API says about when and how a schedule runs, and Temporal's words for it (both ways). */

export type CheckedScheduleFields = z.output<typeof ScheduleFields>;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** "30s" → 30000 (the schema has checked the form). */
export function durationMs(duration: string): number {
  const [, n, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(duration) ?? [];
  return Number(n) * UNIT_MS[unit as Unit];
}

/** 60000 → "1m": the largest unit that divides it. */
export function durationOf(ms: number): string {
  const unit = (['d', 'h', 'm', 's'] as const).find((u) => ms > 0 && ms % UNIT_MS[u] === 0) ?? 'ms';
  return `${ms / UNIT_MS[unit]}${unit}`;
}

const TO_TEMPORAL: Record<Overlap, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'cancel-other': ScheduleOverlapPolicy.CANCEL_OTHER,
  'terminate-other': ScheduleOverlapPolicy.TERMINATE_OTHER,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
};

export function overlapOf(policy: ScheduleOverlapPolicy): Overlap {
  const found = (Object.entries(TO_TEMPORAL) as [Overlap, ScheduleOverlapPolicy][]).find(([, p]) => p === policy);
  return found?.[0] ?? 'skip';
}

/** A plan a second at most: Temporal's own unit of schedule times. */
export const MIN_INTERVAL_MS = 1_000;
/** Temporal refuses a catch-up window under 10 s. */
export const MIN_CATCHUP_WINDOW_MS = 10_000;

/** The parts of a Temporal Schedule that say when it runs, from a checked POST /v1/schedules body. */
export function temporalTiming(input: CheckedScheduleFields): Pick<ScheduleOptions, 'spec' | 'policies' | 'state'> {
  return {
    spec: {
      ...(input.cron !== undefined ? { cronExpressions: [input.cron] } : {}),
      ...(input.interval !== undefined ? { intervals: [{ every: durationMs(input.interval) }] } : {}),
      timezone: input.timeZone,
    },
    policies: {
      overlap: TO_TEMPORAL[input.overlap],
      ...(input.catchupWindow !== undefined ? { catchupWindow: durationMs(input.catchupWindow) } : {}),
    },
    state: { paused: input.paused, ...(input.note !== undefined ? { note: input.note } : {}) },
  };
}

/**
 * What a schedule keeps in its memo: how it was asked for (Temporal turns a cron expression into calendars, so the
 * expression is kept as given), what its plans are, and the body's hash (the same id with the same body is the same
 * schedule).
 */
export type ScheduleMemo = {
  bodyHash: string;
  timing: { cron?: string; interval?: string; timeZone: string };
  name?: string;
  /** The runs' plan ids are `<idPrefix>-<time>`. */
  idPrefix: string;
  plan: { mode: PlanSpec['mode']; tasks: number };
  /** The tenant of the key that created it: its plans are that tenant's, and only that tenant sees it. */
  tenant: string;
};

export function scheduleMemo(
  input: CheckedScheduleFields,
  plan: PlanSpec,
  bodyHash: string,
  tenant: string,
): ScheduleMemo {
  return {
    bodyHash,
    tenant,
    timing: {
      ...(input.cron !== undefined ? { cron: input.cron } : {}),
      ...(input.interval !== undefined ? { interval: input.interval } : {}),
      timeZone: input.timeZone,
    },
    ...(plan.name !== undefined ? { name: plan.name } : {}),
    idPrefix: plan.id,
    plan: { mode: plan.mode, tasks: plan.tasks.length },
  };
}

/** A memo read back: a schedule made by hand may lack any of it. */
export function memoOf(memo: Record<string, unknown> | undefined): Partial<ScheduleMemo> {
  return (memo ?? {}) as Partial<ScheduleMemo>;
}
