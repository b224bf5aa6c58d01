/*
 * src/api/events/: the API's Server-Sent Events (docs/events.md): the streams per plan and for the pool (this file),
 * the buffered feed each client reads from (event-feed.ts), what a plan's and the pool's polls turn into events
 * (plan-events.ts, plan-diff.ts, pool-events.ts, model-text.ts) and the SSE wire format with back-pressure (sse.ts).
 */
import type { Request, Response } from 'express';
import type { Client } from '@temporalio/client';
import type { Config } from '../../config';
import type { Logger } from '../../observability/logger';
import { taskWorkflowId } from '../../shared/ids';
import { taskStatusQuery } from '../../workflows/messages';
import { temporalRpc, type Rpc } from '../temporal-rpc';
import { ApiError } from '../errors';
import type { AgentService } from '../agent-service';
import { EventFeed, type FeedSource, type FeedSubscriber } from './event-feed';
import { PlanEventSource } from './plan-events';
import type { PlanViews } from '../plans/plan-views';
import { PoolEventSource } from './pool-events';
import { lastEventIdOf, SseStream } from './sse';

/** How long the list of model agent types is reused (it changes only when agent types are registered). */
const REGISTRY_TTL_MS = 10_000;

export interface EventStreamDeps {
  client: Client;
  config: Config;
  plans: PlanViews;
  agents: AgentService;
  log: Logger;
}

/**
 * GET /v1/plans/:planId/events and GET /v1/agents/events (docs/events.md): one feed per plan and one for the pool in this
 * API process, shared by all their subscribers; a feed without subscribers stops polling and is dropped after
 * EVENTS_LINGER_SECONDS (until then a reconnect resumes from its buffer).
 */
export class EventStreams {
  private readonly feeds = new Map<string, EventFeed>();
  private readonly lingering = new Map<string, NodeJS.Timeout>();
  /** Streams open per tenant (TENANT_MAX_EVENT_STREAMS). */
  private readonly openByTenant = new Map<string, number>();
  private modelTypes?: { at: number; types: Promise<ReadonlySet<string>> };
  private closed = false;

  private readonly rpc: Rpc;

  constructor(private readonly deps: EventStreamDeps) {
    this.rpc = temporalRpc(deps.client, deps.config.TEMPORAL_RPC_TIMEOUT_MS);
  }

  private models(): Promise<ReadonlySet<string>> {
    if (!this.modelTypes || Date.now() - this.modelTypes.at > REGISTRY_TTL_MS) {
      const types = this.deps.agents
        .registry()
        .then((r) => new Set(r.agentTypes.filter((t) => t.runtime.provider !== 'offline').map((t) => t.name)));
      this.modelTypes = { at: Date.now(), types };
      types.catch(() => (this.modelTypes = undefined));
    }
    return this.modelTypes.types;
  }

  private feed(key: string, source: () => FeedSource): EventFeed {
    const timer = this.lingering.get(key);
    if (timer) clearTimeout(timer);
    this.lingering.delete(key);
    let feed = this.feeds.get(key);
    if (!feed) {
      const { config, log } = this.deps;
      const created: EventFeed = new EventFeed(
        source(),
        { pollMs: config.EVENTS_POLL_MS, bufferSize: config.EVENTS_BUFFER_SIZE, log },
        () => this.linger(key, created),
      );
      feed = created;
      this.feeds.set(key, feed);
    }
    return feed;
  }

  private linger(key: string, feed: EventFeed): void {
    const old = this.lingering.get(key);
    if (old) clearTimeout(old);
    const timer = setTimeout(() => {
      this.lingering.delete(key);
      if (feed.subscriberCount === 0 && this.feeds.get(key) === feed) this.feeds.delete(key);
    }, this.deps.config.EVENTS_LINGER_SECONDS * 1_000);
    timer.unref();
    this.lingering.set(key, timer);
  }

  /** A 429 naming the limit when `tenant` has its streams open; else counts this one until its response closes. */
  private hold(tenant: string, onClose: (fn: () => void) => void): void {
    const max = this.deps.config.TENANT_MAX_EVENT_STREAMS;
    const open = this.openByTenant.get(tenant) ?? 0;
    if (max > 0 && open >= max)
      throw new ApiError(
        'RATE_LIMITED',
        `the tenant "${tenant}" has ${open} event streams open; its limit is ${max} (TENANT_MAX_EVENT_STREAMS): close one first`,
        undefined,
        5,
      );
    this.openByTenant.set(tenant, open + 1);
    onClose(() => {
      const left = (this.openByTenant.get(tenant) ?? 1) - 1;
      if (left > 0) this.openByTenant.set(tenant, left);
      else this.openByTenant.delete(tenant);
    });
  }

  private async serve(
    req: Request,
    res: Response,
    key: string,
    tenant: string,
    source: () => FeedSource,
  ): Promise<void> {
    this.hold(tenant, (fn) => res.once('close', fn));
    const feed = this.feed(key, source);
    try {
      await feed.ready();
    } catch (err) {
      // Nothing to watch (no such plan, Temporal down): answer as the JSON routes do, and keep no feed for it.
      if (feed.subscriberCount === 0 && this.feeds.get(key) === feed) this.feeds.delete(key);
      throw err;
    }
    const lastEventId = lastEventIdOf(req);
    if (feed.finishedFor(lastEventId) || this.closed || req.socket.destroyed) {
      // The client saw the end already (204 tells EventSource not to reconnect), or left while the feed got ready.
      if (!req.socket.destroyed) res.status(204).end();
    } else {
      const { EVENTS_KEEPALIVE_SECONDS, EVENTS_CLIENT_BUFFER_BYTES } = this.deps.config;
      feed.subscribe(new SseStream(res, EVENTS_KEEPALIVE_SECONDS * 1_000, EVENTS_CLIENT_BUFFER_BYTES), lastEventId);
    }
    // feed() stopped its linger timer: with nobody subscribed (an ended feed takes no subscriber), start it again.
    if (feed.subscriberCount === 0) this.linger(key, feed);
  }

  private planSource(planId: string): FeedSource {
    return new PlanEventSource(planId, {
      plans: this.deps.plans,
      client: this.deps.client,
      modelTypes: () => this.models(),
      rpc: this.rpc,
      finalView: (id, taskId) =>
        this.rpc(() => this.deps.client.workflow.getHandle(taskWorkflowId(id, taskId)).query(taskStatusQuery)),
    });
  }

  plan(req: Request, res: Response, planId: string, tenant: string): Promise<void> {
    return this.serve(req, res, `plan:${planId}`, tenant, () => this.planSource(planId));
  }

  /**
   * The same plan feed for a subscriber inside the API (the A2A bindings' streams): a `snapshot` first, then the plan's
   * events, until `end` or the subscriber closes. Counts as one of `tenant`'s streams while it is open. Throws as
   * GET /v1/plans/:planId/events answers (404, 429, 503).
   */
  async followPlan(planId: string, tenant: string, subscriber: FeedSubscriber): Promise<void> {
    this.hold(tenant, (fn) => subscriber.onClose(fn));
    const key = `plan:${planId}`;
    const feed = this.feed(key, () => this.planSource(planId));
    try {
      await feed.ready();
    } catch (err) {
      subscriber.close();
      if (feed.subscriberCount === 0 && this.feeds.get(key) === feed) this.feeds.delete(key);
      throw err;
    }
    if (this.closed) subscriber.close();
    else feed.subscribe(subscriber);
    if (feed.subscriberCount === 0) this.linger(key, feed);
  }

  pool(req: Request, res: Response, tenant: string): Promise<void> {
    return this.serve(req, res, 'pool', tenant, () => new PoolEventSource(() => this.deps.agents.agents()));
  }

  /** Subscribers and feeds now (tests, metrics). */
  stats(): { feeds: number; subscribers: number } {
    let subscribers = 0;
    for (const f of this.feeds.values()) subscribers += f.subscriberCount;
    return { feeds: this.feeds.size, subscribers };
  }

  /** API shutdown: every open stream ends (clients reconnect elsewhere), polling stops. */
  close(): void {
    this.closed = true;
    for (const t of this.lingering.values()) clearTimeout(t);
    for (const f of this.feeds.values()) f.stop();
    this.feeds.clear();
  }
}
