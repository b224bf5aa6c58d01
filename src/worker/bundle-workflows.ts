/**
 * `npm run build` runs this (as dist/worker/bundle-workflows.js) after tsc: bundles the compiled workflows into
 * dist/workflow-bundle.js with its manifest (src/worker/prebuilt-bundle.ts), and its twin for workers with encryption on
 * (dist/workflow-bundle-encoded-failures.js), so workers do not bundle at every start.
 */
import { resolve } from 'node:path';
import { encodedFailuresPathOf, writeWorkflowBundle } from './prebuilt-bundle';

/** The compiled tree (dist/), whose workflows/ is bundled: this file lives in its worker/ folder. */
const codeRoot = resolve(__dirname, '..');

async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? resolve(codeRoot, 'workflow-bundle.js'));
  // The bundle stands for the compiled code here and for the sources it was compiled from (workers run either).
  const roots = [codeRoot, resolve(codeRoot, '../src')];
  // Two builds of the same workflows: without, and with the failure converter that encryption needs.
  for (const [path, encode] of [
    [out, false],
    [encodedFailuresPathOf(out), true],
  ] as const) {
    const manifest = await writeWorkflowBundle(path, codeRoot, roots, encode);
    console.log(`workflow bundle ${path} (sha256 ${manifest.bundleSha256.slice(0, 12)}, SDK ${manifest.sdkVersion})`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
