import type { Rpc } from './temporal-rpc';
import type { Client } from '@temporalio/client';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { planWorkflowId } from '../shared/ids';
import { SubmitterKey } from '../shared/search-attributes';
import { principalOf } from './auth';
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

/**
 * Caps the plans a key has running (API_MAX_PLANS_IN_FLIGHT, or the key's maxPlansInFlight). Counts from Temporal
 * visibility (running plans whose Submitter is the key's name), plus the plans this process admitted in the last 30 s
 * that visibility may not show yet; admissions of one key are checked one at a time, so a burst cannot slip past.
 */
export class InFlightLimiter {
  private readonly recent = new Map<string, Map<string, number>>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly client: Client,
    private readonly defaultMax: number,
    private readonly rpc: Rpc,
  ) {}

  /**
   * Runs `start` if the key has room; at its cap, answers what `existing` finds (a resubmission of a plan that exists
   * starts nothing, so it is not refused), else throws 429. `start` resolves with the plan's id once it runs.
   */
  admit<T>(
    who: { name: string; maxPlansInFlight?: number } | undefined,
    start: () => Promise<T & { planId: string; created: boolean }>,
    existing: () => Promise<(T & { planId: string; created: boolean }) | undefined>,
  ): Promise<T & { planId: string; created: boolean }> {
    const max = who?.maxPlansInFlight ?? this.defaultMax;
    if (!who || max === 0) return start();
    const previous = this.queues.get(who.name) ?? Promise.resolve();
    const run = previous.then(async () => {
      const running = await this.running(who.name, max + (this.recent.get(who.name)?.size ?? 0));
      if (running >= max) {
        const known = await existing();
        if (known) return known;
        throw new ApiError(
          'RATE_LIMITED',
          `the key "${who.name}" has ${running} plans running; its limit is ${max}: retry when one has finished`,
          undefined,
          5,
        );
      }
      const answer = await start();
      if (answer.created) {
        const mine = this.recent.get(who.name) ?? new Map<string, number>();
        mine.set(answer.planId, Date.now());
        this.recent.set(who.name, mine);
      }
      return answer;
    });
    const settled = run.catch(() => undefined);
    this.queues.set(who.name, settled);
    void settled.then(() => {
      if (this.queues.get(who.name) === settled) this.queues.delete(who.name);
    });
    return run;
  }

  private async running(name: string, enough: number): Promise<number> {
    const query = `WorkflowType = 'planWorkflow' AND ExecutionStatus = 'Running' AND ${SubmitterKey.name} = '${name}'`;
    const ids = new Set<string>();
    await this.rpc(async () => {
      for await (const wf of this.client.workflow.list({ query, pageSize: Math.min(1_000, enough + 1) })) {
        ids.add(wf.workflowId);
        if (ids.size > enough) break;
      }
    });
    const mine = this.recent.get(name);
    if (!mine) return ids.size;
    const now = Date.now();
    let extra = 0;
    for (const [planId, at] of mine) {
      if (now - at > RECENT_MS) mine.delete(planId);
      else if (!ids.has(planWorkflowId(planId))) extra += (await this.stillRunning(planId)) ? 1 : 0;
    }
    return ids.size + extra;
  }

  /** A recently admitted plan visibility does not list: running unless Temporal says it has closed. */
  private async stillRunning(planId: string): Promise<boolean> {
    try {
      const desc = await this.rpc(() => this.client.workflow.getHandle(planWorkflowId(planId)).describe());
      return desc.status.name === 'RUNNING';
    } catch {
      return true;
    }
  }
}
