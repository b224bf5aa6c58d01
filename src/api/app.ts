import express, { type NextFunction, type Request, type Response } from 'express';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../config';
import type { Registry } from '../shared/registry';
import { PLAN_STATUSES } from '../shared/status';
import { ApiError, errorHandler } from './errors';
import { openApiDocument } from './openapi';
import { AgentService } from './agent-service';
import { authenticate, loadApiKeys, principalOf } from './auth';
import { codecCors, codecRoutes } from './codec-endpoint';
import { EncryptionCodec } from '../encryption/payload-codec';
import { InFlightLimiter, requestRateLimit } from './quotas';
import { ApiMetrics } from './metrics';
import { silentLogger, type Logger } from '../observability/logger';
import { observeRequests } from '../observability/http';
import { PlanService } from './plan-service';
import { dashboardRoutes } from './dashboard';

const PlanIdParam = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/);
const ResultQuery = z.object({ wait: z.coerce.number().min(0).max(60).default(0) });
const ListQuery = z.object({
  status: z.enum(PLAN_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(50),
});
const MessageBody = z.object({
  id: z.string().min(1).max(200).optional(),
  from: z.string().min(1).max(200).optional(),
  to: z.string().min(1).max(200),
  body: z.unknown().refine((b) => b !== undefined, 'body is required'),
});
const InputBody = z.object({ approved: z.boolean(), data: z.unknown().optional() });
const ReasonBody = z.object({ reason: z.string().max(1_000).optional() }).default({});

function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join('.'),
    message: i.message,
  }));
  throw new ApiError(
    'VALIDATION_ERROR',
    `invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    issues,
  );
}

function planId(req: Request): string {
  const id = req.params.planId;
  if (!PlanIdParam.safeParse(id).success) throw new ApiError('NOT_FOUND', `no plan "${String(id)}"`);
  return id as string;
}

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

export interface AppDeps {
  client: Client;
  config: Config;
  /** The registry file's types: they seed the pool if no worker has started it yet. */
  registry: Registry;
  /** Request logs and unexpected errors (JSON); silent when absent. */
  log?: Logger;
  /** The /metrics registry; a fresh one when absent. */
  metrics?: ApiMetrics;
}

/** The HTTP API (README, "HTTP API"): validates with zod, then starts, signals and queries workflows. Holds no state. */
export function createApp({
  client,
  config,
  registry,
  log = silentLogger,
  metrics = new ApiMetrics(),
}: AppDeps): express.Express {
  const agents = new AgentService(client, config, registry);
  const plans = new PlanService(client, config, () => agents.registry(), registry);
  const publicPaths = new Set(config.API_PUBLIC_PATHS);
  const inFlight = new InFlightLimiter(client, config.API_MAX_PLANS_IN_FLIGHT, (fn) =>
    client.connection.withDeadline(Date.now() + config.TEMPORAL_RPC_TIMEOUT_MS, fn),
  );
  const app = express();
  app.disable('x-powered-by');
  app.use(observeRequests({ log, duration: metrics.httpDuration }));
  const codecOrigins =
    config.CODEC_CORS_ORIGINS ?? (config.TEMPORAL_UI_URL ? [new URL(config.TEMPORAL_UI_URL).origin] : []);
  app.use(codecCors(codecOrigins));
  // The dashboard's page and assets (no data in them): before the keys, so the page can ask for one.
  app.use(dashboardRoutes());
  // Who is asking, then how often, and only then the body: unauthenticated or throttled requests are not parsed.
  app.use(authenticate({ keys: loadApiKeys(config), publicPaths }));
  app.use(requestRateLimit(config.API_RATE_LIMIT_PER_MINUTE, publicPaths));
  app.use(requireJson, express.json({ limit: config.PLAN_MAX_BYTES, strict: false }));

  app.get('/healthz', async (_req, res) => {
    if (await plans.healthy()) res.json({ status: 'ok' });
    else
      res.status(503).json({
        status: 'unavailable',
        error: { code: 'TEMPORAL_UNAVAILABLE', message: `Temporal at ${config.TEMPORAL_ADDRESS} does not answer` },
      });
  });
  app.get('/readyz', async (_req, res) => {
    if (!(await plans.healthy())) {
      res.status(503).json({
        status: 'unavailable',
        error: { code: 'TEMPORAL_UNAVAILABLE', message: `Temporal at ${config.TEMPORAL_ADDRESS} does not answer` },
      });
      return;
    }
    const r = await agents.readiness();
    if (r.ready) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'not ready', error: { code: 'NOT_READY', message: r.reason } });
  });
  app.get('/metrics', async (_req, res) => {
    const [pool, plansByStatus] = await Promise.all([agents.poolView(), plans.countByStatus()]);
    metrics.update(pool, plansByStatus);
    res.type(metrics.registry.contentType).send(await metrics.render());
  });
  app.use(codecRoutes(config.encryption ? new EncryptionCodec(config.encryption) : undefined));
  app.get('/v1/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });

  app.post('/v1/plans', async (req, res) => {
    if (req.body === undefined) throw new ApiError('VALIDATION_ERROR', 'request body is empty: send a plan as JSON');
    const who = principalOf(res);
    const { created, answer } = await inFlight.admit(who, async () => {
      const r = await plans.submit(req.body, who?.name);
      return { ...r, planId: r.answer.planId };
    });
    res
      .status(created ? 202 : 200)
      .location(answer.links.self)
      .json(answer);
  });
  app.get('/v1/plans', async (req, res) => {
    const q = parse(ListQuery, req.query, 'query');
    res.json({ plans: await plans.list(q.status, q.limit) });
  });
  app.get('/v1/plans/:planId', async (req, res) => {
    res.json(await plans.status(planId(req)));
  });
  app.get('/v1/plans/:planId/result', async (req, res) => {
    const id = planId(req);
    const { wait } = parse(ResultQuery, req.query, 'query');
    const result = await plans.result(id, wait);
    if (result) res.json(result);
    else {
      // Still running. The progress needs a worker to answer the status query; without one, say running anyway.
      const view = await plans.progress(id).catch(() => undefined);
      res.status(202).json({ planId: id, status: 'running', ...(view ? { progress: view.progress } : {}) });
    }
  });
  app.get('/v1/plans/:planId/tasks/:taskId', async (req, res) => {
    res.json(await plans.task(planId(req), String(req.params.taskId)));
  });
  app.post('/v1/plans/:planId/cancel', async (req, res) => {
    const id = planId(req);
    const { reason } = parse(ReasonBody, req.body, 'body');
    await plans.cancel(id, reason);
    res.status(202).json({ planId: id, status: 'cancelling' });
  });
  app.post('/v1/plans/:planId/tasks/:taskId/cancel', async (req, res) => {
    const id = planId(req);
    const { reason } = parse(ReasonBody, req.body, 'body');
    const task = await plans.cancelTask(id, String(req.params.taskId), reason);
    res.status(202).json({ planId: id, taskId: task.id, status: 'cancelling' });
  });
  app.post('/v1/plans/:planId/pause', async (req, res) => {
    const id = planId(req);
    await plans.pause(id, true);
    res.status(202).json({ planId: id, paused: true });
  });
  app.post('/v1/plans/:planId/resume', async (req, res) => {
    const id = planId(req);
    await plans.pause(id, false);
    res.status(202).json({ planId: id, paused: false });
  });

  app.post('/v1/plans/:planId/messages', async (req, res) => {
    const id = planId(req);
    const message = await plans.sendMessage(id, parse(MessageBody, req.body, 'body'));
    res.status(202).json({ planId: id, messageId: message.id, to: message.to });
  });
  app.get('/v1/plans/:planId/messages', async (req, res) => {
    res.json({ messages: await plans.messages(planId(req)) });
  });
  app.post('/v1/plans/:planId/tasks/:taskId/input', async (req, res) => {
    const id = planId(req);
    const taskId = String(req.params.taskId);
    const state = await plans.taskInput(id, taskId, parse(InputBody, req.body, 'body'));
    res.json({ planId: id, taskId, state });
  });

  app.get('/v1/agent-types', async (_req, res) => {
    res.json({ agentTypes: (await agents.registry()).agentTypes });
  });
  app.get('/v1/agent-types/:name', async (req, res) => {
    res.json(await agents.agentType(String(req.params.name)));
  });
  app.put('/v1/agent-types/:name', async (req, res) => {
    const { created, type } = await agents.putAgentType(String(req.params.name), req.body);
    res.status(created ? 201 : 200).json(type);
  });
  app.delete('/v1/agent-types/:name', async (req, res) => {
    await agents.deleteAgentType(String(req.params.name));
    res.status(204).end();
  });
  app.get('/v1/agents', async (_req, res) => {
    res.json(await agents.agents());
  });
  app.get('/v1/agents/:agentId', async (req, res) => {
    res.json(await agents.agent(String(req.params.agentId)));
  });
  app.delete('/v1/agents/:agentId', async (req, res) => {
    await agents.terminate(String(req.params.agentId));
    res.status(204).end();
  });

  app.use((req, _res, next) => next(new ApiError('NOT_FOUND', `no route ${req.method} ${req.path}`)));
  app.use(errorHandler(log));
  return app;
}
