import { randomUUID } from 'node:crypto';
import {
  ScheduleAlreadyRunning,
  type ScheduleOptionsStartWorkflowAction,
  ScheduleNotFoundError,
  type ScheduleDescription,
  type ScheduleExecutionResult,
  type ScheduleSummary as TemporalScheduleSummary,
} from '@temporalio/client';
import { planIdOfWorkflowId } from '../../shared/ids';
import { DEFAULT_TENANT } from '../../shared/tenant';
import { PlanIdKey, ScheduleKey } from '../../shared/search-attributes';
import type { PlanWorkflowInput } from '../../shared/plan';
import type { planWorkflow } from '../../workflows/plan';
import type { Principal } from '../auth';
import { ApiError, invalidArgument, parseInput } from '../errors';
import type { PlanLookup } from '../plans/plan-lookup';
import type { PlanViews } from '../plans/plan-views';
import { bodyHashOf, type PlanSubmission } from '../plans/submission';
import { spansTenants, tenantOf } from '../plans/tenant-gate';
import type { ScheduleCreated, ScheduleSummary, ScheduleView } from '../../shared/schedule';
import { ScheduleFields } from '../schemas';
import {
  durationOf,
  memoOf,
  MIN_CATCHUP_WINDOW_MS,
  MIN_INTERVAL_MS,
  overlapOf,
  scheduleMemo,
  temporalTiming,
  durationMs,
} from './schedule-spec';

/** A plan's id has at most 100 characters; a schedule appends `-<time>` (21) to its runs' prefix. */
const MAX_PREFIX = 79;
const NEXT_RUNS = 5;
const RECENT_RUNS = 10;
const PLANS_SHOWN = 20;
const PLAN_WORKFLOW = 'planWorkflow';

/** The tenant whose key created the schedule (its plans are that tenant's). */
const tenantOfSchedule = (s: { memo?: Record<string, unknown> }): string => memoOf(s.memo).tenant ?? DEFAULT_TENANT;

/**
 * Schedules of plans (docs/schedules.md): each is a Temporal Schedule whose action starts `planWorkflow` exactly as
 * POST /v1/plans does (the submission's own check and start options), so `temporal schedule list` and the Web UI show
 * them. Holds no state: what the API says of a schedule is what Temporal holds (its memo keeps how it was asked for).
 */
export class ScheduleService {
  constructor(
    private readonly lookup: PlanLookup,
    private readonly submission: PlanSubmission,
    private readonly views: PlanViews,
  ) {}

  /**
   * Checks the body (the plan template as a submitted plan: same 400 / 413) and creates the schedule. The same id with
   * the same body answers the schedule as it is (`created: false`); with another body 409. Nothing is created on a 4xx.
   */
  async create(body: unknown, who?: Principal): Promise<{ created: boolean; answer: ScheduleCreated }> {
    const fields = parseInput(ScheduleFields, body, 'body');
    const scheduleId = fields.id ?? `schedule-${randomUUID().slice(0, 8)}`;
    const idPrefix = fields.plan.id ?? scheduleId;
    if (typeof idPrefix === 'string' && idPrefix.length > MAX_PREFIX)
      throw new ApiError(
        'VALIDATION_ERROR',
        `invalid body: plan.id: a schedule's plans are "<plan.id>-<time>", so plan.id has at most ${MAX_PREFIX} characters`,
        [{ path: 'body.plan.id', message: `at most ${MAX_PREFIX} characters` }],
      );
    if (fields.interval !== undefined && durationMs(fields.interval) < MIN_INTERVAL_MS)
      throw new ApiError('VALIDATION_ERROR', 'invalid body: interval: at least 1s', [
        { path: 'body.interval', message: 'at least 1s' },
      ]);
    if (fields.catchupWindow !== undefined && durationMs(fields.catchupWindow) < MIN_CATCHUP_WINDOW_MS)
      throw new ApiError('VALIDATION_ERROR', 'invalid body: catchupWindow: at least 10s (Temporal refuses less)', [
        { path: 'body.catchupWindow', message: 'at least 10s' },
      ]);
    const prepared = await this.submission.prepare({ ...fields.plan, id: idPrefix });
    const start = this.submission.startOptions(prepared, who);
    const input: PlanWorkflowInput = { ...start.args[0], schedule: scheduleId };
    const bodyHash = bodyHashOf(body);
    const memo = scheduleMemo(fields, prepared.plan, bodyHash, tenantOf(who));
    // The SDK's type for a schedule's action has no priority yet, though it sends one (the tenant's fairness key).
    const action: ScheduleOptionsStartWorkflowAction<typeof planWorkflow> & Pick<typeof start, 'priority'> = {
      type: 'startWorkflow',
      workflowType: PLAN_WORKFLOW,
      workflowId: start.workflowId,
      taskQueue: start.taskQueue,
      args: [input],
      // Each run's PlanId is its own (the plan sets it); the schedule it came from is the same for all.
      typedSearchAttributes: [
        ...start.typedSearchAttributes.filter((p) => p.key.name !== PlanIdKey.name),
        { key: ScheduleKey, value: scheduleId },
      ],
      memo: start.memo,
      ...(start.priority ? { priority: start.priority } : {}),
      staticSummary: `${start.staticSummary} · schedule ${scheduleId}`,
    };
    try {
      await this.lookup.rpc(() =>
        this.lookup.client.schedule.create({ scheduleId, ...temporalTiming(fields), action, memo }),
      );
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning) return this.existing(scheduleId, bodyHash, who);
      // The SDK turns Temporal's "Invalid schedule spec" (a cron expression it cannot read) into a TypeError.
      const refused = err instanceof TypeError ? err.message : invalidArgument(err);
      if (refused) throw new ApiError('VALIDATION_ERROR', `invalid body: Temporal refused the schedule: ${refused}`);
      throw err;
    }
    const desc = await this.describe(scheduleId, who);
    return { created: true, answer: this.created(desc) };
  }

  /**
   * The schedule an id names when it was made with the same body; a 409 when with another, or by another tenant
   * (nothing says whose it is).
   */
  private async existing(scheduleId: string, bodyHash: string, who: Principal | undefined) {
    const desc = await this.describe(scheduleId, undefined);
    if (memoOf(desc.memo).bodyHash !== bodyHash || tenantOfSchedule(desc) !== tenantOf(who))
      throw new ApiError('CONFLICT', `schedule "${scheduleId}" already exists with a different body`);
    return { created: false, answer: this.created(desc) };
  }

  private created(desc: ScheduleDescription): ScheduleCreated {
    const { scheduleId, paused, nextRuns, links } = this.summary(desc);
    return { scheduleId, paused, nextRuns, links };
  }

  /**
   * The plans' schedules of the request's tenant (every tenant's for an admin key or an API without keys), from
   * Temporal; other schedules of the namespace are not ours to show.
   */
  async list(limit: number, who: Principal | undefined): Promise<ScheduleSummary[]> {
    const all = spansTenants(who);
    const rows: ScheduleSummary[] = [];
    await this.lookup.rpc(async () => {
      for await (const s of this.lookup.client.schedule.list({ pageSize: Math.min(limit, 1_000) })) {
        if (s.action?.workflowType !== PLAN_WORKFLOW) continue;
        if (!all && tenantOfSchedule(s) !== tenantOf(who)) continue;
        rows.push(this.summary(s));
        if (rows.length >= limit) break;
      }
    });
    return rows.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
  }

  /** One schedule: when and how it runs, what it did, and its plans with their status. */
  async get(scheduleId: string, who: Principal | undefined): Promise<ScheduleView> {
    const desc = await this.describe(scheduleId, who);
    const memo = memoOf(desc.memo);
    const plans = await this.views.list(
      { schedule: scheduleId },
      PLANS_SHOWN,
      spansTenants(who) ? undefined : tenantOf(who),
    );
    return {
      ...this.summary(desc),
      overlap: overlapOf(desc.policies.overlap),
      catchupWindow: durationOf(desc.policies.catchupWindow),
      plan: {
        idPrefix: memo.idPrefix ?? scheduleId,
        mode: memo.plan?.mode ?? 'dag',
        tasks: memo.plan?.tasks ?? 0,
      },
      actions: {
        taken: desc.info.numActionsTaken,
        skippedOverlap: desc.info.numActionsSkippedOverlap,
        missedCatchupWindow: desc.info.numActionsMissedCatchupWindow,
      },
      createdAt: desc.info.createdAt.toISOString(),
      plans,
    };
  }

  /** Pauses (no plan starts until unpaused) or unpauses; `note` says why (Temporal keeps it with the schedule). */
  async setPaused(scheduleId: string, who: Principal | undefined, paused: boolean, note?: string): Promise<void> {
    await this.describe(scheduleId, who);
    const handle = this.lookup.client.schedule.getHandle(scheduleId);
    const why = note ?? `${paused ? 'paused' : 'unpaused'} with the API`;
    await this.lookup.rpc(() => (paused ? handle.pause(why) : handle.unpause(why)));
  }

  /** Starts a plan now, whether paused or not, whatever the overlap policy (Temporal's trigger: allow all). */
  async trigger(scheduleId: string, who: Principal | undefined): Promise<void> {
    await this.describe(scheduleId, who);
    await this.lookup.rpc(() => this.lookup.client.schedule.getHandle(scheduleId).trigger());
  }

  /** Deletes the schedule; the plans it started run on. */
  async delete(scheduleId: string, who: Principal | undefined): Promise<void> {
    await this.describe(scheduleId, who);
    await this.lookup.rpc(() => this.lookup.client.schedule.getHandle(scheduleId).delete());
  }

  /**
   * The schedule's description; a 404 when there is none, it starts something else than plans, or it is another
   * tenant's (`who` undefined: whoever's).
   */
  private async describe(scheduleId: string, who: Principal | undefined): Promise<ScheduleDescription> {
    let desc: ScheduleDescription;
    try {
      desc = await this.lookup.rpc(() => this.lookup.client.schedule.getHandle(scheduleId).describe());
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw new ApiError('NOT_FOUND', `no schedule "${scheduleId}"`);
      throw err;
    }
    const mine = spansTenants(who) || tenantOfSchedule(desc) === tenantOf(who);
    if (desc.action.workflowType !== PLAN_WORKFLOW || !mine)
      throw new ApiError('NOT_FOUND', `no schedule "${scheduleId}"`);
    return desc;
  }

  private summary(s: ScheduleDescription | TemporalScheduleSummary): ScheduleSummary {
    const memo = memoOf(s.memo);
    const runOf = (r: ScheduleExecutionResult) => ({
      planId: planIdOfWorkflowId(r.action.workflow.workflowId),
      workflowId: r.action.workflow.workflowId,
      scheduledAt: r.scheduledAt.toISOString(),
      startedAt: r.takenAt.toISOString(),
    });
    const recent = [...s.info.recentActions].sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
    return {
      scheduleId: s.scheduleId,
      ...(memo.name !== undefined ? { name: memo.name } : {}),
      ...(memo.timing?.cron !== undefined ? { cron: memo.timing.cron } : {}),
      ...(memo.timing?.interval !== undefined ? { interval: memo.timing.interval } : {}),
      timeZone: memo.timing?.timeZone ?? s.spec?.timezone ?? 'UTC',
      paused: s.state.paused,
      ...(s.state.note ? { note: s.state.note } : {}),
      // Temporal lists the times a paused schedule would run at; none of them will start a plan.
      nextRuns: s.state.paused ? [] : s.info.nextActionTimes.slice(0, NEXT_RUNS).map((t) => t.toISOString()),
      recentRuns: recent.slice(0, RECENT_RUNS).map(runOf),
      links: this.links(s.scheduleId),
    };
  }

  private links(scheduleId: string): ScheduleSummary['links'] {
    const { config } = this.lookup;
    const ui = config.TEMPORAL_UI_URL?.replace(/\/$/, '');
    const ns = encodeURIComponent(config.TEMPORAL_NAMESPACE);
    return {
      self: `/v1/schedules/${scheduleId}`,
      plans: `/v1/plans?schedule=${scheduleId}`,
      ...(ui ? { ui: `${ui}/namespaces/${ns}/schedules/${encodeURIComponent(scheduleId)}` } : {}),
    };
  }
}
