/**
 * `npm run bench`: latency and throughput of the orchestrator on Temporal dev servers of its own, stock and tuned.
 *
 * For each server (stock: the CLI's defaults; tuned: LATENCY_TUNING from scripts/dev-server.ts, what `npm start` runs),
 * one after the other, everything runs on 127.0.0.1: an in-memory, headless dev server on a free port, an in-process
 * worker (own task queue and pool id, workflows from scripts/bench-workflows.ts) and an in-process HTTP API. Measures
 *   (a) one-task plan, HTTP submit → result latency;         (b) a 1,000-task parallel plan, tasks/s;
 *   (c) the same work on bare Temporal, tasks/s and (b)/(c);  (d) pool acquire → grant → release round trip;
 *   (e) a 10,000-task parallel plan (tuned server only): completes? time per task, history lengths against limits;
 *   (f) 200 plans of 2 sequential tasks submitted at once, tasks/s against (b) and (c);
 *   (g) CPU-ms and history events per task, (b) against (c);
 *   (h) the (b) plan with 0, then 100 SSE subscribers on its event stream: tasks/s and plan history of both;
 * prints a table (a column per server) and writes docs/benchmarks.md (newest run first, older runs kept below).
 *
 * Modules: scripts/bench/options.ts (flags, sizes, targets), environment.ts, rig.ts (server + worker + API), cpu.ts,
 * history.ts (history analysis), measures.ts, report.ts. Flags: see USAGE in options.ts (`npm run bench -- --help`).
 * Exits non-zero only when the script itself or a measure fails, never for a missed target.
 */
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { workflowInterceptorModules } from '../src/observability/temporal';
import { environment, serverDescription } from './bench/environment';
import { measureFairShare } from './bench/fair-share';
import { measureVariant, type VariantResults } from './bench/measures';
import { parseOptions, USAGE, type Options } from './bench/options';
import { analysis, consoleTable, rows, writeDoc, type Results } from './bench/report';
import { installRuntime, startRig } from './bench/rig';
import { measureSlowAgents } from './bench/slow-agents';
import { Cleanups, log, sleep } from './bench/util';

async function main(): Promise<void> {
  let opts: Options & { help: boolean };
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  const warnings = installRuntime();
  const env = environment();
  console.log(
    [
      `date:     ${env.date}${opts.quick ? '  (quick run)' : ''}`,
      `code:     ${env.code}`,
      `machine:  ${env.machine}`,
      `os:       ${env.os}`,
      `node:     ${env.node}`,
      `temporal: ${env.temporalCli}`,
      `sdk:      @temporalio/worker ${env.sdk}`,
      ...opts.variants.map((v) => `${`${v}:`.padEnd(9)} ${serverDescription(v)}`),
      '',
    ].join('\n'),
  );
  const results: Results = { env, opts, variants: [], warnings, notes: [] };

  const cleanups = new Cleanups();
  let interrupted = false;
  const onSignal = (sig: string) => {
    interrupted = true;
    log(`${sig}: cleaning up`);
    void cleanups.unwind().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));

  try {
    log('bundling workflows ...');
    const bundle = bundleWorkflowCode({
      workflowsPath: require.resolve('./bench-workflows'),
      workflowInterceptorModules, // as the worker bundles them (tracing off here: they pass through)
      logger: new DefaultLogger('ERROR'),
    });
    bundle.catch(() => undefined); // awaited by the first rig; this only keeps an early failure from going unhandled
    const variants = /[a-h]/.test(opts.only) ? opts.variants : [];
    for (const [i, variant] of variants.entries()) {
      const lastOne = i === variants.length - 1 && !opts.slow;
      let vr: VariantResults = { variant, overWarn: [], notes: [] };
      try {
        const rig = await startRig(variant, bundle, warnings, cleanups);
        vr = await measureVariant(rig, opts, variant === opts.eVariant);
        if (lastOne && opts.holdSeconds > 0 && !interrupted) {
          log(
            `holding for ${opts.holdSeconds} s: inspect with \`temporal workflow list --address ${rig.server.address}\``,
          );
          await sleep(opts.holdSeconds * 1_000);
        }
        log(`[${variant}] stopping API, worker and Temporal ...`);
        await rig.stop();
      } catch (err) {
        // A server that does not start is reported with what the other one measured, and the exit code says so.
        vr.notes.push(`the ${variant} run stopped early: ${(err as Error).message}`);
        console.error(err);
        process.exitCode = 1;
      }
      results.variants.push(vr);
      if (interrupted) break;
    }
    if (opts.slow && !interrupted) results.slow = await measureSlowAgents(opts.slow, cleanups);
    if (opts.fair && !interrupted) results.fair = await measureFairShare(opts.fair, bundle, warnings, cleanups);

    console.log(`\n${consoleTable(rows(results))}\n\n${analysis(results).join('\n').replace(/\*\*/g, '')}\n`);
    if (interrupted) log('interrupted: not writing docs/benchmarks.md');
    else if (opts.write) log(`wrote ${await writeDoc(results)}`);
    else log(`not writing docs/benchmarks.md (${opts.quick ? 'quick run; pass --write to write it' : '--no-write'})`);
  } finally {
    await cleanups.unwind();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
