import { Client, Connection } from '@temporalio/client';
import { loadConfigOrExit } from '../config';
import { dataConverterFor } from '../encryption/data-converter';
import { createLogger } from '../observability/logger';
import { tracingClientInterceptors } from '../observability/temporal';
import { startTracing } from '../observability/tracing';
import { loadRegistry } from '../storage/registry-file';
import { describeTarget } from '../temporal/connection';
import { closeEventStreams, createApp } from './app';
import { loadApiKeys } from './auth';

const log = createLogger('agent-orchestrator-api');

async function main(): Promise<void> {
  const config = loadConfigOrExit(log);
  log.level = config.LOG_LEVEL;
  const tracing = startTracing(config, config.OTEL_SERVICE_NAME ?? 'agent-orchestrator-api', log);
  if (tracing) log.info({ url: tracing.url }, 'exporting traces by OTLP/HTTP');
  const registry = loadRegistry(config.AGENT_REGISTRY_FILE);
  // Lazy: the API starts (and answers 503) while Temporal is still coming up.
  const connection = Connection.lazy(config.temporal.connectionOptions);
  const dataConverter = dataConverterFor(config.encryption);
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    interceptors: tracingClientInterceptors(tracing),
    ...(dataConverter ? { dataConverter } : {}),
  });
  const keys = loadApiKeys(config);
  const app = createApp({ client, config, registry, log, keys });
  const server = app.listen(config.AGENT_ORCHESTRATOR_PORT, config.AGENT_ORCHESTRATOR_HOST, () => {
    log.info(
      `API listening on http://localhost:${config.AGENT_ORCHESTRATOR_PORT} (Temporal ${describeTarget(config.temporal.target)})`,
    );
    if (keys.length > 0)
      log.info(
        `API keys: ${keys.length} configured; listening on ${config.AGENT_ORCHESTRATOR_HOST} (docs/security.md)`,
      );
    else if (config.API_ALLOW_UNAUTHENTICATED)
      log.warn(
        `WARNING: no API keys and API_ALLOW_UNAUTHENTICATED=true: anyone who reaches ${config.AGENT_ORCHESTRATOR_HOST}:${config.AGENT_ORCHESTRATOR_PORT} can submit, cancel and register agent types`,
      );
    else
      log.info(
        `no API keys configured: the API is open, so it listens on ${config.AGENT_ORCHESTRATOR_HOST} only (set API_KEYS or API_KEYS_FILE to expose it: docs/security.md)`,
      );
  });
  const stop = (signal: string) => {
    log.info(`${signal}: API shutting down`);
    closeEventStreams(app);
    server.close(() => {
      void Promise.all([connection.close(), tracing?.shutdown()]).finally(() => process.exit(0));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  log.fatal(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
