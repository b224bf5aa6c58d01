import { ApplicationFailure } from '@temporalio/common';
import { APICallError, LoadAPIKeyError, RetryError } from 'ai';
import { Failure } from '../../shared/errors';

/** Milliseconds the provider asked us to wait: `retry-after-ms`, else `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: Record<string, string> | undefined): number | undefined {
  if (!headers) return undefined;
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const ms = Number(lower['retry-after-ms']);
  if (lower['retry-after-ms'] !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const raw = lower['retry-after'];
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1_000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/**
 * Turns what a provider call threw into an ApplicationFailure whose type and retry behaviour fit: rate limit → retry
 * after the provider's retry-after; auth and bad request → non-retryable; server and network errors → retry.
 */
export function providerFailure(err: unknown, onRateLimit?: (ms: number) => void): unknown {
  let cause = err;
  if (RetryError.isInstance(cause)) cause = cause.lastError;
  if (cause instanceof ApplicationFailure) return cause;
  if (LoadAPIKeyError.isInstance(cause)) {
    return ApplicationFailure.nonRetryable(cause.message, Failure.ModelAuthFailed);
  }
  if (APICallError.isInstance(cause)) {
    const status = cause.statusCode;
    const where = `${status ?? 'no status'} from ${cause.url}`;
    const message = `model provider answered ${where}: ${cause.message}`;
    if (status === 429) {
      const wait = retryAfterMs(cause.responseHeaders);
      if (wait !== undefined) onRateLimit?.(wait);
      return ApplicationFailure.create({
        type: Failure.ModelRateLimited,
        message,
        ...(wait !== undefined ? { nextRetryDelay: Math.max(wait, 1) } : {}),
      });
    }
    if (status === 401 || status === 403) {
      return ApplicationFailure.nonRetryable(message, Failure.ModelAuthFailed);
    }
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 409) {
      return ApplicationFailure.nonRetryable(message, Failure.ModelBadRequest);
    }
    return ApplicationFailure.create({ type: status ? Failure.ModelServerError : Failure.ModelUnavailable, message });
  }
  if (cause instanceof Error && cause.name === 'AbortError') return err; // the activity was cancelled
  const message = cause instanceof Error ? cause.message : String(cause);
  return ApplicationFailure.create({ type: Failure.ModelError, message: `model call failed: ${message}` });
}
