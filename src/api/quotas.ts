import type { Rpc } from './temporal-rpc';
import type { Client } from '@temporalio/client';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { planWorkflowId } from '../shared/ids';
import { SubmitterKey } from '../shared/search-attributes';
import { principalOf, type Principal } from './auth';
import { tenantFilter, tenantOf } from './plans/tenant-gate';
import { ApiError } from './errors';

/** 429 RATE_LIMITED with Retry-After; a refused request did nothing, so retrying it later loses nothing. */
function refuse(req: Request, res: Response, next: NextFunction): void {
  const info = (req as Request & { rateLimit?: { resetTime?: Date; limit: number } }).rateLimit;
  const seconds = info?.resetTime ? Math.max(1, Math.ceil((info.resetTime.getTime() - Date.now()) / 1_000)) : 60;
  res.setHeader('Retry-After', String(seconds));
  next(new ApiError('RATE_LIMITED', `more than ${info?.limit ?? '?'} requests a minute; retry in ${seconds} s`));
}

const clientAddress = (req: Request): string => `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;

/**
 * Requests per minute per API key (per client address without keys), by express-rate-limit's fixed window, in this
 * API process's memory: with N API replicas behind a balancer a key gets up to N times the limit.
 */
export function requestRateLimit(defaultPerMinute: number, publicPaths: ReadonlySet<string>): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: (_req: Request, res: Response) => principalOf(res)?.requestsPerMinute ?? defaultPerMinute,
    // 0 = no limit (for the default or a key).
    skip: (req: Request, res: Response) =>
      publicPaths.has(req.path) || (principalOf(res)?.requestsPerMinute ?? defaultPerMinute) === 0,
    keyGenerator: (req: Request, res: Response) => {
      const p = principalOf(res);
      return p ? `key:${p.name}` : clientAddress(req);
    },
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: refuse,
  });
}

/**
 * Requests refused for want of a valid key (401) count per client address against the same per-minute default, in
 * fixed one-minute windows: past it, that address's refused requests are answered 429 instead. Requests with a valid
 * key are never counted or refused here, so clients behind one proxy's address are not locked out by another's bad
 * keys. Remembers at most 10,000 addresses (expired windows first, then the oldest, make room).
 */
export function failedAuthLimiter(perMinute: number): (req: Request) => ApiError | undefined {
  const windows = new Map<string, { count: number; resetAt: number }>();
  return (req) => {
    if (perMinute === 0) return undefined;
    const now = Date.now();
    const address = clientAddress(req);
    let w = windows.get(address);
    if (!w || w.resetAt <= now) {
      windows.delete(address);
      if (windows.size >= 10_000) {
        for (const [k, v] of windows) if (v.resetAt <= now) windows.delete(k);
        if (windows.size >= 10_000) windows.delete(windows.keys().next().value as string);
      }
      w = { count: 0, resetAt: now + 60_000 };
      windows.set(address, w);
    }
    if (w.count >= perMinute) {
      const seconds = Math.max(1, Math.ceil((w.resetAt - now) / 1_000));
      return new ApiError(
        'RATE_LIMITED',
        `more than ${perMinute} requests without a valid key a minute; retry in ${seconds} s`,
        undefined,
        seconds,
      );
    }
    w.count++;
    return undefined;
  };
}

const RECENT_MS = 30_000;
/** How long a listing of running plans is reused by the cheap check. */
const LISTING_TTL_MS = 1_000;

/** One admitted plan this process remembers until visibility lists it. */
interface Admitted {
  at: number;
  key?: string;
  tasks: number;
}

/** What admission weighs: the key (its plans-in-flight cap) and the tenant (its tasks-in-flight cap). */
export interface Admission {
  who: Principal | undefined;
  /** Tasks the plan declares, at every depth. */
  tasks: number;
  /** The plan's id (known before it starts: the API picks one when the body has none). */
  planId: string;
}

/**
 * Caps what runs at once, from Temporal visibility plus the plans this process admitted in the last 30 s that
 * visibility may not show yet: the plans a key has running (API_MAX_PLANS_IN_FLIGHT, or the key's maxPlansInFlight;
 * counted by the Submitter search attribute) and the tasks a tenant's running plans declare (TENANT_MAX_TASKS_IN_FLIGHT;
 * counted from the plans' memo, by the Tenant search attribute). Admissions of one tenant are checked one at a time, so
 * a burst cannot slip past.
 */
export class InFlightLimiter {
  private readonly recent = new Map<string, Map<string, Admitted>>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Visibility's listings of running plans by filter, reused for a second (see refusal). */
  private readonly listings = new Map<string, { at: number; plans: Map<string, number>; complete: boolean }>();

  constructor(
    private readonly client: Client,
    private readonly limits: { plansPerKey: number; tasksPerTenant: number },
    private readonly rpc: Rpc,
  ) {}

  /**
   * Runs `start` if the key and its tenant have room; at a cap, answers what `existing` finds (a resubmission of a
   * plan that exists starts nothing, so it is not refused), else throws 429 naming the limit. `start` resolves with
   * the plan's id once it runs.
   */
  admit<T>(
    { who, tasks, planId }: Admission,
    start: () => Promise<T & { planId: string; created: boolean }>,
    existing: () => Promise<(T & { planId: string; created: boolean }) | undefined>,
  ): Promise<T & { planId: string; created: boolean }> {
    const maxPlans = who ? (who.maxPlansInFlight ?? this.limits.plansPerKey) : 0;
    const maxTasks = this.limits.tasksPerTenant;
    if (maxPlans === 0 && maxTasks === 0) return start();
    const tenant = tenantOf(who);
    // Only the check and the reservation are one at a time: the plan then starts alongside the tenant's next ones.
    const previous = this.queues.get(tenant) ?? Promise.resolve();
    const checked = previous.then(() => this.refusal(who, tenant, tasks, maxPlans, maxTasks));
    let prior: Admitted | undefined;
    const reserved = checked.then((refusal) => {
      if (!refusal) prior = this.reserve(tenant, planId, { at: Date.now(), ...(who ? { key: who.name } : {}), tasks });
      return refusal;
    });
    const settled = reserved.catch(() => undefined);
    this.queues.set(tenant, settled);
    void settled.then(() => {
      if (this.queues.get(tenant) === settled) this.queues.delete(tenant);
    });
    return reserved.then(async (refusal) => {
      if (refusal) {
        const known = await existing();
        if (known) return known;
        throw new ApiError('RATE_LIMITED', refusal, undefined, 5);
      }
      // Nothing new runs when the plan existed already, or did not start: the reservation goes (what was there stays).
      const unreserve = () => {
        if (prior) this.recent.get(tenant)?.set(planId, prior);
        else this.recent.get(tenant)?.delete(planId);
      };
      try {
        const answer = await start();
        if (!answer.created) unreserve();
        return answer;
      } catch (err) {
        unreserve();
        throw err;
      }
    });
  }

  /** Counts a plan about to start as running (until visibility lists it, or 30 s); returns what it replaced. */
  private reserve(tenant: string, planId: string, admitted: Admitted): Admitted | undefined {
    const mine = this.recent.get(tenant) ?? new Map<string, Admitted>();
    const prior = mine.get(planId);
    mine.set(planId, admitted);
    this.recent.set(tenant, mine);
    return prior;
  }

  /**
   * Why the plan may not start now (the limit it would break, by name), or undefined. First cheaply: visibility's
   * listing of at most a second ago, and every admission of this process in the last 30 s that it does not show yet,
   * as running. Only near a cap is it asked again precisely (a fresh listing, each recent admission described), so a
   * burst of submissions far below the caps costs no Temporal call each.
   */
  private async refusal(
    who: Principal | undefined,
    tenant: string,
    tasks: number,
    maxPlans: number,
    maxTasks: number,
  ): Promise<string | undefined> {
    let why: string | undefined;
    for (const precise of [false, true]) {
      const recent = precise ? await this.recentStillRunning(tenant) : this.recentOf(tenant);
      why = undefined;
      if (who && maxPlans > 0) {
        const running = await this.count(
          `${SubmitterKey.name} = '${who.name}'`,
          maxPlans,
          () => 1,
          recent.filter((r) => r.key === who.name),
          precise,
        );
        if (running >= maxPlans)
          why = `the key "${who.name}" has ${running} plans running; its limit is ${maxPlans} (API_MAX_PLANS_IN_FLIGHT): retry when one has finished`;
      }
      if (!why && maxTasks > 0) {
        if (tasks > maxTasks)
          return `the plan has ${tasks} tasks; a tenant may have at most ${maxTasks} in flight (TENANT_MAX_TASKS_IN_FLIGHT)`;
        const running = await this.count(
          tenantFilter(tenant),
          maxTasks - tasks + 1,
          (memo) => (typeof memo?.tasks === 'number' ? memo.tasks : 1),
          recent,
          precise,
        );
        if (running + tasks > maxTasks)
          why = `the tenant "${tenant}" has ${running} tasks in flight; with this plan's ${tasks} it would pass its limit of ${maxTasks} (TENANT_MAX_TASKS_IN_FLIGHT): retry when some have finished`;
      }
      if (!why) return undefined;
    }
    return why;
  }

  /**
   * Running plans matching `filter`, each weighing `weigh(memo)`, plus the recent admissions visibility does not list
   * yet. The listing stops past `enough`; unless `fresh`, one of at most a second ago is used again.
   */
  private async count(
    filter: string,
    enough: number,
    weigh: (memo: Record<string, unknown> | undefined) => number,
    recent: (Admitted & { planId: string })[],
    fresh: boolean,
  ): Promise<number> {
    const cached = this.listings.get(filter);
    // Only a whole listing is reused: one cut short at another plan's `enough` may undercount for this one.
    let plans = !fresh && cached?.complete && Date.now() - cached.at < LISTING_TTL_MS ? cached.plans : undefined;
    if (!plans) {
      const listed = new Map<string, number>();
      const query = `WorkflowType = 'planWorkflow' AND ExecutionStatus = 'Running' AND ${filter}`;
      let total = 0;
      let complete = true;
      await this.rpc(async () => {
        for await (const wf of this.client.workflow.list({ query, pageSize: 1_000 })) {
          const w = weigh(wf.memo);
          listed.set(wf.workflowId, w);
          total += w;
          if (total >= enough) {
            complete = false;
            break; // enough to refuse: the rest need not be read
          }
        }
      });
      plans = listed;
      if (this.listings.size >= 1_000) this.listings.delete(this.listings.keys().next().value as string);
      this.listings.set(filter, { at: Date.now(), plans, complete });
    }
    let total = 0;
    for (const w of plans.values()) total += w;
    for (const r of recent) if (!plans.has(planWorkflowId(r.planId))) total += weigh({ tasks: r.tasks });
    return total;
  }

  /** This process's admissions of the last 30 s, taken as running. */
  private recentOf(tenant: string): (Admitted & { planId: string })[] {
    const mine = this.recent.get(tenant);
    if (!mine) return [];
    const now = Date.now();
    const out: (Admitted & { planId: string })[] = [];
    for (const [planId, a] of mine) {
      if (now - a.at > RECENT_MS) mine.delete(planId);
      else out.push({ ...a, planId });
    }
    if (mine.size === 0) this.recent.delete(tenant);
    return out;
  }

  /** This process's admissions of the last 30 s that have not closed (by Temporal's word). */
  private async recentStillRunning(tenant: string): Promise<(Admitted & { planId: string })[]> {
    const out: (Admitted & { planId: string })[] = [];
    for (const a of this.recentOf(tenant)) if (await this.stillRunning(a.planId)) out.push(a);
    return out;
  }

  /** A recently admitted plan: running unless Temporal says it has closed. */
  private async stillRunning(planId: string): Promise<boolean> {
    try {
      const desc = await this.rpc(() => this.client.workflow.getHandle(planWorkflowId(planId)).describe());
      return desc.status.name === 'RUNNING';
    } catch {
      return true;
    }
  }
}
