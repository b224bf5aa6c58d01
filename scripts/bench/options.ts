/** Command-line flags, sizes and targets of `npm run bench`. */
import { parseArgs } from 'node:util';
import type { FairOptions } from './fair-share';
import type { SlowOptions } from './slow-agents';

/** Which dev server a measure ran on: the CLI's stock settings, or LATENCY_TUNING (what `npm start` runs). */
export type Variant = 'stock' | 'tuned';
export const VARIANTS: readonly Variant[] = ['stock', 'tuned'];

export interface Sizes {
  /** (a) warm-up and measured runs. */
  warmup: number;
  runs: number;
  /** (b) and (c): tasks, and how many run at once. */
  tasks: number;
  concurrency: number;
  /** (d) sequential pool round trips. */
  rounds: number;
  /** (e) tasks; 0 skips (e). */
  bigTasks: number;
  /** (f) concurrent plans, each of `planTasks` sequential tasks. */
  plans: number;
  planTasks: number;
}

export interface Options {
  quick: boolean;
  /** Write docs/benchmarks.md. */
  write: boolean;
  /** The servers to measure on, in order. */
  variants: Variant[];
  /** The server (e) runs on: tuned, or the only one measured; undefined when (e) is skipped. */
  eVariant?: Variant;
  sizes: Sizes;
  /** Bounds (e) (BENCH_E_TIMEOUT_SECONDS, 900). */
  eTimeoutMs: number;
  /** Keeps the last server, worker and API up this long after the run (BENCH_HOLD_SECONDS). */
  holdSeconds: number;
  /** The measures to run (--only), by letter; all by default. */
  only: string;
  /** Measure (i), agents that wait (scripts/bench/slow-agents.ts); undefined when not run. */
  slow?: SlowOptions;
  /** Measure (j), fair share between tenants (scripts/bench/fair-share.ts); undefined when not run. */
  fair?: FairOptions;
}

export const MAX_AGENTS = 100;
export const HISTORY_WARN = 10_240;
export const HISTORY_LIMIT = 51_200;
export const TARGET = {
  /** (a) p50, ms, on the server `npm start` runs (the tuned one). */
  aP50Ms: 100,
  /** (b)/(c), at least. */
  ratio: 0.5,
  /** (e) time per task against (b), at most. */
  eSlowdown: 1.5,
  /** (f) tasks/s against (b), at least. */
  fOverB: 0.8,
  /** (g) CPU-ms per task of (b) against (c), at most. */
  gCpuRatio: 2.5,
};

export const USAGE = `Usage: npm run bench -- [--quick] [--stock | --tuned] [--write | --no-write]

  --quick     smoke run (~1 min): smaller sizes, no (e); leaves docs/benchmarks.md alone unless --write
  --stock     measure only on a dev server with the CLI's stock settings
  --tuned     measure only on a dev server with LATENCY_TUNING (scripts/dev-server.ts, what \`npm start\` runs)
              (default: both, side by side; (e) runs on the tuned server only, or on the stock one with --stock)
  --write     write docs/benchmarks.md even with --quick
  --no-write  never write it
  --only=LETTERS  run only these measures (e.g. --only=h; default abcdefhij; (g) comes from (b) and (c))
  -h, --help  this text

(i) runs after the others on a tuned server of its own: 1,000 agents (200 with --quick) × 2 model calls of
BENCH_I_FIRST_TOKEN_MS (2,000) + BENCH_I_CHUNKS (20) × BENCH_I_CHUNK_MS (50), streamed unless BENCH_I_STREAM=0;
then 1,000 agents on 2 workers and 5,000 agents on 1 (full run only). BENCH_I_TASKS overrides the agents of the
first run; BENCH_I_RUNS (JSON: [{"tasks":1000,"workers":2,"env":{...},"label":"..."}]) replaces the runs;
BENCH_I_WORKER_ENV (JSON) adds variables to every worker process (e.g. '{"WORKER_MAX_ACTIVITIES":"100"}').

Env: BENCH_E_TIMEOUT_SECONDS bounds (e) (900); BENCH_HOLD_SECONDS keeps the last server, worker and API up that long
after the run, to inspect histories with the temporal CLI.`;

const QUICK_SIZES: Sizes = {
  warmup: 2,
  runs: 10,
  tasks: 200,
  concurrency: 200,
  rounds: 30,
  bigTasks: 0,
  plans: 50,
  planTasks: 2,
};
const FULL_SIZES: Sizes = {
  warmup: 5,
  runs: 50,
  tasks: 1_000,
  concurrency: 200,
  rounds: 200,
  bigTasks: 10_000,
  plans: 200,
  planTasks: 2,
};

/** Parses the flags; throws (with USAGE) on an unknown one. `--stock --tuned` is the same as neither. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): Options & { help: boolean } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean', default: false },
      stock: { type: 'boolean', default: false },
      tuned: { type: 'boolean', default: false },
      write: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      only: { type: 'string', default: 'abcdefhij' },
    },
  });
  const quick = values.quick === true;
  const only = VARIANTS.filter((v) => values[v] === true);
  const variants = only.length === 0 ? [...VARIANTS] : only;
  const sizes = quick ? QUICK_SIZES : FULL_SIZES;
  const measures = String(values.only);
  if (!/^[a-j]+$/.test(measures)) throw new Error(`--only takes measure letters a to j, not "${measures}"`);
  const eVariant =
    sizes.bigTasks === 0 || !measures.includes('e') ? undefined : variants.includes('tuned') ? 'tuned' : variants[0];
  return {
    help: values.help === true,
    quick,
    write: values['no-write'] === true ? false : !quick || values.write === true,
    variants,
    eVariant,
    sizes,
    eTimeoutMs: Number(env.BENCH_E_TIMEOUT_SECONDS ?? 900) * 1_000,
    holdSeconds: Number(env.BENCH_HOLD_SECONDS ?? 0),
    only: measures,
    ...(measures.includes('i') ? { slow: slowOptions(quick, env) } : {}),
    ...(measures.includes('j')
      ? { fair: { aTasks: quick ? 400 : 2_000, bTasks: 10, latencyMs: 200, bAfterMs: 1_000 } }
      : {}),
  };
}

function slowOptions(quick: boolean, env: NodeJS.ProcessEnv): SlowOptions {
  const n = (name: string, def: number) => (env[name] ? Number(env[name]) : def);
  const tasks = n('BENCH_I_TASKS', quick ? 200 : 1_000);
  return {
    latency: {
      firstTokenMs: n('BENCH_I_FIRST_TOKEN_MS', 2_000),
      chunks: n('BENCH_I_CHUNKS', 20),
      chunkMs: n('BENCH_I_CHUNK_MS', 50),
    },
    stream: env.BENCH_I_STREAM !== '0',
    baseTasks: tasks,
    runs: env.BENCH_I_RUNS
      ? (JSON.parse(env.BENCH_I_RUNS) as SlowOptions['runs'])
      : quick
        ? [{ tasks, workers: 1 }]
        : [
            { tasks, workers: 1 },
            // Before: the SDK's default activity slots (100), as the issue measured.
            {
              tasks,
              workers: 1,
              env: { WORKER_MAX_ACTIVITIES: '100' },
              label: `${tasks} agents, 1 worker, 100 activity slots (before)`,
            },
            // Scale-out: a per-worker budget (the provider limit) doubles with a second worker, shown on slower calls
            // (with 3 s calls one worker's CPU, not the budget, bounds the calls in flight on 2 cores).
            {
              tasks: tasks / 2,
              workers: 1,
              agentType: 'slower-model',
              env: { MODEL_MAX_CONCURRENCY: '100' },
              label: `${tasks / 2} agents of 21 s calls, 1 worker, MODEL_MAX_CONCURRENCY 100`,
            },
            {
              tasks: tasks / 2,
              workers: 2,
              agentType: 'slower-model',
              env: { MODEL_MAX_CONCURRENCY: '100' },
              label: `${tasks / 2} agents of 21 s calls, 2 workers, MODEL_MAX_CONCURRENCY 100 each`,
            },
            // The resource-based tuner instead of fixed slots.
            {
              tasks,
              workers: 1,
              env: { WORKER_TUNER: 'resource' },
              label: `${tasks} agents, 1 worker, WORKER_TUNER=resource`,
            },
            // Slower models (20 s to the first token): where 100 activity slots bind hard.
            {
              tasks: tasks / 2,
              workers: 1,
              agentType: 'slower-model',
              label: `${tasks / 2} agents of 21 s calls, 1 worker`,
            },
            {
              tasks: tasks / 2,
              workers: 1,
              agentType: 'slower-model',
              env: { WORKER_MAX_ACTIVITIES: '100' },
              label: `${tasks / 2} agents of 21 s calls, 1 worker, 100 activity slots (before)`,
            },
            { tasks: 5 * tasks, workers: 1 },
          ],
    workerEnv: JSON.parse(env.BENCH_I_WORKER_ENV ?? '{}') as Record<string, string>,
    deadlineMs: n('BENCH_I_TIMEOUT_SECONDS', 900) * 1_000,
  };
}
