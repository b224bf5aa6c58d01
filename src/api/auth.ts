import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { ApiError } from './errors';
import { scopeOf as routeScope } from './routes';
import { describeIssues } from '../shared/zod-issues';
import { DEFAULT_TENANT, TENANT_NAME } from '../shared/tenant';

/**
 * API keys and scopes (docs/security.md). Keys come from API_KEYS_FILE or API_KEYS (the same JSON); each has a name
 * (used in logs, quotas and the plans' Submitter search attribute: never the key), scopes, and optional quotas.
 */
export const SCOPES = ['read', 'submit', 'operate', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

const KeyEntry = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}$/, 'letters, digits and _.:@- (max 100)'),
    /** The key itself (at least 24 characters), or its SHA-256 as "sha256:<64 hex>" so the file holds no secret. */
    key: z.union([
      z.string().regex(/^sha256:[0-9a-f]{64}$/),
      z.string().min(24, 'a key has at least 24 characters').max(512),
    ]),
    scopes: z.array(z.enum([...SCOPES, '*'])).min(1),
    /** The tenant the key belongs to (docs/security.md, "Tenants"); default: the default tenant. */
    tenant: z.string().regex(TENANT_NAME, 'letters, digits and _.:@- (max 64)').optional(),
    /** Requests per minute for this key; default API_RATE_LIMIT_PER_MINUTE. */
    requestsPerMinute: z.number().int().min(0).optional(),
    /** Running plans submitted with this key; default API_MAX_PLANS_IN_FLIGHT. */
    maxPlansInFlight: z.number().int().min(0).optional(),
  })
  .strict();
const KeyList = z.array(KeyEntry).superRefine((keys, ctx) => {
  const names = new Set<string>();
  for (const [i, k] of keys.entries()) {
    if (names.has(k.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate name "${k.name}"` });
    names.add(k.name);
  }
});

export interface Principal {
  name: string;
  /** Whose plans the key sees and touches; `admin` keys span every tenant. */
  tenant: string;
  scopes: ReadonlySet<Scope>;
  requestsPerMinute?: number;
  maxPlansInFlight?: number;
}
export interface StoredKey extends Principal {
  hash: Buffer;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Parses the JSON list of keys; errors name the entry and field, never echo a key. */
export function parseApiKeys(json: string, source: string): StoredKey[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error(`${source}: not JSON`);
  }
  const parsed = KeyList.safeParse(Array.isArray(raw) ? raw : (raw as { keys?: unknown })?.keys);
  if (!parsed.success) {
    throw new Error(`${source}: ${describeIssues(parsed.error.issues)}`);
  }
  return parsed.data.map((k) => ({
    name: k.name,
    tenant: k.tenant ?? DEFAULT_TENANT,
    scopes: new Set(k.scopes.includes('*') ? SCOPES : (k.scopes as Scope[])),
    hash: k.key.startsWith('sha256:') ? Buffer.from(k.key.slice(7), 'hex') : sha256(k.key),
    ...(k.requestsPerMinute !== undefined ? { requestsPerMinute: k.requestsPerMinute } : {}),
    ...(k.maxPlansInFlight !== undefined ? { maxPlansInFlight: k.maxPlansInFlight } : {}),
  }));
}

/** The configured keys: API_KEYS_FILE and API_KEYS together (names must not repeat across them). */
export function loadApiKeys(cfg: { API_KEYS_FILE?: string; API_KEYS?: string }): StoredKey[] {
  const keys = [
    ...(cfg.API_KEYS_FILE ? parseApiKeys(readFileSync(cfg.API_KEYS_FILE, 'utf8'), cfg.API_KEYS_FILE) : []),
    ...(cfg.API_KEYS ? parseApiKeys(cfg.API_KEYS, 'API_KEYS') : []),
  ];
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.name)) throw new Error(`API keys: the name "${k.name}" is used twice`);
    seen.add(k.name);
  }
  return keys;
}

/**
 * Where `?access_token=<key>` is accepted: GET requests for event streams, because a browser's EventSource cannot set
 * headers. The key then shows in URLs and proxy logs (docs/events.md).
 */
export function acceptsQueryToken(req: Request): boolean {
  return req.method === 'GET' && req.path.endsWith('/events');
}

/** The key a request presents: `Authorization: Bearer <key>`, `X-API-Key: <key>`, or (see acceptsQueryToken) `?access_token=`. */
function presented(req: Request): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (bearer) return bearer[1];
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header;
  const token = acceptsQueryToken(req) ? req.query.access_token : undefined;
  return typeof token === 'string' && token.length > 0 ? token : undefined;
}

/**
 * Finds the key by comparing SHA-256 digests in constant time against every configured key (no early exit, so the
 * time taken says nothing about which key, or how much of one, matched).
 */
export function findKey(keys: readonly StoredKey[], candidate: string): Principal | undefined {
  const digest = sha256(candidate);
  let found: StoredKey | undefined;
  for (const k of keys) if (timingSafeEqual(k.hash, digest) && !found) found = k;
  return found;
}

/** Who a request's key belongs to, whatever its path (a public route that tells more to a key: /readyz). */
export function principalFrom(keys: readonly StoredKey[], req: Request): Principal | undefined {
  const key = presented(req);
  return key === undefined ? undefined : findKey(keys, key);
}

/** Which scope a request needs (the route table's); routes it does not have need `read`, so probing reveals nothing. */
export function scopeFor(method: string, path: string): Scope | 'public' {
  return routeScope(method, path) ?? 'read';
}

export interface AuthOptions {
  keys: readonly StoredKey[];
  /** Paths answered without a key (API_PUBLIC_PATHS; by default /healthz and /readyz). */
  publicPaths: ReadonlySet<string>;
  /** Told of each request refused for want of a valid key; what it returns (a 429) is answered instead of the 401. */
  onRefused?: (req: Request) => ApiError | undefined;
}

/** Locals the auth middleware leaves for later handlers (quotas, the Submitter of a plan). */
export const principalOf = (res: Response): Principal | undefined => res.locals.principal as Principal | undefined;

/**
 * 401 without a (known) key, 403 without the route's scope, in the API's error envelope. With no keys configured the
 * API is open (and binds to 127.0.0.1 unless API_ALLOW_UNAUTHENTICATED says otherwise: see config).
 */
export function authenticate(opts: AuthOptions) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (opts.keys.length === 0 || opts.publicPaths.has(req.path) || req.method === 'OPTIONS') return next();
    const key = presented(req);
    const principal = key === undefined ? undefined : findKey(opts.keys, key);
    if (!principal) {
      const throttled = opts.onRefused?.(req);
      if (throttled) return next(throttled);
      res.setHeader('WWW-Authenticate', 'Bearer realm="agent-orchestrator"');
      return next(
        new ApiError(
          'UNAUTHORIZED',
          key === undefined
            ? 'an API key is required: send "Authorization: Bearer <key>" (or "X-API-Key: <key>")'
            : 'the API key is not valid',
        ),
      );
    }
    const scope = scopeFor(req.method, req.path);
    if (scope !== 'public' && !principal.scopes.has(scope)) {
      return next(
        new ApiError(
          'FORBIDDEN',
          `the key "${principal.name}" lacks the "${scope}" scope needed for ${req.method} ${req.path}`,
        ),
      );
    }
    res.locals.principal = principal;
    next();
  };
}
