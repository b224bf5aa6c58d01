import type { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from './errors';

/* What a route of the API is (the table itself is routes.ts): its scope, inputs, answers and errors. */

/**
 * Who may call a route (read by API-key auth): `public` anyone; `read` GETs, metrics, the OpenAPI document; `submit`
 * plans, schedules (create, trigger, delete), messages and human input; `operate` cancel, pause, resume (plans), pause
 * and unpause (schedules); `admin` the registry and terminating agents.
 */
export type Scope = 'public' | 'read' | 'submit' | 'operate' | 'admin';
export type Method = 'get' | 'post' | 'put' | 'delete';

export interface Answer {
  description: string;
  /** The JSON body; none for an answer without a body (204). */
  schema?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
  /** Response headers the answer carries, with what they hold. */
  headers?: Record<string, string>;
}

export interface RouteSpec {
  method: Method;
  /** Express syntax (`/v1/plans/:planId`); the OpenAPI document writes `{planId}`. */
  path: string;
  summary: string;
  description?: string;
  scope: Scope;
  /** A path that does not match `params` answers 404 (no such resource), not 400. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** `checkedBy: 'service'`: the service validates it (a plan needs the registry too), with this very schema. */
  body?: { schema: z.ZodType; required: boolean; checkedBy?: 'service' };
  /** The answers other than errors, by status. An answer given here for an error status replaces the envelope. */
  answers: Record<number, Answer>;
  /** Errors the handler or its service can answer; the ones every route of its kind can answer are added (errorsOf). */
  errors: ErrorCode[];
  /** Answered without asking Temporal (so never 503 TEMPORAL_UNAVAILABLE). */
  offline?: boolean;
  /**
   * Served by the A2A SDK's bindings (src/api/a2a, docs/a2a.md), not by a handler of app.ts: the table gives them
   * their scope, their place in the OpenAPI document and their 405s; the SDK reads and answers the protocol.
   */
  servedBy?: 'a2a';
}

/** A route's path as OpenAPI writes it: `:planId` is `{planId}`; an escaped colon (`\\:cancel`) is a literal one. */
export const openApiPathOf = (path: string): string =>
  path.replace(/(?<!\\):([A-Za-z]+)/g, '{$1}').replace(/\\:/g, ':');

/** A regular expression matching the request paths a route's path takes (parameters are one segment or less). */
export const pathPatternOf = (path: string): RegExp =>
  new RegExp(
    `^${path
      .replace(/[.]/g, '\\.')
      .replace(/(?<!\\):[A-Za-z]+/g, '[^/]+')
      .replace(/\\:/g, ':')}/?$`,
    'i',
  );

export const json = (description: string, schema: z.ZodType, headers?: Record<string, string>): Answer => ({
  description,
  schema,
  ...(headers ? { headers } : {}),
});

/**
 * Every error a route can answer: its own, plus 429 on every route, 401 and 403 on every route that is not public,
 * 400 on routes that read a query or a body, 413 and 415 on routes that read a body, 503 (Temporal unavailable, or no
 * worker to answer a query) on routes that ask Temporal.
 */
export function errorsOf(route: RouteSpec): ErrorCode[] {
  const codes = new Set<ErrorCode>(route.errors);
  codes.add('RATE_LIMITED');
  if (route.scope !== 'public') {
    codes.add('UNAUTHORIZED');
    codes.add('FORBIDDEN');
  }
  if (route.query || route.body) codes.add('VALIDATION_ERROR');
  if (route.body) {
    codes.add('PAYLOAD_TOO_LARGE');
    codes.add('UNSUPPORTED_MEDIA_TYPE');
  }
  if (!route.offline) {
    codes.add('TEMPORAL_UNAVAILABLE');
    codes.add('NOT_READY'); // a query no worker is there to answer
  }
  return [...codes].sort((a, b) => ERROR_STATUS[a] - ERROR_STATUS[b] || a.localeCompare(b));
}
