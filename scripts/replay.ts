/**
 * The deploy gate against production histories: replays workflow histories (JSON, as `temporal workflow show --output
 * json` writes them) against a workflow bundle, by default the one `npm run build` wrote. Exits 1 naming each history
 * that the bundle's code cannot replay (a change that would break the workflows it is given).
 *
 *   npm run replay -- [--bundle dist/workflow-bundle.js] [file-or-dir ...]    (default: test/fixtures/histories)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';

function historyFiles(paths: string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => f.endsWith('.json'))
          .map((f) => join(p, f))
      : [p],
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--bundle');
  const bundle = resolve(at >= 0 ? (args.splice(at, 2)[1] ?? '') : 'dist/workflow-bundle.js');
  const files = historyFiles(args.length > 0 ? args : [resolve(__dirname, '../test/fixtures/histories')]);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const histories = files.map((f) => ({
    workflowId: basename(f, '.json'),
    history: JSON.parse(readFileSync(f, 'utf8')),
  }));
  let failed = 0;
  for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: bundle } }, histories)) {
    if (r.error) {
      failed++;
      console.error(`FAIL ${r.workflowId}: ${r.error.message}`);
    } else console.log(`ok   ${r.workflowId}`);
  }
  console.log(`${histories.length - failed} of ${histories.length} histories replay on ${bundle}`);
  if (failed > 0) process.exit(1);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
