/*
 * src/api/a2a/: the orchestrator as an A2A agent (docs/a2a.md). The SDK's bindings (JSON-RPC, HTTP+JSON) and its card
 * handler are mounted here over `PlanAgent` (plan-agent.ts), which reads and drives plans through the plans API's
 * services; plan-as-task.ts and message-as-plan.ts translate between plans and A2A; agent-card.ts builds the card.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { agentCardHandler, jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';
import type { Principal, Scope } from '../auth';
import { principalOf } from '../auth';
import { ApiError } from '../errors';
import { routeOf } from '../routes';
import { A2A_PATHS, agentCardOf } from './agent-card';
import { ApiUser, PlanAgent, type PlanAgentDeps } from './plan-agent';

/** The scope each JSON-RPC method needs (one path serves them all, so the route table gives only the least). */
const JSON_RPC_SCOPES: Record<string, Scope> = {
  SendMessage: 'submit',
  SendStreamingMessage: 'submit',
  CancelTask: 'operate',
};

export interface A2aMountOptions extends Omit<PlanAgentDeps, 'card'> {
  /** Keys are configured: the card declares the API's key schemes, and JSON-RPC methods check their scope. */
  keyed: boolean;
  /** Where clients reach the API (A2A_PUBLIC_URL); default: the origin each request came to. */
  publicUrl?: string;
  /** The largest JSON body the API takes (PLAN_MAX_BYTES). */
  maxBodyBytes: number;
  version: string;
}

/** The caller: the key's principal, and a signal that the client went away (its streams and waits stop then). */
function userOf(req: Request): Promise<ApiUser> {
  const res = req.res as Response;
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  return Promise.resolve(new ApiUser(principalOf(res), gone.signal));
}

/** 403 in the API's envelope when the key lacks the scope the JSON-RPC method needs. */
function jsonRpcScopes(keyed: boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const who: Principal | undefined = principalOf(res);
    if (!keyed || req.method !== 'POST' || !who) return next();
    const calls: unknown[] = Array.isArray(req.body) ? req.body : [req.body];
    for (const call of calls) {
      const method = (call as { method?: unknown } | null)?.method;
      const scope = typeof method === 'string' ? JSON_RPC_SCOPES[method] : undefined;
      if (scope && !who.scopes.has(scope))
        return next(
          new ApiError(
            'FORBIDDEN',
            `the key "${who.name}" lacks the "${scope}" scope needed for the A2A method ${String(method)}`,
          ),
        );
    }
    next();
  };
}

/** A body that is not JSON, on the JSON-RPC binding: JSON-RPC's parse error, as the SDK answers it. */
function jsonRpcParseError(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (err instanceof SyntaxError && 'body' in err) {
    res.status(200).json({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Invalid JSON payload.' } });
    return;
  }
  next(err);
}

/**
 * Mounts the A2A card and bindings on the app, after authentication and rate limits: only the requests the route table
 * lists reach the SDK (its tenant-prefixed and push-notification paths are not served), the rest fall through to the
 * API's 404 and 405.
 */
export function mountA2a(app: express.Express, opts: A2aMountOptions): void {
  const card = async (origin: string) =>
    agentCardOf(await opts.registry(), { origin: opts.publicUrl ?? origin, keyed: opts.keyed, version: opts.version });
  const agent = new PlanAgent({ ...opts, card: () => card('http://localhost') });
  const listed = (req: Request) => routeOf(req.method, `${req.baseUrl}${req.path}`)?.servedBy === 'a2a';
  const only =
    (handler: express.RequestHandler) =>
    (req: Request, res: Response, next: NextFunction): void => {
      if (listed(req)) void handler(req, res, next);
      else next();
    };
  app.use(
    A2A_PATHS.card,
    only((req, res, next) => {
      const origin = `${req.protocol}://${req.get('host') ?? 'localhost'}`;
      void agentCardHandler({ agentCardProvider: () => card(origin) })(req, res, next);
    }),
  );
  // Bodies are read here, up to the API's limit (the SDK's own parser would stop at 100 kB), so a plan in a data part
  // may be as big as POST /v1/plans takes; the SDK's parsers then find them read.
  const body = only(
    express.json({ limit: opts.maxBodyBytes, type: ['application/json', 'application/a2a+json'], strict: false }),
  );
  app.use(
    A2A_PATHS.jsonRpc,
    body,
    jsonRpcParseError,
    only(jsonRpcScopes(opts.keyed)),
    only(jsonRpcHandler({ requestHandler: agent, userBuilder: userOf })),
  );
  app.use(A2A_PATHS.rest, body, only(restHandler({ requestHandler: agent, userBuilder: userOf })));
}
