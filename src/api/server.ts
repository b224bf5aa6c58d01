import { Client, Connection } from '@temporalio/client';
import { loadConfigOrExit } from '../config';
import { loadRegistry } from '../registry';
import { describeTarget } from '../temporal-connection';
import { createApp } from './app';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const registry = loadRegistry(config.AGENT_REGISTRY_FILE);
  // Lazy: the API starts (and answers 503) while Temporal is still coming up.
  const connection = Connection.lazy(config.temporal.connectionOptions);
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const app = createApp({ client, config, registry });
  const server = app.listen(config.AGENT_ORCHESTRATOR_PORT, config.AGENT_ORCHESTRATOR_HOST, () => {
    console.log(
      `API listening on http://localhost:${config.AGENT_ORCHESTRATOR_PORT} (Temporal ${describeTarget(config.temporal.target)})`,
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
