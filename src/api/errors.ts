import type { ErrorRequestHandler } from 'express';
import { ScheduleNotFoundError, ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import type { z } from 'zod';
import { describeIssues } from '../shared/zod-issues';
import type { Logger } from '../observability/logger';
import type { ValidationIssue } from '../shared/plan-check';

export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  /** A known path, a method it does not have; the answer's `Allow` header lists those it has. */
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  TEMPORAL_UNAVAILABLE: 503,
  /** Temporal answers, but no worker has started the agent pool (or applied the registry file) yet. */
  NOT_READY: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error the API answers with its own status and code, in the envelope docs/api.md describes. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: ValidationIssue[],
    /** Sent as Retry-After (429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** A 400 for a checked body (a plan, a rerun): the first issue in the message, every issue in `issues`. */
export function invalid(what: string, issues: ValidationIssue[]): ApiError {
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new ApiError(
    'VALIDATION_ERROR',
    `invalid ${what}: ${first?.path ? `${first.path}: ` : ''}${first?.message}${more}`,
    issues,
  );
}

/** Parses a request's part (`where`: body, query, ...) with its schema; a 400 naming every problem when it does not fit. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join('.'),
    message: i.message,
  }));
  throw new ApiError(
    'VALIDATION_ERROR',
    `invalid ${where}: ${describeIssues(parsed.error.issues.map((i) => ({ ...i, path: [where, ...i.path] })))}`,
    issues,
  );
}

/** What a call cut off by our own deadline (withDeadline) sometimes ends with instead of DEADLINE_EXCEEDED. */
const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_INVALID_ARGUMENT = 3;
const GRPC_FAILED_PRECONDITION = 9;
const GRPC_UNAVAILABLE = 14;

/** True when the error means Temporal could not be reached in time (not a bad request of ours). */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (code === GRPC_UNAVAILABLE || code === GRPC_DEADLINE_EXCEEDED) return true;
    if (code === GRPC_CANCELLED && /call cancelled/i.test(e.message)) return true;
    if (/failed to connect|connection refused|ECONNREFUSED|deadline exceeded|UNAVAILABLE/i.test(e.message)) return true;
  }
  return false;
}

/** True when Temporal answers but no worker polls the task queue a query needs (the plan's or the pool's). */
export function isNoWorker(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === GRPC_FAILED_PRECONDITION && /no poller/i.test(e.message)) return true;
  }
  return false;
}

/** Temporal's answer when it refuses what it was asked (a cron expression or a time zone it cannot read), if it is that. */
export function invalidArgument(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === GRPC_INVALID_ARGUMENT) return e.message.replace(/^3 INVALID_ARGUMENT: /, '');
  }
  return undefined;
}

/** Maps every error to the envelope; bad input never becomes a 500. Unexpected errors are logged. */
export const errorHandler =
  (log: Logger): ErrorRequestHandler =>
  (err: unknown, req, res, next) => {
    // A stream that has begun (an event stream) cannot take an error answer any more: Express ends it.
    if (res.headersSent) return next(err);
    let apiError: ApiError;
    if (err instanceof ApiError) apiError = err;
    else if (err instanceof WorkflowNotFoundError)
      apiError = new ApiError('NOT_FOUND', `no plan with workflow id "${err.workflowId}"`);
    else if (err instanceof ScheduleNotFoundError)
      apiError = new ApiError('NOT_FOUND', `no schedule "${err.scheduleId}"`);
    else if (isBodyParserError(err)) apiError = bodyParserError(err);
    else if (isNoWorker(err))
      apiError = new ApiError(
        'NOT_READY',
        'no worker polls the task queue this needs (the plan or the agent pool cannot answer): start one (npm run worker)',
      );
    else if (isTemporalUnavailable(err))
      apiError = new ApiError('TEMPORAL_UNAVAILABLE', `Temporal is not reachable: ${(err as Error).message}`);
    else {
      log.error({ err, method: req.method, path: req.path }, 'unhandled API error');
      const message = err instanceof ServiceError ? `Temporal error: ${err.message}` : 'internal error';
      apiError = new ApiError('INTERNAL', message);
    }
    if (apiError.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(apiError.retryAfterSeconds));
    res.status(ERROR_STATUS[apiError.code]).json({
      error: {
        code: apiError.code,
        message: apiError.message,
        ...(apiError.issues ? { issues: apiError.issues } : {}),
      },
    });
  };

interface BodyParserError {
  type: string;
  status: number;
  message: string;
  limit?: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as BodyParserError).type === 'string' &&
    typeof (err as BodyParserError).status === 'number'
  );
}

function bodyParserError(err: BodyParserError): ApiError {
  switch (err.type) {
    case 'entity.too.large':
      return new ApiError('PAYLOAD_TOO_LARGE', `request body is larger than the limit of ${err.limit ?? '?'} bytes`);
    case 'entity.parse.failed':
      return new ApiError('VALIDATION_ERROR', `request body is not valid JSON: ${err.message}`);
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', err.message);
    default:
      return new ApiError(err.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_ERROR', err.message);
  }
}
