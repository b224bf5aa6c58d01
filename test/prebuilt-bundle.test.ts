/**
 * The workflow bundle built ahead of time (`npm run build` → dist/workflow-bundle.js and its manifest): a worker runs
 * plans from it, and never runs one built from other workflow code than its own (src/worker/prebuilt-bundle.ts).
 */
import { appendFileSync, copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { chooseWorkflowBundle, manifestPathOf, StaleBundleError } from '../src/worker/prebuilt-bundle';
import type { PlanResult } from '../src/shared/plan';
import { startPlan, useTestClient } from './support/deploy';
import { testAddress, uniqueId } from './support/harness';
import { orchestratorEnv, spawnOrchestrator, startWorker } from './support/processes';

const src = resolve(__dirname, '../src');
const bundle = process.env.TEST_WORKFLOW_BUNDLE as string; // built by global setup from src, with its manifest
let dir: string;

/** A copy of the test bundle and its manifest in `dir`. */
function copyOfBundle(name: string): string {
  const path = join(dir, `${name}.js`);
  copyFileSync(bundle, path);
  copyFileSync(manifestPathOf(bundle), manifestPathOf(path));
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bundle-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('choosing the workflow bundle', () => {
  test('a bundle built from these sources is used, from WORKFLOW_BUNDLE_PATH or the default path', () => {
    const explicit = chooseWorkflowBundle({ explicitPath: bundle, defaultPath: join(dir, 'none.js'), codeRoot: src });
    expect(explicit).toMatchObject({ kind: 'prebuilt', path: bundle, manifest: { sdkVersion: '1.24.0' } });
    const byDefault = chooseWorkflowBundle({ defaultPath: copyOfBundle('default'), codeRoot: src });
    expect(byDefault.kind).toBe('prebuilt');
  });

  test('without a bundle the worker bundles at start', () => {
    expect(chooseWorkflowBundle({ defaultPath: join(dir, 'none.js'), codeRoot: src })).toEqual({
      kind: 'bundle-at-start',
      reason: `no ${join(dir, 'none.js')}`,
    });
  });

  test('a bundle of other workflow code is refused when named, and skipped (bundle at start) by default', () => {
    const edited = join(dir, 'edited-src');
    cpSync(join(src, 'workflows'), join(edited, 'workflows'), { recursive: true });
    cpSync(join(src, 'shared'), join(edited, 'shared'), { recursive: true });
    appendFileSync(join(edited, 'workflows', 'plan.ts'), '\n// edited after the bundle was built\n');
    const path = copyOfBundle('stale');
    expect(() => chooseWorkflowBundle({ explicitPath: path, defaultPath: path, codeRoot: edited })).toThrow(
      /was built from other workflow code than .*edited-src\/workflows.*npm run build/,
    );
    const choice = chooseWorkflowBundle({ defaultPath: path, codeRoot: edited });
    expect(choice).toMatchObject({ kind: 'bundle-at-start', reason: expect.stringMatching(/other workflow code/) });
  });

  test('a bundle changed after it was built, or without its manifest, is refused', () => {
    const changed = copyOfBundle('changed');
    appendFileSync(changed, '\n');
    expect(() => chooseWorkflowBundle({ explicitPath: changed, defaultPath: '', codeRoot: src })).toThrow(
      /was changed after it was built/,
    );
    const bare = join(dir, 'bare.js');
    copyFileSync(bundle, bare);
    expect(() => chooseWorkflowBundle({ explicitPath: bare, defaultPath: '', codeRoot: src })).toThrow(
      StaleBundleError,
    );
    const otherSdk = copyOfBundle('other-sdk');
    writeFileSync(manifestPathOf(otherSdk), JSON.stringify({ sdkVersion: '1.11.0' }));
    expect(() => chooseWorkflowBundle({ explicitPath: otherSdk, defaultPath: '', codeRoot: src })).toThrow(
      /built with @temporalio\/workflow 1\.11\.0, this worker runs 1\.24\.0/,
    );
    // Every package bundled in is recorded with its version (zod among them); another installed version is refused.
    const otherZod = copyOfBundle('other-zod');
    const manifest = JSON.parse(readFileSync(manifestPathOf(otherZod), 'utf8')) as { packages: Record<string, string> };
    expect(manifest.packages['node_modules/zod']).toMatch(/^\d+\.\d+\.\d+/);
    expect(Object.keys(manifest.packages)).toContain('node_modules/@temporalio/workflow');
    writeFileSync(
      manifestPathOf(otherZod),
      JSON.stringify({ ...manifest, packages: { ...manifest.packages, 'node_modules/zod': '0.0.1' } }),
    );
    expect(() => chooseWorkflowBundle({ explicitPath: otherZod, defaultPath: '', codeRoot: src })).toThrow(
      /was built with zod 0\.0\.1, this worker has \d/,
    );
  });

  test('with encryption on, only a bundle that encrypts failure messages is used (its -encoded-failures twin)', () => {
    // The run's bundle was built without the failure converter: named, it is refused; by default it is skipped.
    expect(() =>
      chooseWorkflowBundle({ explicitPath: bundle, defaultPath: '', codeRoot: src, encodeFailures: true }),
    ).toThrow(/does not encrypt failure messages, and encryption is on/);
    const plainDefault = copyOfBundle('plain');
    expect(chooseWorkflowBundle({ defaultPath: plainDefault, codeRoot: src, encodeFailures: true })).toEqual({
      kind: 'bundle-at-start',
      reason: `no ${join(dir, 'plain-encoded-failures.js')}`,
    });
    // A twin whose manifest says it encodes failures is taken, and refused by a worker without encryption.
    const twin = copyOfBundle('plain-encoded-failures');
    const manifest = JSON.parse(readFileSync(manifestPathOf(twin), 'utf8')) as Record<string, unknown>;
    writeFileSync(manifestPathOf(twin), JSON.stringify({ ...manifest, encodesFailures: true }));
    expect(chooseWorkflowBundle({ defaultPath: plainDefault, codeRoot: src, encodeFailures: true })).toMatchObject({
      kind: 'prebuilt',
      path: twin,
    });
    expect(() => chooseWorkflowBundle({ explicitPath: twin, defaultPath: '', codeRoot: src })).toThrow(
      /encrypts failure messages, and encryption is off/,
    );
  });
});

describe('a worker process', () => {
  let client: Client;
  useTestClient((c) => (client = c));

  test('started with a pre-built bundle runs a plan', async () => {
    const taskQueue = uniqueId('tq-bundle');
    const worker = await startWorker({ address: testAddress(), taskQueue, extra: { WORKFLOW_BUNDLE_PATH: bundle } });
    expect(worker.output()).toContain(`workflows from the pre-built bundle ${bundle}`);
    const plan = await startPlan(client, taskQueue, {
      id: uniqueId('bundled'),
      mode: 'parallel',
      tasks: [
        { id: 'a', description: 'a', capabilities: ['writing'] },
        { id: 'b', description: 'b', capabilities: ['writing'] },
      ],
    });
    const result = await client.workflow.getHandle<() => Promise<PlanResult>>(plan).result();
    expect(result.status).toBe('completed');
    expect(Object.keys(result.outputs).sort()).toEqual(['a', 'b']);
  });

  test('refuses a stale WORKFLOW_BUNDLE_PATH: exit 2, naming the bundle and the fix', async () => {
    const stale = copyOfBundle('stale-for-worker');
    appendFileSync(stale, '\n');
    const env = orchestratorEnv({
      address: testAddress(),
      taskQueue: uniqueId('tq-stale'),
      extra: { WORKFLOW_BUNDLE_PATH: stale },
    });
    const worker = spawnOrchestrator('stale-worker', 'src/worker.ts', env);
    expect(await worker.exited).toEqual({ code: 2, signal: null });
    expect(worker.output()).toContain(`workflow bundle ${stale} was changed after it was built`);
    expect(worker.output()).toContain('npm run build');
  });
});
