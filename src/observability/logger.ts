import pino, { type Logger } from 'pino';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';

export type { Logger } from 'pino';
export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/**
 * Fields that may carry credentials or request payloads, censored wherever they appear in a log record (one level
 * deep): provider SDK errors carry the request's headers and body, MCP settings carry headers.
 */
const REDACT = ['headers', 'authorization', 'apiKey', 'requestBodyValues', 'env'].flatMap((k) => [
  k,
  `*.${k}`,
  `*.*.${k}`,
]);

/**
 * One JSON object per line on stdout: `level` (name), `time` (ISO 8601), `service`, `pid`, `msg`, then the fields of
 * the call. Errors under `err` or `error` are serialized with their message and stack.
 */
export function createLogger(service: string, level: Level | 'silent' = 'info'): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    redact: { paths: REDACT, censor: '[redacted]' },
  });
}

/** A logger that drops everything (in-process apps in tests, unless they pass one). */
export const silentLogger: Logger = createLogger('silent', 'silent');

const LEVELS: Record<LogLevel, Level> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/**
 * The Temporal SDK's Logger interface over pino: the SDK's own messages, Core's (forwarded), and those of workflows
 * (`log` from @temporalio/workflow, delivered through the SDK's logger sink) and activities.
 */
export function temporalLogger(logger: Logger): TemporalLogger {
  const at =
    (level: LogLevel) =>
    (message: string, meta?: LogMetadata): void => {
      logger[LEVELS[level]]({ ...meta }, message);
    };
  return {
    log: (level, message, meta) => at(level)(message, meta),
    trace: at('TRACE'),
    debug: at('DEBUG'),
    info: at('INFO'),
    warn: at('WARN'),
    error: at('ERROR'),
  };
}
