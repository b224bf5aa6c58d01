import { rmSync } from 'node:fs';
import type { DevServer } from '../../scripts/dev-server';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __TEMPORAL_SERVER__?: DevServer }).__TEMPORAL_SERVER__;
  await server?.stop();
  if (process.env.TEST_WORKFLOW_BUNDLE) {
    rmSync(process.env.TEST_WORKFLOW_BUNDLE, { force: true });
    rmSync(process.env.TEST_WORKFLOW_BUNDLE.replace(/\.js$/, '.json'), { force: true });
  }
  if (process.env.TEST_BLOB_DIR) rmSync(process.env.TEST_BLOB_DIR, { recursive: true, force: true });
}
