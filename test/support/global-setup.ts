import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { freePort, startDevServer } from '../../scripts/dev-server';
import { workflowInterceptorModules } from '../../src/observability/temporal';

/** Starts one real Temporal dev server (in memory) and bundles the workflows once for the whole run. */
export default async function globalSetup(): Promise<void> {
  const [server, bundle] = await Promise.all([
    freePort().then((port) => startDevServer({ port })),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      workflowInterceptorModules,
      logger: new DefaultLogger('WARN'),
    }),
  ]);
  const bundlePath = join(tmpdir(), `agent-orchestrator-workflows-${process.pid}.js`);
  writeFileSync(bundlePath, bundle.code);
  (globalThis as { __TEMPORAL_SERVER__?: unknown }).__TEMPORAL_SERVER__ = server;
  // Jest starts its test workers after global setup, so they inherit these.
  process.env.TEST_TEMPORAL_ADDRESS = server.address;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  // One claim-check store for the run's workers and APIs, removed at teardown.
  process.env.TEST_BLOB_DIR = mkdtempSync(join(tmpdir(), 'agent-orchestrator-blobs-'));
}
