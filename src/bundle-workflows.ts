/**
 * `npm run build` runs this (as dist/bundle-workflows.js) after tsc: bundles the compiled workflows into
 * dist/workflow-bundle.js with its manifest (src/prebuilt-bundle.ts), so workers do not bundle at every start.
 */
import { resolve } from 'node:path';
import { writeWorkflowBundle } from './prebuilt-bundle';

async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? resolve(__dirname, 'workflow-bundle.js'));
  // The bundle stands for the compiled code here and for the sources it was compiled from (workers run either).
  const manifest = await writeWorkflowBundle(out, __dirname, [__dirname, resolve(__dirname, '../src')]);
  console.log(`workflow bundle ${out} (sha256 ${manifest.bundleSha256.slice(0, 12)}, SDK ${manifest.sdkVersion})`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
