import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { freePort, startDevServer } from '../../scripts/dev-server';
import { writeWorkflowBundle } from '../../src/worker/prebuilt-bundle';

/** Starts one real Temporal dev server (in memory) and bundles the workflows once for the whole run. */
export default async function globalSetup(): Promise<void> {
  // The bundle comes with the manifest `npm run build` writes, so spawned workers can be given it (WORKFLOW_BUNDLE_PATH).
  const bundlePath = join(tmpdir(), `agent-orchestrator-workflows-${process.pid}.js`);
  const [server] = await Promise.all([
    // Worker Versioning: the server checks whether an old version has drained every 2 s, not every few minutes.
    freePort().then((port) =>
      startDevServer({
        port,
        dynamicConfig: {
          'matching.wv.VersionDrainageStatusRefreshInterval': '2s',
          'matching.wv.VersionDrainageStatusVisibilityGracePeriod': '2s',
        },
      }),
    ),
    writeWorkflowBundle(bundlePath, resolve(__dirname, '../../src')),
    buildDashboardIfStale(),
  ]);
  (globalThis as { __TEMPORAL_SERVER__?: unknown }).__TEMPORAL_SERVER__ = server;
  // Jest starts its test workers after global setup, so they inherit these.
  process.env.TEST_TEMPORAL_ADDRESS = server.address;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  // The suites drive the offline runtime with `simulate` directives (off by default: docs/security.md, "Limits").
  process.env.ALLOW_SIMULATE ??= 'true';
  // One claim-check store for the run's workers and APIs, removed at teardown.
  process.env.TEST_BLOB_DIR = mkdtempSync(join(tmpdir(), 'agent-orchestrator-blobs-'));
}

/** The browser tests open the dashboard the API serves from dist/dashboard: built here when missing or stale. */
function buildDashboardIfStale(): Promise<void> {
  const root = resolve(__dirname, '../..');
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['scripts/build-dashboard.cjs', '--if-stale'], {
      cwd: root,
      stdio: 'inherit',
    });
    child.once('error', fail);
    child.once('exit', (code) => (code === 0 ? done() : fail(new Error(`the dashboard build failed (exit ${code})`))));
  });
}
