import express, { type NextFunction, type Request, type Response } from 'express';
import type { Client } from '@temporalio/client';
import type { z } from 'zod';
import type { Config } from '../config';
import type { Registry } from '../shared/registry';
import { ApiError, errorHandler, parseInput as parse } from './errors';
import { authenticate, loadApiKeys, principalFrom, principalOf, type Principal, type StoredKey } from './auth';
import { codecCors, codecOf } from './codec-endpoint';
import { failedAuthLimiter, InFlightLimiter, requestRateLimit } from './quotas';
import { temporalAnswers, temporalRpc } from './temporal-rpc';
import { ApiMetrics } from './metrics';
import { silentLogger, type Logger } from '../observability/logger';
import { observeRequests } from '../observability/http';
import { openApiDocument } from './openapi';
import { AgentService } from './agent-service';
import { planServices, PlanReruns, spansTenants, tenantOf, type Submitted } from './plans';
import type { RerunBody } from './schemas';
import { ScheduleService } from './schedules/schedule-service';
import { dashboardRoutes } from './dashboard';
import { EventStreams } from './events/event-streams';
import type { RouteSpec } from './route-spec';
import { ROUTE_LIST, ROUTES, methodsOf, type HandledOperationId } from './routes';
import { mountA2a } from './a2a/mount';

/** Rejects bodies that are not JSON before they are parsed (415), so bad input never reaches Temporal. */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    next(
      new ApiError(
        'UNSUPPORTED_MEDIA_TYPE',
        `expected Content-Type: application/json, got ${req.headers['content-type'] ?? 'none'}`,
      ),
    );
    return;
  }
  next();
}

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;
/** What a handler gets: the path parameters, query and body, parsed with the route's schemas. */
interface Input<R> {
  params: R extends { params: infer P } ? Out<P> : Record<string, never>;
  query: R extends { query: infer Q } ? Out<Q> : Record<string, never>;
  body: R extends { body: { checkedBy: 'service' } }
    ? unknown
    : R extends { body: { schema: infer B } }
      ? Out<B>
      : undefined;
}
type Handlers = {
  [K in HandledOperationId]: (input: Input<(typeof ROUTES)[K]>, res: Response) => Promise<void> | void;
};

/** Parses a request with its route's schemas: a path that does not fit is no such resource (404), the rest 400. */
function inputOf(route: RouteSpec, req: Request): Input<RouteSpec> {
  let params = {};
  if (route.params) {
    const parsed = route.params.safeParse(req.params);
    if (!parsed.success) {
      const what =
        req.params.planId !== undefined
          ? `plan "${String(req.params.planId)}"`
          : req.params.scheduleId !== undefined
            ? `schedule "${String(req.params.scheduleId)}"`
            : `resource ${req.path}`;
      throw new ApiError('NOT_FOUND', `no ${what}`);
    }
    params = parsed.data;
  }
  const query = route.query ? parse(route.query, req.query, 'query') : {};
  let body: unknown = undefined;
  if (route.body) {
    if (req.body === undefined && route.body.required)
      throw new ApiError('VALIDATION_ERROR', 'request body is empty: send it as JSON (Content-Type: application/json)');
    body =
      route.body.checkedBy === 'service'
        ? req.body
        : parse(route.body.schema, req.body === undefined ? {} : req.body, 'body');
  }
  return { params, query, body } as Input<RouteSpec>;
}

export interface AppDeps {
  client: Client;
  config: Config;
  /** The registry file's types: they seed the pool if no worker has started it yet. */
  registry: Registry;
  /** Request logs and unexpected errors (JSON); silent when absent. */
  log?: Logger;
  /** The /metrics registry; a fresh one when absent. */
  metrics?: ApiMetrics;
  /** The API keys, when the caller loaded them already; else read from the configuration. */
  keys?: readonly StoredKey[];
}

/**
 * The HTTP API (docs/api.md): every route comes from the route table (routes.ts), which the OpenAPI document is
 * generated from too; the handlers below validate nothing themselves and hold no state.
 */
export function createApp({
  client,
  config,
  registry,
  log = silentLogger,
  metrics = new ApiMetrics(),
  keys = loadApiKeys(config),
}: AppDeps): express.Express {
  const agents = new AgentService(client, config, registry);
  const plans = planServices(client, config, () => agents.registry(), registry);
  const schedules = new ScheduleService(plans.lookup, plans.submission, plans.views);
  const events = new EventStreams({ client, config, plans: plans.views, agents, log });
  const publicPaths = new Set(config.API_PUBLIC_PATHS);
  const inFlight = new InFlightLimiter(
    client,
    { plansPerKey: config.API_MAX_PLANS_IN_FLIGHT, tasksPerTenant: config.TENANT_MAX_TASKS_IN_FLIGHT },
    temporalRpc(client, config.TEMPORAL_RPC_TIMEOUT_MS),
  );
  const codec = codecOf(config.encryption);
  const unavailable = (code: 'TEMPORAL_UNAVAILABLE' | 'NOT_READY', status: string, message: string) => ({
    status,
    error: { code, message },
  });
  const temporalDown = () => `Temporal at ${config.TEMPORAL_ADDRESS} does not answer`;

  /** POST /v1/plans, and an A2A message that starts a plan: the same checks, quota and start. */
  const submit = async (body: unknown, who: Principal | undefined): Promise<Submitted> => {
    // Checked before any quota (a bad plan is a 400 whatever the key's room); a resubmission of a plan that exists
    // answers 200 even at the key's cap, since it starts nothing.
    const prepared = await plans.submission.prepare(body);
    return inFlight.admit(
      { who, tasks: prepared.taskCount, planId: prepared.plan.id },
      async () => {
        const r = await plans.submission.start(prepared, who);
        if (r.created) plans.gate.remember(r.answer.planId, tenantOf(who));
        return { ...r, planId: r.answer.planId };
      },
      async () => {
        const r = await plans.submission.existing(prepared, who);
        return r && { ...r, planId: r.answer.planId };
      },
    );
  };

  /** POST /v1/plans/:planId/rerun: checked like a submission, then the same quota (tasks that run again) and start. */
  const rerun = async (sourceId: string, body: z.output<typeof RerunBody>, who: Principal | undefined) => {
    const forked = await plans.reruns.prepare(sourceId, body);
    const { prepared, fork } = forked;
    const r = await inFlight.admit(
      { who, tasks: prepared.taskCount, planId: prepared.plan.id },
      async () => {
        const started = await plans.submission.start(prepared, who, fork);
        if (started.created) plans.gate.remember(started.answer.planId, fork.tenant);
        return { ...started, planId: started.answer.planId };
      },
      async () => {
        const known = await plans.submission.existing(prepared, who, fork.tenant);
        return known && { ...known, planId: known.answer.planId };
      },
    );
    return { created: r.created, answer: { ...r.answer, ...PlanReruns.lineage(forked) } };
  };

  const handlers: Handlers = {
    // Liveness only: a restart would not bring Temporal back, so its absence is /readyz's business.
    health: (_in, res) => {
      res.json({ status: 'ok' });
    },
    // Public, for load balancers: with keys configured, what is missing and where Temporal is go only to a valid key.
    ready: async (_in, res) => {
      const detailed = keys.length === 0 || principalFrom(keys, res.req) !== undefined;
      const notReady = (code: 'TEMPORAL_UNAVAILABLE' | 'NOT_READY', status: string, message: string) =>
        res.status(503).json(detailed ? unavailable(code, status, message) : { status });
      if (!(await temporalAnswers(client))) {
        notReady('TEMPORAL_UNAVAILABLE', 'unavailable', temporalDown());
        return;
      }
      const r = await agents.readiness();
      if (r.ready) res.json({ status: 'ready' });
      else notReady('NOT_READY', 'not ready', r.reason);
    },
    metrics: async (_in, res) => {
      const [pool, plansByStatus] = await Promise.all([agents.poolView(), plans.views.countByStatus()]);
      metrics.update(pool, plansByStatus, events.stats());
      res.type(metrics.registry.contentType).send(await metrics.render());
    },
    openapi: (_in, res) => {
      res.json(openApiDocument(keys.length > 0));
    },

    codecEncode: async ({ body }, res) => {
      res.json(await codec('encode', body));
    },
    codecDecode: async ({ body }, res) => {
      res.json(await codec('decode', body));
    },

    submitPlan: async ({ body }, res) => {
      const { created, answer } = await submit(body, principalOf(res));
      res
        .status(created ? 202 : 200)
        .location(answer.links.self)
        .json(answer);
    },
    rerunPlan: async ({ params, body }, res) => {
      const { created, answer } = await rerun(params.planId, body, principalOf(res));
      res
        .status(created ? 202 : 200)
        .location(answer.links.self)
        .json(answer);
    },
    listPlans: async ({ query }, res) => {
      const who = principalOf(res);
      res.json({ plans: await plans.views.list(query, query.limit, spansTenants(who) ? undefined : who?.tenant) });
    },
    getPlan: async ({ params }, res) => {
      res.json(await plans.views.status(params.planId));
    },
    planEvents: async ({ params }, res) => {
      await events.plan(res.req, res, params.planId, tenantOf(principalOf(res)));
    },
    getResult: async ({ params: { planId }, query }, res) => {
      const result = await plans.results.result(planId, query.wait);
      if (result) res.json(result);
      else {
        // Still running. The progress needs a worker to answer the status query; without one, say running anyway.
        const view = await plans.views.progress(planId).catch(() => undefined);
        res.status(202).json({ planId, status: 'running', ...(view ? { progress: view.progress } : {}) });
      }
    },
    getTask: async ({ params }, res) => {
      res.json(await plans.tasks.task(params.planId, params.taskId));
    },
    getTaskSpec: async ({ params }, res) => {
      res.json(await plans.tasks.declared(params.planId, params.taskId));
    },
    cancelPlan: async ({ params: { planId }, body }, res) => {
      await plans.control.cancel(planId, body.reason);
      res.status(202).json({ planId, status: 'cancelling' });
    },
    cancelTask: async ({ params: { planId, taskId }, body }, res) => {
      const task = await plans.control.cancelTask(planId, taskId, body.reason);
      res.status(202).json({ planId, taskId: task.id, status: 'cancelling' });
    },
    pausePlan: async ({ params: { planId } }, res) => {
      await plans.control.pause(planId, true);
      res.status(202).json({ planId, paused: true });
    },
    resumePlan: async ({ params: { planId } }, res) => {
      await plans.control.pause(planId, false);
      res.status(202).json({ planId, paused: false });
    },
    sendMessage: async ({ params: { planId }, body }, res) => {
      const message = await plans.control.sendMessage(planId, body);
      res.status(202).json({ planId, messageId: message.id, to: message.to });
    },
    listMessages: async ({ params }, res) => {
      res.json({ messages: await plans.views.messages(params.planId) });
    },
    taskInput: async ({ params: { planId, taskId }, body }, res) => {
      const state = await plans.control.taskInput(planId, taskId, body);
      res.json({ planId, taskId, state });
    },

    createSchedule: async ({ body }, res) => {
      const { created, answer } = await schedules.create(body, principalOf(res));
      res
        .status(created ? 201 : 200)
        .location(answer.links.self)
        .json(answer);
    },
    listSchedules: async ({ query }, res) => {
      res.json({ schedules: await schedules.list(query.limit, principalOf(res)) });
    },
    getSchedule: async ({ params }, res) => {
      res.json(await schedules.get(params.scheduleId, principalOf(res)));
    },
    pauseSchedule: async ({ params: { scheduleId }, body }, res) => {
      await schedules.setPaused(scheduleId, principalOf(res), true, body.reason);
      res.json({ scheduleId, paused: true });
    },
    unpauseSchedule: async ({ params: { scheduleId }, body }, res) => {
      await schedules.setPaused(scheduleId, principalOf(res), false, body.reason);
      res.json({ scheduleId, paused: false });
    },
    triggerSchedule: async ({ params: { scheduleId } }, res) => {
      await schedules.trigger(scheduleId, principalOf(res));
      res.status(202).json({ scheduleId, triggered: true });
    },
    deleteSchedule: async ({ params: { scheduleId } }, res) => {
      await schedules.delete(scheduleId, principalOf(res));
      res.status(204).end();
    },

    listAgentTypes: async (_in, res) => {
      res.json({ agentTypes: (await agents.registry()).agentTypes });
    },
    getAgentType: async ({ params }, res) => {
      res.json(await agents.agentType(params.name));
    },
    putAgentType: async ({ params, body }, res) => {
      const { created, type } = await agents.putAgentType(params.name, body);
      res.status(created ? 201 : 200).json(type);
    },
    deleteAgentType: async ({ params }, res) => {
      await agents.deleteAgentType(params.name);
      res.status(204).end();
    },
    listAgents: async (_in, res) => {
      res.json(await agents.agents());
    },
    agentEvents: async (_in, res) => {
      await events.pool(res.req, res, tenantOf(principalOf(res)));
    },
    getAgent: async ({ params }, res) => {
      const who = principalOf(res);
      res.json(await agents.agent(params.agentId, spansTenants(who) ? undefined : who?.tenant));
    },
    terminateAgent: async ({ params }, res) => {
      await agents.terminate(params.agentId);
      res.status(204).end();
    },
  };

  const app = express();
  app.disable('x-powered-by');
  app.locals.eventStreams = events;
  app.use(observeRequests({ log, duration: metrics.httpDuration }));
  const codecOrigins =
    config.CODEC_CORS_ORIGINS ?? (config.TEMPORAL_UI_URL ? [new URL(config.TEMPORAL_UI_URL).origin] : []);
  app.use(codecCors(codecOrigins));
  // The dashboard's page and assets (no data in them): before the keys, so the page can ask for one.
  app.use(dashboardRoutes());
  // Who is asking, then how often, and only then the body: unauthenticated or throttled requests are not parsed.
  app.use(authenticate({ keys, publicPaths, onRefused: failedAuthLimiter(config.API_RATE_LIMIT_PER_MINUTE) }));
  app.use(requestRateLimit(config.API_RATE_LIMIT_PER_MINUTE, publicPaths));
  mountA2a(app, {
    plans,
    events,
    registry: () => agents.registry(),
    submit,
    keyed: keys.length > 0,
    ...(config.A2A_PUBLIC_URL ? { publicUrl: config.A2A_PUBLIC_URL } : {}),
    maxBodyBytes: config.PLAN_MAX_BYTES,
    version: '1',
  });
  const jsonBody = [requireJson, express.json({ limit: config.PLAN_MAX_BYTES, strict: false })];
  for (const route of ROUTE_LIST) {
    if (route.servedBy) continue;
    const handle = handlers[route.operationId as HandledOperationId] as (
      input: Input<RouteSpec>,
      res: Response,
    ) => Promise<void> | void;
    app[route.method](route.path, ...(route.body ? jsonBody : []), async (req: Request, res: Response) => {
      const input = inputOf(route, req);
      // A plan of another tenant is no plan: refused here, before any handler reads or touches it.
      const { planId } = input.params as { planId?: string };
      if (planId !== undefined) await plans.gate.check(planId, principalOf(res));
      await handle(input, res);
    });
  }
  // A known path with a method it does not have: 405 with the methods it has (OPTIONS answers just those).
  for (const path of new Set(ROUTE_LIST.map((r) => r.path))) {
    const methods = methodsOf(path);
    const allow = [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
    app.all(path, (req, res, next) => {
      res.set('Allow', allow);
      if (req.method === 'OPTIONS') res.status(204).end();
      else next(new ApiError('METHOD_NOT_ALLOWED', `${req.method} ${req.path}: this path takes ${allow}`));
    });
  }
  app.use((req, _res, next) => next(new ApiError('NOT_FOUND', `no route ${req.method} ${req.path}`)));
  app.use(errorHandler(log));
  return app;
}

/** Ends every open event stream of an app made by createApp (API shutdown: server.close waits for open responses). */
export function closeEventStreams(app: express.Express): void {
  (app.locals.eventStreams as EventStreams | undefined)?.close();
}
