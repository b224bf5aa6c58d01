import { Client, Connection } from '@temporalio/client';
import { loadConfigOrExit } from '../config';
import { dataConverterFor } from '../encryption/data-converter';
import { loadRegistry } from '../registry';
import { describeTarget } from '../temporal-connection';
import { createApp } from './app';
import { countApiKeys } from './auth';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const registry = loadRegistry(config.AGENT_REGISTRY_FILE);
  // Lazy: the API starts (and answers 503) while Temporal is still coming up.
  const connection = Connection.lazy(config.temporal.connectionOptions);
  const dataConverter = dataConverterFor(config.encryption);
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    ...(dataConverter ? { dataConverter } : {}),
  });
  const app = createApp({ client, config, registry });
  const server = app.listen(config.AGENT_ORCHESTRATOR_PORT, config.AGENT_ORCHESTRATOR_HOST, () => {
    console.log(
      `API listening on http://localhost:${config.AGENT_ORCHESTRATOR_PORT} (Temporal ${describeTarget(config.temporal.target)})`,
    );
    const keys = countApiKeys(config);
    if (keys > 0)
      console.log(`API keys: ${keys} configured; listening on ${config.AGENT_ORCHESTRATOR_HOST} (docs/security.md)`);
    else if (config.API_ALLOW_UNAUTHENTICATED)
      console.warn(
        `WARNING: no API keys and API_ALLOW_UNAUTHENTICATED=true: anyone who reaches ${config.AGENT_ORCHESTRATOR_HOST}:${config.AGENT_ORCHESTRATOR_PORT} can submit, cancel and register agent types`,
      );
    else
      console.log(
        `no API keys configured: the API is open, so it listens on ${config.AGENT_ORCHESTRATOR_HOST} only (set API_KEYS or API_KEYS_FILE to expose it: docs/security.md)`,
      );
  });
  const stop = (signal: string) => {
    console.log(`${signal}: API shutting down`);
    server.close(() => {
      void connection.close().finally(() => process.exit(0));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
