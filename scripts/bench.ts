/**
 * `npm run bench`: latency and throughput of the orchestrator on a Temporal dev server of its own.
 *
 * Everything runs on 127.0.0.1: an in-memory, headless dev server on a free port, an in-process worker (own task queue
 * and pool id, workflows from scripts/bench-workflows.ts) and an in-process HTTP API. Measures
 *   (a) one-task plan, HTTP submit → result latency;         (b) a 1,000-task parallel plan, tasks/s;
 *   (c) the same work on bare Temporal, tasks/s and (b)/(c);  (d) pool acquire → grant → release round trip;
 *   (e) a 10,000-task parallel plan: completes? time per task, history lengths against Temporal's limits;
 * prints a table and writes docs/benchmarks.md (newest run first, older runs kept below).
 *
 * Flags: `--quick` shrinks the sizes and skips (e) (and leaves the doc alone unless `--write`); `--no-write` never
 * writes it; `--tuned` starts the dev server with LATENCY_TUNING (scripts/dev-server.ts, what `npm start` runs) to
 * show how much of the latency is the dev server's settings. Env: BENCH_E_TIMEOUT_SECONDS bounds (e) (900);
 * BENCH_HOLD_SECONDS keeps everything up that long after the run, to inspect histories with the temporal CLI.
 * Exits non-zero only when the script itself fails, never for a missed target.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { cpus, release, tmpdir, totalmem, type as osType } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { format, resolveConfig } from 'prettier';
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  type LogEntry,
  type Worker,
} from '@temporalio/worker';
import { createApp } from '../src/api/app';
import { executionSettings, loadConfig, poolSettings, type Config } from '../src/config';
import { signalPool, type PoolDeps } from '../src/activities/pool';
import { loadRegistry } from '../src/registry';
import { planWorkflowId, taskWorkflowId } from '../src/shared/ids';
import type { PoolView } from '../src/shared/pool';
import { DEFAULT_REGISTRY, type Registry } from '../src/shared/registry';
import { buildDeps, createWorker } from '../src/worker';
import { poolStatusQuery } from '../src/workflows/messages';
import type { BareLifecycleInput, PoolRoundTripInput, PoolRoundTripResult } from './bench-workflows';
import { describeDynamicConfig, freePort, LATENCY_TUNING, startDevServer, type DevServer } from './dev-server';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureTemporalCli } = require('./temporal-cli.cjs') as { ensureTemporalCli: () => string };

const root = resolve(__dirname, '..');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const TUNED = args.includes('--tuned');
const WRITE = args.includes('--no-write') ? false : !QUICK || args.includes('--write');
const SIZES = QUICK
  ? { warmup: 2, runs: 10, tasks: 200, concurrency: 200, rounds: 30, bigTasks: 0 }
  : { warmup: 5, runs: 50, tasks: 1_000, concurrency: 200, rounds: 200, bigTasks: 10_000 };
const MAX_AGENTS = 100;
const E_TIMEOUT_MS = Number(process.env.BENCH_E_TIMEOUT_SECONDS ?? 900) * 1_000;
const HISTORY_WARN = 10_240;
const HISTORY_LIMIT = 51_200;
const TARGET = { aP50Ms: 150, ratio: 0.5, eSlowdown: 1.5 };
const DOC = join(root, 'docs/benchmarks.md');
const MARKER = '<!-- Newest run first. `npm run bench` inserts its section below this line and keeps older ones. -->';

const started = Date.now();
/** Payloads the SDK warned about (over 512 KB) and refused (over 2 MB, Temporal's limit), from core's logs. */
const payloadWarnings = { count: 0, maxBytes: 0, errors: 0, maxErrorBytes: 0, errorPaths: [] as string[] };
const log = (msg: string) => console.log(`[bench +${((Date.now() - started) / 1_000).toFixed(1)}s] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits });

/** Nearest-rank percentile (p99 of 50 samples is the largest one). */
function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
const median = (xs: number[]) => pct(xs, 50);

// ---------------------------------------------------------------------------------------------------------------------
// Environment

interface Env {
  date: string;
  code: string;
  machine: string;
  os: string;
  node: string;
  temporalCli: string;
  sdk: string;
  server: string;
}

function environment(): Env {
  const cpu = cpus();
  let temporalCli: string;
  try {
    temporalCli = execFileSync(ensureTemporalCli(), ['--version'], { encoding: 'utf8' }).trim();
  } catch (err) {
    temporalCli = `unknown (${(err as Error).message})`;
  }
  const sdkPkg = JSON.parse(readFileSync(join(root, 'node_modules/@temporalio/worker/package.json'), 'utf8')) as {
    version: string;
  };
  let code = 'unknown';
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();
    code = `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src').length > 0 ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    // not a git checkout
  }
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    code,
    machine: `${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    os: `${osType()} ${release()} (${process.platform}/${process.arch})`,
    node: process.version,
    temporalCli,
    sdk: sdkPkg.version,
    server: `temporal CLI dev server (SQLite in-memory, 1 history shard)${TUNED ? `, tuned: ${describeDynamicConfig(LATENCY_TUNING)}` : ''}`,
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// CPU accounting: who is busy, the node process (worker + API + bench client) or the Temporal server.

function procCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return undefined;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100 per second on Linux)
  return Number.isFinite(ticks) ? ticks * 10 : undefined;
}

interface CpuSample {
  at: number;
  node: number;
  server?: number;
}
function cpuSample(server: DevServer): CpuSample {
  const u = process.cpuUsage();
  return { at: performance.now(), node: (u.user + u.system) / 1_000, server: procCpuMs(server.process.pid) };
}
interface Cpu {
  wallMs: number;
  nodeMs: number;
  serverMs?: number;
}
function cpuSince(from: CpuSample, server: DevServer): Cpu {
  const to = cpuSample(server);
  return {
    wallMs: to.at - from.at,
    nodeMs: to.node - from.node,
    serverMs: to.server !== undefined && from.server !== undefined ? to.server - from.server : undefined,
  };
}
const CORES = cpus().length;
function cpuText(c: Cpu | undefined): string {
  if (!c) return '–';
  const cores = (ms: number) => (ms / c.wallMs).toFixed(2);
  const srv = c.serverMs !== undefined ? ` + Temporal server ${cores(c.serverMs)}` : '';
  return `node (worker + API + client) ${cores(c.nodeMs)}${srv} of ${CORES} cores busy`;
}
/** CPU milliseconds (node + server) spent per task. */
const cpuPerTask = (c: Cpu | undefined, tasks: number) =>
  c && tasks > 0 ? (c.nodeMs + (c.serverMs ?? 0)) / tasks : NaN;
const busyCores = (c: Cpu | undefined) => (c ? (c.nodeMs + (c.serverMs ?? 0)) / c.wallMs : NaN);

// ---------------------------------------------------------------------------------------------------------------------
// History analysis

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

interface Ev {
  kind: string;
  at: number;
  id: number;
  activity?: string;
  scheduledId?: number;
  signal?: string;
}

/** The event's kind from whichever `*EventAttributes` field it carries (no proto enums needed). */
function toEv(e: HistoryEvent): Ev {
  const rec = e as unknown as Record<string, unknown>;
  const key = Object.keys(rec).find((k) => k.endsWith('EventAttributes') && rec[k] != null) ?? 'unknown';
  const a = rec[key] as Record<string, unknown> | undefined;
  return {
    kind: key.replace(/EventAttributes$/, ''),
    at: tsToMs(e.eventTime),
    id: Number(e.eventId),
    activity: (a?.activityType as { name?: string } | undefined)?.name ?? undefined,
    scheduledId: a?.scheduledEventId != null ? Number(a.scheduledEventId) : undefined,
    signal: typeof a?.signalName === 'string' ? a.signalName : undefined,
  };
}

async function events(client: Client, workflowId: string, runId?: string): Promise<Ev[]> {
  const h = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return (h.events ?? []).map(toEv);
}

/** Workflow-task dispatch latencies (scheduled → started): the hand-off from the server to the worker. */
function wftQueueLatencies(evs: Ev[]): number[] {
  const byId = new Map(evs.map((e) => [e.id, e]));
  return evs
    .filter((e) => e.kind === 'workflowTaskStarted' && e.scheduledId !== undefined)
    .map((e) => e.at - (byId.get(e.scheduledId as number)?.at ?? e.at));
}

interface Profile {
  events: number;
  workflowTasks: number;
  activities: number;
  signalsSent: number;
  signalsReceived: number;
  searchAttributeUpserts: number;
  childrenStarted: number;
}

/** What one workflow's history is made of, for the per-task cost comparison. */
function profile(evs: Ev[]): Profile {
  const count = (kind: string) => evs.filter((e) => e.kind === kind).length;
  return {
    events: evs.length,
    workflowTasks: count('workflowTaskCompleted'),
    activities: count('activityTaskScheduled'),
    signalsSent: count('signalExternalWorkflowExecutionInitiated'),
    signalsReceived: count('workflowExecutionSignaled'),
    searchAttributeUpserts: count('upsertWorkflowSearchAttributes'),
    childrenStarted: count('startChildWorkflowExecutionInitiated'),
  };
}

/** Fraction of [from, to] during which a workflow had a workflow task scheduled or running: it serializes on those. */
function busyFraction(evs: Ev[], from: number, to: number): { wfts: number; busy: number } {
  let busy = 0;
  let wfts = 0;
  let open: number | undefined;
  for (const e of evs) {
    if (e.kind === 'workflowTaskScheduled' && open === undefined) open = e.at;
    const closes = ['workflowTaskCompleted', 'workflowTaskFailed', 'workflowTaskTimedOut'].includes(e.kind);
    if (closes && open !== undefined) {
      const s = Math.max(open, from);
      const t = Math.min(e.at, to);
      if (t > s) {
        busy += t - s;
        wfts++;
      }
      open = undefined;
    }
  }
  return { wfts, busy: busy / Math.max(1, to - from) };
}

/** Workflow-task run times (started → completed): the worker's turn plus the server recording the commands. */
function wftRunTimes(evs: Ev[]): number[] {
  const byId = new Map(evs.map((e) => [e.id, e]));
  return evs
    .filter((e) => e.kind === 'workflowTaskCompleted')
    .map((e) => {
      const started = byId.get(e.id - 1);
      return started?.kind === 'workflowTaskStarted' ? e.at - started.at : NaN;
    })
    .filter(Number.isFinite);
}

/** Time-weighted average of children in flight over [from, to]: how full the plan kept its window. */
function avgInFlight(evs: Ev[], from: number, to: number): number {
  const closes = [
    'childWorkflowExecutionCompleted',
    'childWorkflowExecutionFailed',
    'childWorkflowExecutionCanceled',
    'childWorkflowExecutionTimedOut',
    'childWorkflowExecutionTerminated',
    'startChildWorkflowExecutionFailed',
  ];
  let inFlight = 0;
  let last = from;
  let area = 0;
  for (const e of evs) {
    const delta = e.kind === 'startChildWorkflowExecutionInitiated' ? 1 : closes.includes(e.kind) ? -1 : 0;
    if (delta === 0) continue;
    const at = Math.min(Math.max(e.at, from), to);
    area += inFlight * (at - last);
    last = at;
    inFlight += delta;
  }
  area += inFlight * (to - last);
  return area / Math.max(1, to - from);
}

interface Runs {
  runs: number;
  maxHistory: number;
  totalEvents: number;
}

/** Every run of a workflow id (continue-as-new makes several), listed from visibility, each run described. */
async function runsOf(client: Client, workflowId: string, closedSince?: number): Promise<Runs> {
  const lengths: number[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId='${workflowId}'` })) {
    if (closedSince !== undefined && wf.closeTime && wf.closeTime.getTime() < closedSince) continue;
    // Visibility has no history length for a run that is still open; describe has it for every run.
    const desc = await client.workflow
      .getHandle(workflowId, wf.runId)
      .describe()
      .catch(() => undefined);
    lengths.push(desc?.historyLength ?? wf.historyLength);
  }
  return {
    runs: lengths.length,
    maxHistory: Math.max(0, ...lengths),
    totalEvents: lengths.reduce((s, n) => s + n, 0),
  };
}

/** The events of every run of a workflow id that was open at or after `from`, oldest first. */
async function eventsOfRuns(client: Client, workflowId: string, from: number): Promise<Ev[]> {
  const evs: Ev[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId='${workflowId}'` })) {
    if (wf.closeTime && wf.closeTime.getTime() < from) continue;
    evs.push(...(await events(client, workflowId, wf.runId)));
  }
  return evs.sort((a, b) => a.at - b.at || a.id - b.id);
}

// ---------------------------------------------------------------------------------------------------------------------
// Results

interface LatencyResult {
  totalMs: number[];
  phases: [string, number][];
  /** Workflow-task dispatch latency over the plan and task workflows of every measured run. */
  wftQueueMs: number[];
  plan: Profile;
  task: Profile;
}
interface PlanRun {
  tasks: number;
  ok: boolean;
  status: string;
  completed: number;
  wallMs: number;
  tasksPerSec: number;
  plan?: Runs;
  task?: Profile;
  peakBusy?: number;
  planBusy?: { wfts: number; busy: number };
  poolBusy?: { wfts: number; busy: number };
  /** Events the pool's runs recorded while the plan ran. */
  poolEvents?: number;
  planWftQueueMs?: number;
  /** Median plan workflow task run time (started → completed), ms. */
  planWftRunMs?: number;
  /** Time-weighted average of task workflows in flight. */
  inFlight?: number;
  cpu?: Cpu;
  timedOut: boolean;
  bodyBytes: number;
  error?: string;
}
interface BareRun {
  tasks: number;
  wallMs: number;
  tasksPerSec: number;
  profile: Profile;
  wftQueueMs: number;
  cpu?: Cpu;
}
interface Results {
  env: Env;
  quick: boolean;
  sizes: typeof SIZES;
  a?: LatencyResult;
  b?: PlanRun;
  c?: BareRun;
  d?: PoolRoundTripResult & { events: number };
  e?: PlanRun & { pool?: Runs };
  pool?: Runs;
  overWarn: { workflowId: string; historyLength: number; type: string }[];
  payloadWarnings: typeof payloadWarnings;
  notes: string[];
}

// ---------------------------------------------------------------------------------------------------------------------
// The measurements

interface Rig {
  server: DevServer;
  client: Client;
  config: Config;
  base: string;
}

async function http(
  rig: Pick<Rig, 'base'>,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${rig.base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, json };
}

const errorText = (json: unknown): string =>
  (json as { error?: { message?: string } })?.error?.message ?? JSON.stringify(json).slice(0, 300);

const STALL_MS = 180_000;

/**
 * Waits for a plan's result through the API's long poll. `undefined` when the deadline passes, or earlier when the plan
 * is stalled: no task workflow completed for STALL_MS while workflow-task completions were being refused for payloads
 * over 2 MB (the plan cannot recover from that by itself). Progress is counted from visibility.
 */
async function waitResult(
  rig: Rig,
  planId: string,
  deadline: number,
): Promise<{ status: number; json: unknown; stalled?: undefined } | { stalled: true } | undefined> {
  let lastCount = -1;
  let lastChange = Date.now();
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    const wait = Math.max(1, Math.min(30, Math.floor(left / 1_000)));
    const r = await http(rig, 'GET', `/v1/plans/${planId}/result?wait=${wait}`);
    if (r.status === 200) return r;
    if (r.status !== 202) {
      log(`    GET result answered ${r.status}: ${errorText(r.json)}`);
      await sleep(1_000);
    }
    const done = await rig.client.workflow
      .count(`PlanId='${planId}' AND WorkflowType='agentTaskWorkflow' AND ExecutionStatus='Completed'`)
      .then((c) => c.count)
      .catch(() => lastCount);
    if (done !== lastCount) {
      lastCount = done;
      lastChange = Date.now();
    } else if (payloadWarnings.errors > 0 && Date.now() - lastChange > STALL_MS) return { stalled: true };
  }
}

const PHASES = [
  'HTTP submit (validate, registry query, start the plan workflow)',
  'plan started → task workflow running',
  'task running → agent requested from the pool',
  'agent requested → grant received (pool workflow task + signal back)',
  'grant → reason scheduled',
  'reason + execute + validate (3 activities)',
  'validate done → agent released, task workflow completed',
  'task completed → plan completed',
  'plan completed → HTTP result received',
];

async function measureLatency(rig: Rig, runTag: string): Promise<LatencyResult> {
  const total: number[] = [];
  const runs: { id: string; t0: number; done: number }[] = [];
  for (let i = 0; i < SIZES.warmup + SIZES.runs; i++) {
    const id = `bench-a-${runTag}-${i}`;
    const t0 = Date.now();
    const p0 = performance.now();
    const post = await http(rig, 'POST', '/v1/plans', { id, tasks: [{ id: 't', description: 'bench task' }] });
    if (post.status !== 202) throw new Error(`(a) POST answered ${post.status}: ${errorText(post.json)}`);
    const res = await http(rig, 'GET', `/v1/plans/${id}/result?wait=30`);
    const p2 = performance.now();
    if (res.status !== 200 || (res.json as { status?: string }).status !== 'completed')
      throw new Error(`(a) plan ${id} answered ${res.status}: ${JSON.stringify(res.json).slice(0, 300)}`);
    if (i < SIZES.warmup) continue;
    total.push(p2 - p0);
    runs.push({ id, t0, done: t0 + (p2 - p0) });
  }

  // Where the time goes: milestones from the plan's and the task's histories (client and server share the clock).
  const samples: number[][] = PHASES.map(() => []);
  const wftQueueMs: number[] = [];
  let plan: Profile = profile([]);
  let task: Profile = profile([]);
  for (const r of runs) {
    const planEvs = await events(rig.client, planWorkflowId(r.id));
    const taskEvs = await events(rig.client, taskWorkflowId(r.id, 't'));
    wftQueueMs.push(...wftQueueLatencies(planEvs), ...wftQueueLatencies(taskEvs));
    plan = profile(planEvs);
    task = profile(taskEvs);
    const first = (evs: Ev[], pred: (e: Ev) => boolean) => evs.find(pred)?.at ?? NaN;
    const last = (evs: Ev[], pred: (e: Ev) => boolean) => [...evs].reverse().find(pred)?.at ?? NaN;
    // The pool is reached by a signal from the task workflow or, in older code, by the signalPool activity.
    const toPool = (e: Ev) =>
      (e.kind === 'signalExternalWorkflowExecutionInitiated' && e.signal === 'acquireAgent') ||
      (e.kind === 'activityTaskScheduled' && e.activity === 'signalPool');
    const validateScheduled = taskEvs.find((e) => e.kind === 'activityTaskScheduled' && e.activity === 'validate');
    const milestones = [
      r.t0,
      first(planEvs, (e) => e.kind === 'workflowExecutionStarted'),
      first(taskEvs, (e) => e.kind === 'workflowExecutionStarted'),
      first(taskEvs, toPool),
      first(taskEvs, (e) => e.kind === 'workflowExecutionSignaled' && e.signal === 'agentGranted'),
      first(taskEvs, (e) => e.kind === 'activityTaskScheduled' && e.activity === 'reason'),
      first(taskEvs, (e) => e.kind === 'activityTaskCompleted' && e.scheduledId === validateScheduled?.id),
      last(taskEvs, (e) => e.kind === 'workflowExecutionCompleted'),
      last(planEvs, (e) => e.kind === 'workflowExecutionCompleted'),
      r.done,
    ];
    const gaps = milestones.slice(1).map((m, i) => m - (milestones[i] as number));
    gaps.forEach((g, i) => {
      if (Number.isFinite(g)) samples[i]?.push(g);
    });
  }
  return {
    totalMs: total,
    phases: PHASES.map((p, i) => [p, median(samples[i] ?? [])] as [string, number]),
    wftQueueMs,
    plan,
    task,
  };
}

function planBody(id: string, tasks: number) {
  return {
    id,
    name: `bench ${tasks} tasks`,
    mode: 'parallel',
    maxConcurrency: SIZES.concurrency,
    tasks: Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, description: 'bench task' })),
  };
}

async function measurePlan(rig: Rig, id: string, tasks: number, deadlineMs: number, deep: boolean): Promise<PlanRun> {
  const body = planBody(id, tasks);
  const cpu0 = cpuSample(rig.server);
  const t0 = Date.now();
  const post = await http(rig, 'POST', '/v1/plans', body);
  const run: PlanRun = {
    tasks,
    ok: false,
    status: 'timed out',
    completed: 0,
    wallMs: 0,
    tasksPerSec: 0,
    timedOut: false,
    bodyBytes: JSON.stringify(body).length,
  };
  if (post.status !== 202) {
    return {
      ...run,
      status: `not started (HTTP ${post.status})`,
      wallMs: Date.now() - t0,
      cpu: cpuSince(cpu0, rig.server),
      error: errorText(post.json),
    };
  }
  const waited = await waitResult(rig, id, t0 + deadlineMs);
  const res = waited?.stalled ? undefined : waited;
  run.wallMs = Date.now() - t0;
  run.cpu = cpuSince(cpu0, rig.server);
  run.timedOut = res === undefined;
  if (waited?.stalled) run.status = 'stalled';
  if (res) {
    const result = res.json as {
      status: string;
      outputs?: Record<string, unknown>;
      errors?: Record<string, { message: string }>;
    };
    run.status = result.status;
    run.completed = Object.keys(result.outputs ?? {}).length;
    run.ok = result.status === 'completed' && run.completed === tasks;
    run.tasksPerSec = (run.completed / run.wallMs) * 1_000;
    if (!run.ok) run.error = Object.values(result.errors ?? {})[0]?.message;
  } else {
    run.error = waited?.stalled
      ? `no task completed for ${STALL_MS / 1_000} s while workflow-task completions were refused (payload over 2 MB); gave up after ${fmt(run.wallMs / 1_000)} s`
      : `no result within ${Math.round(deadlineMs / 1_000)} s`;
    // How far it got, and whether it is stuck on a failing workflow task, before it is terminated.
    const done = await rig.client.workflow
      .count(`PlanId='${id}' AND WorkflowType='agentTaskWorkflow' AND ExecutionStatus='Completed'`)
      .catch(() => undefined);
    run.completed = done?.count ?? 0;
    const desc = await rig.client.workflow
      .getHandle(planWorkflowId(id))
      .describe()
      .catch(() => undefined);
    const attempt = desc?.raw.pendingWorkflowTask?.attempt;
    if (attempt && attempt > 1)
      run.error += `; the plan's workflow task was on attempt ${attempt} (failing and retried)`;
    run.error += `; ${fmt(run.completed)} of ${fmt(tasks)} task workflows had completed`;
    await rig.client.workflow
      .getHandle(planWorkflowId(id))
      .terminate('benchmark deadline')
      .catch(() => undefined);
  }
  await sleep(1_000); // let visibility catch up with the last run's close
  run.plan = await runsOf(rig.client, planWorkflowId(id));
  run.task = profile(await events(rig.client, taskWorkflowId(id, 't0')).catch(() => []));
  const pool = await rig.client.workflow
    .getHandle(rig.config.AGENT_POOL_ID)
    .query(poolStatusQuery)
    .catch(() => undefined as PoolView | undefined);
  run.peakBusy = pool?.peakBusy;
  if (deep) {
    // Serialization evidence: how much of the run the plan and the pool had a workflow task open.
    try {
      const planEvs = await eventsOfRuns(rig.client, planWorkflowId(id), t0);
      run.planBusy = busyFraction(planEvs, t0, t0 + run.wallMs);
      run.planWftQueueMs = median(wftQueueLatencies(planEvs));
      run.planWftRunMs = median(wftRunTimes(planEvs));
      run.inFlight = avgInFlight(planEvs, t0, t0 + run.wallMs);
      const poolEvs = await eventsOfRuns(rig.client, rig.config.AGENT_POOL_ID, t0);
      run.poolBusy = busyFraction(poolEvs, t0, t0 + run.wallMs);
      run.poolEvents = poolEvs.filter((e) => e.at >= t0 && e.at <= t0 + run.wallMs).length;
    } catch (err) {
      log(`    (history analysis skipped: ${(err as Error).message})`);
    }
  }
  return run;
}

async function measure(results: Results, rig: Rig): Promise<void> {
  const tag = randomUUID().slice(0, 6);
  const queue = rig.config.TEMPORAL_TASK_QUEUE;

  log(`(a) one-task plan over HTTP: ${SIZES.warmup} warm-up + ${SIZES.runs} runs ...`);
  results.a = await measureLatency(rig, tag);
  log(`    p50 ${fmt(median(results.a.totalMs), 1)} ms, p99 ${fmt(pct(results.a.totalMs, 99), 1)} ms`);

  log(`(b) ${fmt(SIZES.tasks)}-task parallel plan, maxConcurrency ${SIZES.concurrency}, MAX_AGENTS ${MAX_AGENTS} ...`);
  results.b = await measurePlan(rig, `bench-b-${tag}`, SIZES.tasks, 10 * 60_000, true);
  log(
    `    ${results.b.status}: ${fmt(results.b.wallMs)} ms, ${fmt(results.b.tasksPerSec, 1)} tasks/s; ${cpuText(results.b.cpu)}`,
  );
  if (!results.b.ok) results.notes.push(`(b) did not complete cleanly: ${results.b.status} ${results.b.error ?? ''}`);

  log(`(c) bare Temporal: ${fmt(SIZES.tasks)} × (reason, execute, validate), ${SIZES.concurrency} at a time ...`);
  {
    const cpu0 = cpuSample(rig.server);
    const t0 = performance.now();
    const input: BareLifecycleInput = {
      tasks: SIZES.tasks,
      concurrency: SIZES.concurrency,
      settings: executionSettings(rig.config),
      agentType: 'generalist',
    };
    const workflowId = `bench-c-${tag}`;
    const out = (await rig.client.workflow.execute('bareLifecycleWorkflow', {
      workflowId,
      taskQueue: queue,
      args: [input],
    })) as { completed: number };
    const wallMs = performance.now() - t0;
    const cpu = cpuSince(cpu0, rig.server);
    const evs = await events(rig.client, workflowId);
    results.c = {
      tasks: out.completed,
      wallMs,
      tasksPerSec: (out.completed / wallMs) * 1_000,
      profile: profile(evs),
      wftQueueMs: median(wftQueueLatencies(evs)),
      cpu,
    };
    log(`    ${fmt(wallMs)} ms, ${fmt(results.c.tasksPerSec, 1)} tasks/s; ${cpuText(results.c.cpu)}`);
  }

  log(`(d) pool round trip × ${SIZES.rounds} ...`);
  {
    const workflowId = `bench-d-${tag}`;
    const input: PoolRoundTripInput = { poolId: rig.config.AGENT_POOL_ID, rounds: SIZES.rounds, types: ['generalist'] };
    const out = (await rig.client.workflow.execute('poolRoundTripWorkflow', {
      workflowId,
      taskQueue: queue,
      args: [input],
    })) as PoolRoundTripResult;
    const desc = await rig.client.workflow.getHandle(workflowId).describe();
    results.d = { ...out, events: desc.historyLength };
    log(`    acquire → grant p50 ${median(out.acquireMs)} ms, p99 ${pct(out.acquireMs, 99)} ms`);
  }

  if (SIZES.bigTasks > 0) {
    log(`(e) ${fmt(SIZES.bigTasks)}-task parallel plan (deadline ${E_TIMEOUT_MS / 1_000} s) ...`);
    const from = Date.now();
    const e = await measurePlan(rig, `bench-e-${tag}`, SIZES.bigTasks, E_TIMEOUT_MS, true);
    results.e = { ...e, pool: await runsOf(rig.client, rig.config.AGENT_POOL_ID, from) };
    log(
      `    ${e.status}${e.error ? ` (${e.error.slice(0, 200)})` : ''}: ${fmt(e.wallMs)} ms; plan ${e.plan?.runs ?? 0} run(s), longest ${fmt(e.plan?.maxHistory)} events`,
    );
  }

  results.pool = await runsOf(rig.client, rig.config.AGENT_POOL_ID);
  // Every execution of this server over the warning threshold, whichever workflow it is.
  try {
    for await (const wf of rig.client.workflow.list({ query: `HistoryLength > ${HISTORY_WARN}` }))
      results.overWarn.push({ workflowId: wf.workflowId, historyLength: wf.historyLength, type: wf.type });
  } catch (err) {
    results.notes.push(`visibility query "HistoryLength > ${HISTORY_WARN}" failed: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Report

const met = (ok: boolean) => (ok ? '**met**' : '**not met**');

function eVerdict(r: Results): { ok: boolean; perTask: number; slowdown: number; overWarn: boolean } | undefined {
  if (!r.e) return undefined;
  const perTask = r.e.completed > 0 ? r.e.wallMs / r.e.completed : NaN;
  const perTaskB = r.b && r.b.completed > 0 ? r.b.wallMs / r.b.completed : NaN;
  const slowdown = perTask / perTaskB;
  const overWarn = (r.e.plan?.maxHistory ?? 0) > HISTORY_WARN || (r.e.pool?.maxHistory ?? 0) > HISTORY_WARN;
  return { ok: r.e.ok && !overWarn && slowdown <= TARGET.eSlowdown, perTask, slowdown, overWarn };
}

function rows(r: Results): string[][] {
  const out: string[][] = [['', 'Measure', 'Result', 'Target', 'Met']];
  if (r.a) {
    const p50 = median(r.a.totalMs);
    out.push([
      'a',
      `one-task plan, HTTP submit → result (${r.a.totalMs.length} runs after ${r.sizes.warmup} warm-up)`,
      `p50 **${fmt(p50, 1)} ms**, p99 ${fmt(pct(r.a.totalMs, 99), 1)} ms`,
      `p50 ≤ ${TARGET.aP50Ms} ms`,
      met(p50 <= TARGET.aP50Ms),
    ]);
  }
  if (r.b)
    out.push([
      'b',
      `${fmt(r.b.tasks)}-task parallel plan, maxConcurrency ${r.sizes.concurrency}, MAX_AGENTS ${MAX_AGENTS}`,
      `${r.b.status}, ${fmt(r.b.wallMs / 1_000, 1)} s, **${fmt(r.b.tasksPerSec, 1)} tasks/s**`,
      '',
      '',
    ]);
  if (r.c)
    out.push([
      'c',
      `bare Temporal: ${fmt(r.c.tasks)} × 3 lifecycle activities, ${r.sizes.concurrency} at a time, one workflow`,
      `${fmt(r.c.wallMs / 1_000, 1)} s, **${fmt(r.c.tasksPerSec, 1)} tasks/s**`,
      '',
      '',
    ]);
  if (r.b && r.c) {
    const ratio = r.b.tasksPerSec / r.c.tasksPerSec;
    out.push([
      'b/c',
      'orchestrator throughput relative to bare Temporal',
      `**${ratio.toFixed(2)}**`,
      `≥ ${TARGET.ratio}`,
      met(r.b.ok && ratio >= TARGET.ratio),
    ]);
  }
  if (r.d)
    out.push([
      'd',
      `pool acquire → grant, ${r.d.acquireMs.length} sequential rounds; whole cycle with release`,
      `p50 **${r.d.acquireMs.length ? median(r.d.acquireMs) : '–'} ms**, p99 ${pct(r.d.acquireMs, 99)} ms; cycle p50 ${median(r.d.cycleMs)} ms, p99 ${pct(r.d.cycleMs, 99)} ms`,
      'reported',
      '',
    ]);
  const v = eVerdict(r);
  if (r.e && v)
    out.push([
      'e',
      `${fmt(r.e.tasks)}-task parallel plan, maxConcurrency ${r.sizes.concurrency}`,
      r.e.ok
        ? `completed in ${fmt(r.e.wallMs / 1_000, 1)} s, ${fmt(v.perTask, 2)} ms/task = **${v.slowdown.toFixed(2)}× (b)**; plan ${r.e.plan?.runs} run(s), longest ${fmt(r.e.plan?.maxHistory)} events; pool longest ${fmt(r.e.pool?.maxHistory)}`
        : `**${r.e.status}**${r.e.error ? `: ${r.e.error.slice(0, 300)}` : ''} after ${fmt(r.e.wallMs / 1_000, 1)} s (${fmt(r.e.completed)} tasks)`,
      `completes, every history < ${fmt(HISTORY_WARN)} events, ≤ ${TARGET.eSlowdown}× (b) per task`,
      met(v.ok),
    ]);
  return out;
}

function table(cells: string[][]): string {
  const [head, ...body] = cells;
  const line = (c: string[]) => `| ${c.join(' | ')} |`;
  return [line(head ?? []), line((head ?? []).map(() => '---')), ...body.map(line)].join('\n');
}

function consoleTable(cells: string[][]): string {
  const plain = cells.map((r) => r.map((c) => c.replace(/\*\*/g, '')));
  const widths = plain[0]?.map((_, i) => Math.max(...plain.map((r) => (r[i] ?? '').length))) ?? [];
  return plain.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')).join('\n');
}

const describeProfile = (p: Profile | undefined): string =>
  p
    ? `${fmt(p.events)} events, ${fmt(p.workflowTasks)} workflow tasks, ${fmt(p.activities)} activities, ${fmt(p.signalsSent)} signals sent, ${fmt(p.signalsReceived)} received, ${fmt(p.searchAttributeUpserts)} search-attribute upserts`
    : '–';

/** What each number means and, where a target is missed, why and what would reach it, from this run's evidence. */
function analysis(r: Results): string[] {
  const out: string[] = [];
  const slowDispatch = r.a !== undefined && median(r.a.wftQueueMs) >= 20;
  if (r.a) {
    const p50 = median(r.a.totalMs);
    out.push(
      `**(a)** Where the ${fmt(p50, 1)} ms of a one-task plan go (median of each phase over ${r.a.totalMs.length} runs, from the plan's and the task's histories; client and server share the clock):`,
      '',
      '| Phase | ms |',
      '| --- | ---: |',
      ...r.a.phases.map(([k, v]) => `| ${k} | ${fmt(v, 1)} |`),
      '',
      `Per plan: the plan workflow has ${describeProfile(r.a.plan)}; the task workflow ${describeProfile(r.a.task)}. Workflow-task dispatch (scheduled → started) takes p50 ${fmt(median(r.a.wftQueueMs), 1)} ms, p90 ${fmt(pct(r.a.wftQueueMs, 90), 1)} ms, over ${fmt(r.a.wftQueueMs.length)} workflow tasks.`,
    );
    if (p50 > TARGET.aP50Ms) {
      out.push(
        '',
        `Missed. A one-task plan is a chain of about ${fmt((r.a.plan.workflowTasks ?? 0) + (r.a.task.workflowTasks ?? 0) + 2)} sequential hops (every workflow task of the plan and the task, the pool's turn, the grant), and ${
          slowDispatch
            ? `each hop that goes through the server's transfer queue waits for its next read: the dev server reads its single shard's transfer queue at most 20 times a second (\`history.transferProcessorMaxPollRPS\` = 20), which is the ~${fmt(median(r.a.wftQueueMs))} ms median dispatch above. \`npm run bench -- --tuned\` raises it to 1,000 and shows what is left. On a production server (several shards, default poll rate) the same hops are cheaper, but the count of hops stays.`
            : 'dispatch is fast here, so what is left is the number of hops itself.'
        } What would reach ≤ ${TARGET.aP50Ms} ms in the code: fewer hops per task — run short lifecycle steps as local activities (or one activity for reason → execute → validate, with heartbeats), so they cost no workflow task each; drop the \`taskAssigned\` signal to the plan (the plan can learn the agent id from the task's result or a query); and, for plans of one task, let the plan acquire the agent itself or run the task inline instead of as a child workflow.`,
      );
    }
    out.push('');
  }
  if (r.b && r.c) {
    const ratio = r.b.tasksPerSec / r.c.tasksPerSec;
    const perB = cpuPerTask(r.b.cpu, r.b.completed);
    const perC = cpuPerTask(r.c.cpu, r.c.tasks);
    out.push(
      `**(b) vs (c)**: ${fmt(r.b.tasksPerSec, 1)} against ${fmt(r.c.tasksPerSec, 1)} tasks/s (ratio ${ratio.toFixed(2)}). CPU during (b): ${cpuText(r.b.cpu)}; during (c): ${cpuText(r.c.cpu)}. That is **${fmt(perB, 1)} CPU-ms per task for the orchestrator against ${fmt(perC, 1)} for bare Temporal** (${fmt(perB / perC, 1)}×).`,
      '',
      `Per task the orchestrator writes a task workflow (${describeProfile(r.b.task)}) plus its share of the plan (${fmt(r.b.plan?.totalEvents)} events in ${r.b.plan?.runs ?? '–'} run(s), ${fmt((r.b.plan?.totalEvents ?? 0) / r.b.tasks, 1)} per task) and of the pool (${fmt(r.b.poolEvents)} events while the plan ran, ${fmt((r.b.poolEvents ?? NaN) / r.b.tasks, 1)} per task): about **${fmt((r.b.task?.events ?? 0) + ((r.b.plan?.totalEvents ?? 0) + (r.b.poolEvents ?? 0)) / r.b.tasks, 0)} history events per task**; bare Temporal writes ${fmt(r.c.profile.events / r.c.tasks, 1)} events and ${fmt(r.c.profile.workflowTasks / r.c.tasks, 2)} workflow tasks per task (${describeProfile(r.c.profile)} in all). Pool peak: ${r.b.peakBusy ?? '–'} busy instances of ${MAX_AGENTS}.`,
    );
    if (r.b.planBusy || r.b.poolBusy) {
      out.push(
        '',
        `Serialization: during (b) the plan workflow had a workflow task queued or running ${fmt((r.b.planBusy?.busy ?? NaN) * 100)} % of the time (${fmt(r.b.planBusy?.wfts)} workflow tasks, dispatch p50 ${fmt(r.b.planWftQueueMs)} ms, run p50 ${fmt(r.b.planWftRunMs)} ms; on average ${fmt(r.b.inFlight)} task workflows in flight of the ${r.sizes.concurrency} allowed), the pool workflow ${fmt((r.b.poolBusy?.busy ?? NaN) * 100)} % (${fmt(r.b.poolBusy?.wfts)} workflow tasks). Each of them takes its events one workflow task at a time, so near 100 % they are serial bottlenecks as well; bare Temporal's single workflow instead batches hundreds of activity completions per workflow task (${fmt(r.c.profile.workflowTasks)} workflow tasks for ${fmt(r.c.tasks)} tasks).`,
      );
    }
    if (ratio < TARGET.ratio) {
      const saturated = busyCores(r.b.cpu) >= 0.75 * CORES;
      out.push(
        '',
        `Missed. ${
          saturated
            ? `The machine is CPU-bound in both runs (${fmt(busyCores(r.b.cpu), 2)} and ${fmt(busyCores(r.c.cpu), 2)} of ${CORES} cores), so the ratio is essentially the ratio of CPU per task: the orchestrator does ${fmt(perB / perC, 1)}× the work per task.`
            : `The CPU is not saturated (${fmt(busyCores(r.b.cpu), 2)} of ${CORES} cores during (b)), so the plan and pool workflows' serial workflow tasks, and the hops per task, set the pace.`
        } To reach ≥ ${TARGET.ratio} the per-task cost has to come down to about ${fmt(1 / TARGET.ratio)}× bare Temporal's: fewer workflow tasks and events per task — run the lifecycle steps as local activities or one fused activity (each step now costs a workflow task and a search-attribute upsert), upsert search attributes once per task rather than per lifecycle step, and drop the per-task \`taskAssigned\` signal to the plan; if the pool's or plan's busy fraction stays near 100 %, shard the pool (one pool workflow per agent type, or N pools by hash) so grants are not serialized through one workflow.`,
      );
    }
    out.push('');
  }
  if (r.d) {
    out.push(
      `**(d)** acquire → grant p50 ${median(r.d.acquireMs)} ms, p99 ${pct(r.d.acquireMs, 99)} ms with an otherwise idle pool: the signalPool activity (signal-with-start), one pool workflow task, the grant signal back and a workflow task of the requester. The whole cycle with the release activity: p50 ${median(r.d.cycleMs)} ms.${slowDispatch ? ' Multiples of ~50 ms are the transfer-queue reads of (a).' : ''}`,
      '',
    );
  }
  const v = eVerdict(r);
  if (r.e && v) {
    const facts: string[] = [];
    if (r.e.ok)
      facts.push(
        `completed in ${fmt(r.e.wallMs / 1_000, 1)} s, ${fmt(v.perTask, 2)} ms per task against ${fmt(r.b ? r.b.wallMs / Math.max(1, r.b.completed) : NaN, 2)} in (b) (${v.slowdown.toFixed(2)}×)`,
      );
    else if (r.e.status.startsWith('not started'))
      facts.push(`the plan was not accepted: ${r.e.error ?? ''} (body ${fmt(r.e.bodyBytes / 1_048_576, 2)} MB)`);
    else if (r.e.timedOut) facts.push(`${r.e.status}: ${r.e.error ?? ''}; the plan was then terminated to clean up`);
    else facts.push(`it ended ${r.e.status}: ${r.e.error ?? ''}`);
    if (r.e.plan)
      facts.push(
        `the plan workflow ran ${r.e.plan.runs} run(s) (continue-as-new), the longest ${fmt(r.e.plan.maxHistory)} events, ${fmt(r.e.plan.totalEvents)} in all`,
      );
    if (r.e.pool)
      facts.push(`the pool ran ${r.e.pool.runs} run(s) during (e), the longest ${fmt(r.e.pool.maxHistory)} events`);
    if (r.e.inFlight !== undefined)
      facts.push(
        `on average ${fmt(r.e.inFlight)} task workflows were in flight (of ${r.sizes.concurrency}; (b): ${fmt(r.b?.inFlight)}), the plan's workflow tasks ran p50 ${fmt(r.e.planWftRunMs)} ms ((b): ${fmt(r.b?.planWftRunMs)} ms), the plan had a workflow task open ${fmt((r.e.planBusy?.busy ?? NaN) * 100)} % of the time and the pool ${fmt((r.e.poolBusy?.busy ?? NaN) * 100)} %`,
      );
    facts.push(`CPU: ${cpuText(r.e.cpu)}, ${fmt(cpuPerTask(r.e.cpu, r.e.completed), 1)} CPU-ms per task`);
    out.push(`**(e)** ${facts.join('; ')}.`);
    if (!v.ok) {
      const why: string[] = [];
      if (v.overWarn) why.push(`a history went over the ${fmt(HISTORY_WARN)}-event warning`);
      if (r.e.ok && v.slowdown > TARGET.eSlowdown)
        why.push(
          `time per task is ${v.slowdown.toFixed(2)}× (b)${
            r.e.inFlight !== undefined && r.b?.inFlight !== undefined && r.e.inFlight < 0.8 * r.b.inFlight
              ? `: the window was kept less full (${fmt(r.e.inFlight)} against ${fmt(r.b.inFlight)} in flight) — each of the ${r.e.plan ? r.e.plan.runs - 1 : '?'} continue-as-new drains the running tasks first`
              : ''
          }${
            (r.e.planWftRunMs ?? 0) > 1.5 * (r.b?.planWftRunMs ?? Infinity)
              ? `; each plan workflow task takes longer (p50 ${fmt(r.e.planWftRunMs)} against ${fmt(r.b?.planWftRunMs)} ms): its per-pass work grows with the plan's size`
              : ''
          }`,
        );
      if (r.payloadWarnings.errors > 0)
        why.push(
          `a workflow-task completion carried a payload over Temporal's 2 MB limit (${fmt(r.payloadWarnings.maxErrorBytes / 1_048_576, 2)} MB at \`${r.payloadWarnings.errorPaths.join('`, `')}\`), so that workflow could not go on`,
        );
      else if (!r.e.ok && !r.e.status.startsWith('not started'))
        why.push('see the status above; the run was bounded by its deadline');
      out.push(
        '',
        `Missed${why.length ? `: ${why.join('; ')}` : ''}. What would reach it: keep the per-pass scheduling work independent of the plan size (a ready queue instead of scanning every task), keep the window full across continue-as-new (hand running children over instead of draining, or run tasks in batches of ~1,000 through intermediate child workflows, each with its own history), and carry only unfinished tasks' state into the next run.`,
      );
    }
    out.push('');
  }
  const longest: [string, number | undefined][] = [
    ['pool (any run)', r.pool?.maxHistory],
    ['plan (b)', r.b?.plan?.maxHistory],
    ['task workflow (b)', r.b?.task?.events],
    ['bare workflow (c)', r.c?.profile.events],
    ['round-trip workflow (d)', r.d?.events],
    ['plan (e)', r.e?.plan?.maxHistory],
  ];
  const over = (n: number | undefined) => (n ?? 0) > HISTORY_WARN;
  const listed = longest
    .filter(([, n]) => n !== undefined)
    .map(([k, n]) => `${k} ${fmt(n)}${over(n) ? ' (**over the warning**)' : ''}`);
  const visibility = r.overWarn.map((w) => `${w.type} \`${w.workflowId}\` ${fmt(w.historyLength)}`);
  out.push(
    `**History lengths** (events; warning at ${fmt(HISTORY_WARN)}, limit ${fmt(HISTORY_LIMIT)}): ${listed.join('; ')}. The pool ran ${r.pool?.runs ?? '–'} run(s), ${fmt(r.pool?.totalEvents)} events in all. ${
      visibility.length > 0
        ? `Closed executions over the warning (visibility \`HistoryLength > ${HISTORY_WARN}\`): ${visibility.join('; ')}.`
        : `No closed execution on the server went over the warning (visibility \`HistoryLength > ${HISTORY_WARN}\`).`
    }`,
  );
  const pw = r.payloadWarnings;
  if (pw.count > 0 || pw.errors > 0)
    out.push(
      '',
      `**Payload sizes**: the SDK warned ${fmt(pw.count)} time(s) of a payload over its 512 KB warning limit (largest ${fmt(pw.maxBytes / 1_048_576, 2)} MB)${
        pw.errors > 0
          ? ` and **refused ${fmt(pw.errors)} workflow-task completion(s) whose payload was over Temporal's 2 MB limit** (largest ${fmt(pw.maxErrorBytes / 1_048_576, 2)} MB, at \`${pw.errorPaths.join('`, `')}\`): the workflow task fails and is retried, and the workflow makes no progress until it is terminated`
          : ''
      }.`,
    );
  for (const n of r.notes) out.push('', `Note: ${n}`);
  return out;
}

function section(r: Results): string {
  return [
    `## ${r.env.date}${r.quick ? ' (quick)' : ''}${TUNED ? ' (tuned server)' : ''}`,
    '',
    `- Code: ${r.env.code}`,
    `- Machine: ${r.env.machine}; ${r.env.os}; Node ${r.env.node}`,
    `- Server: ${r.env.server}; ${r.env.temporalCli}`,
    `- SDK: @temporalio/worker ${r.env.sdk}; worker, API and load generator in one Node process, all on 127.0.0.1`,
    `- Settings: MAX_AGENTS ${MAX_AGENTS} (every agent type's maxInstances raised to ${MAX_AGENTS}, so MAX_AGENTS is the cap that binds), offline runtime with no simulated latency, retries 50 → 200 ms`,
    '',
    table(rows(r)),
    '',
    ...analysis(r),
    '',
  ].join('\n');
}

const PREAMBLE = `# Benchmarks

\`npm run bench\` (\`scripts/bench.ts\`) starts a Temporal dev server of its own (in memory, headless, free port,
127.0.0.1 only), an in-process worker on its own task queue and pool (workflows from \`scripts/bench-workflows.ts\`:
the production ones plus two bench-only baselines) and an in-process HTTP API, then measures:

- **(a)** one-task plan, \`POST /v1/plans\` → \`GET /v1/plans/:id/result?wait=30\`, 50 runs after 5 warm-up runs.
  Target: p50 ≤ 150 ms.
- **(b)** a 1,000-task parallel plan (instant agents: offline runtime, no simulated latency), maxConcurrency 200,
  MAX_AGENTS 100: wall time from submission to result, tasks/s.
- **(c)** the same work on bare Temporal: one workflow running reason → execute → validate (the worker's own activities)
  for 1,000 tasks, 200 at a time, no pool, no child workflows. Target: (b)/(c) ≥ 0.5.
- **(d)** pool acquire → grant → release round trip, 200 times in sequence, timed in workflow time.
- **(e)** a 10,000-task parallel plan: does it complete, time per task against (b), history lengths of the plan and pool
  workflows against Temporal's warning (10,240 events) and limit (51,200). Target: completes, no warning, time per task
  within 1.5× of (b). Bounded by a 15-minute deadline (\`BENCH_E_TIMEOUT_SECONDS\`).

\`npm run bench -- --quick\` is a smoke run (smaller sizes, no (e), leaves this file alone). \`--tuned\` runs the same
on a dev server whose transfer queue is read more often (\`history.transferProcessorMaxPollRPS=1000\` instead of 20),
which separates the dev server's dispatch delay from the orchestrator's own cost. The dev server (SQLite, one history
shard, sharing 2 cores with the worker) is for comparing versions of this code on one machine, not for throughput
records. Each run below says what it ran on; the analysis under each table is generated from that run's histories.

${MARKER}
`;

async function writeDoc(r: Results): Promise<void> {
  const sec = section(r);
  let doc = `${PREAMBLE}\n${sec}`;
  if (existsSync(DOC)) {
    const old = readFileSync(DOC, 'utf8');
    const i = old.indexOf(MARKER);
    if (i >= 0) {
      const after = old.slice(i + MARKER.length).replace(/^\n+/, '');
      doc = `${old.slice(0, i + MARKER.length)}\n\n${sec}${after ? `\n${after}` : ''}`;
    }
  }
  // Formatted the way `prettier --check` expects, so the generated file passes the lint.
  const options = (await resolveConfig(DOC)) ?? {};
  writeFileSync(DOC, await format(doc.replace(/\n{3,}/g, '\n\n'), { ...options, filepath: DOC }));
}

// ---------------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  // Core's logs come to this logger, so payload-size warnings are counted (they matter for (e)) instead of printed.
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry: LogEntry) => {
      const text = `${entry.message} ${JSON.stringify(entry.meta ?? {}, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`;
      const size = Number(/size"?:\s*"?(\d+)/.exec(text)?.[1] ?? 0);
      if (/exceeded the error limit/.test(text)) {
        payloadWarnings.errors++;
        payloadWarnings.maxErrorBytes = Math.max(payloadWarnings.maxErrorBytes, size);
        const path = /path:\s*\\?"([^"\\]+)/.exec(text)?.[1];
        if (path && !payloadWarnings.errorPaths.includes(path)) payloadWarnings.errorPaths.push(path);
      } else if (/TMPRL1103|exceeded the warning limit/.test(text)) {
        payloadWarnings.count++;
        payloadWarnings.maxBytes = Math.max(payloadWarnings.maxBytes, size);
      } else console.error(`[${entry.level}] ${text.slice(0, 500)}`);
    }),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
  const env = environment();
  console.log(
    [
      `date:     ${env.date}${QUICK ? '  (quick run)' : ''}`,
      `code:     ${env.code}`,
      `machine:  ${env.machine}`,
      `os:       ${env.os}`,
      `node:     ${env.node}`,
      `temporal: ${env.temporalCli}`,
      `sdk:      @temporalio/worker ${env.sdk}`,
      `server:   ${env.server}`,
      '',
    ].join('\n'),
  );
  const results: Results = { env, quick: QUICK, sizes: SIZES, overWarn: [], payloadWarnings, notes: [] };
  const cleanups: { what: string; fn: () => Promise<void> }[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const c of cleanups.reverse()) {
        const timeout = new Promise<void>((r) => setTimeout(r, 30_000).unref());
        const done = c.fn().catch((err: unknown) => log(`cleanup of ${c.what} failed: ${(err as Error).message}`));
        await Promise.race([done, timeout]);
      }
    })());
  let interrupted = false;
  const onSignal = (sig: string) => {
    interrupted = true;
    log(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));

  try {
    const tmp = mkdtempSync(join(tmpdir(), 'agent-orchestrator-bench-'));
    cleanups.push({ what: 'temp dir', fn: async () => rmSync(tmp, { recursive: true, force: true }) });

    const port = await freePort();
    log(`starting Temporal dev server on 127.0.0.1:${port} and bundling workflows ...`);
    const [server, bundle] = await Promise.all([
      startDevServer({ port, dynamicConfig: TUNED ? LATENCY_TUNING : {} }),
      bundleWorkflowCode({ workflowsPath: require.resolve('./bench-workflows'), logger: new DefaultLogger('ERROR') }),
    ]);
    cleanups.push({ what: 'Temporal dev server', fn: () => server.stop() });

    // Every type may grow to MAX_AGENTS, so the pool's global cap is the one that binds (the built-in types allow 10).
    const registryFile = join(tmp, 'registry.json');
    const benchRegistry: Registry = {
      agentTypes: DEFAULT_REGISTRY.agentTypes.map((t) => ({ ...t, maxInstances: MAX_AGENTS })),
    };
    writeFileSync(registryFile, JSON.stringify(benchRegistry));
    const taskQueue = `bench-${randomUUID().slice(0, 8)}`;
    const config = loadConfig({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      AGENT_POOL_ID: `bench-pool-${taskQueue}`,
      AGENT_REGISTRY_FILE: registryFile,
      MAX_AGENTS: String(MAX_AGENTS),
      AGENT_ORCHESTRATOR_HOST: '127.0.0.1',
      AGENT_ORCHESTRATOR_PORT: '0',
      TEMPORAL_UI_URL: `http://127.0.0.1:${port}`,
      RETRY_INITIAL_INTERVAL_MS: '50',
      RETRY_MAX_INTERVAL_MS: '200',
      HEARTBEAT_TIMEOUT_SECONDS: '10',
      AGENT_TIMEOUT_SECONDS: '60',
      TEMPORAL_RPC_TIMEOUT_MS: '30000',
    });
    const registry = loadRegistry(config.AGENT_REGISTRY_FILE);

    const nativeConnection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
    cleanups.push({ what: 'worker connection', fn: () => nativeConnection.close() });
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    cleanups.push({ what: 'client connection', fn: () => connection.close() });
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });

    const pool: PoolDeps = {
      client,
      taskQueue,
      poolInput: () => ({ settings: poolSettings(config), types: registry.agentTypes }),
    };
    const worker: Worker = await createWorker({
      connection: nativeConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue,
      deps: buildDeps(config, client),
      pool,
      workflowBundle: { code: bundle.code },
      identity: `bench@${process.pid}`,
    });
    const running = worker.run();
    cleanups.push({
      what: 'worker',
      fn: async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      },
    });
    await signalPool(pool, config.AGENT_POOL_ID, { kind: 'configure', input: pool.poolInput() });

    const app = createApp({ client, config, registry });
    const api: Server = await new Promise((done, fail) => {
      const s = app.listen(0, '127.0.0.1', () => done(s));
      s.once('error', fail);
    });
    cleanups.push({
      what: 'API',
      fn: () =>
        new Promise<void>((done) => {
          api.close(() => done());
          api.closeAllConnections();
        }),
    });
    const { port: apiPort } = api.address() as { port: number };
    const rig: Rig = { server, client, config, base: `http://127.0.0.1:${apiPort}` };
    log(`worker on task queue ${taskQueue}, pool ${config.AGENT_POOL_ID}, API on ${rig.base}`);
    // The registry file is read only at start-up: nothing is left behind if the run is killed.
    rmSync(tmp, { recursive: true, force: true });

    try {
      await measure(results, rig);
    } catch (err) {
      // A measurement that breaks is reported with what was measured so far, and the exit code says so.
      results.notes.push(`the run stopped early: ${(err as Error).message}`);
      console.error(err);
      process.exitCode = 1;
    }

    console.log(`\n${consoleTable(rows(results))}\n\n${analysis(results).join('\n').replace(/\*\*/g, '')}\n`);
    if (interrupted) log(`interrupted: not writing ${DOC}`);
    else if (WRITE) {
      await writeDoc(results);
      log(`wrote ${DOC}`);
    } else log(`not writing ${DOC} (${QUICK ? 'quick run; pass --write to write it' : '--no-write'})`);

    const hold = Number(process.env.BENCH_HOLD_SECONDS ?? 0);
    if (hold > 0) {
      log(`holding for ${hold} s: inspect with \`temporal workflow list --address ${server.address}\``);
      await sleep(hold * 1_000);
    }
  } finally {
    log('stopping API, worker and Temporal ...');
    await cleanup();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
