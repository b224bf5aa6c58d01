/** The measures (a)–(g) on one rig. Each one that breaks is noted and the others still run. */
import { measureSubscribers, SUBSCRIBERS, type SubscribersRun } from './events';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { executionSettings } from '../../src/config';
import { planWorkflowId, taskWorkflowId } from '../../src/shared/ids';
import type { PoolView } from '../../src/shared/pool';
import { poolStatusQuery } from '../../src/workflows/messages';
import type { BareLifecycleInput, PoolRoundTripInput, PoolRoundTripResult } from '../bench-workflows';
import { cpuSample, cpuSince, cpuText, type Cpu } from './cpu';
import {
  avgInFlight,
  busyFraction,
  events,
  eventsByWorkflow,
  planExecutions,
  prefixExecutions,
  profile,
  profilesByType,
  runsSummary,
  wftQueueLatencies,
  wftRunTimes,
  type Busy,
  type Ev,
  type Execution,
  type Profile,
  type Runs,
  type TypeProfile,
} from './history';
import { HISTORY_WARN, MAX_AGENTS, type Options, type Sizes, type Variant } from './options';
import type { Rig } from './rig';
import { fmt, log, mapLimit, median, pct, sleep, sum } from './util';

export interface LatencyResult {
  totalMs: number[];
  /** Median of each phase over the runs; NaN where a milestone was missing from every run's histories. */
  phases: { name: string; ms: number }[];
  /**
   * Median time per run not attributed to any phase because a milestone of it was missing from the histories (e.g.
   * lifecycle steps as local activities, no pool signal); undefined when every milestone was found in every run.
   */
  unattributedMs?: number;
  /** Workflow-task dispatch latency over the plan and task workflows of every measured run. */
  wftQueueMs: number[];
  /** The workflows of the last measured plan, per type. */
  workflows: TypeProfile[];
}

export interface BusyWorkflow {
  workflowId: string;
  type: string;
  role: 'plan' | 'pool' | 'other';
  busy: Busy;
}

export interface PlanRun {
  tasks: number;
  ok: boolean;
  status: string;
  completed: number;
  wallMs: number;
  tasksPerSec: number;
  timedOut: boolean;
  bodyBytes: number;
  error?: string;
  cpu?: Cpu;
  /** The plan workflow's runs (continue-as-new). */
  plan?: Runs;
  /** Every execution the plan consists of (plan runs, children, nested children), per type. */
  workflows?: TypeProfile[];
  /** Events of all of them. */
  planEvents?: number;
  /** The pool's workflows (every id that starts with the pool id): events they wrote while the plan ran. */
  pool?: { runs: Runs; eventsInWindow: number };
  peakBusy?: number;
  /** The plan workflow, every pool workflow, and every other workflow busy > 50 % of the run. */
  busy?: BusyWorkflow[];
  planWftQueueMs?: number;
  /** Median plan workflow task run time (started → completed), ms. */
  planWftRunMs?: number;
  /** Time-weighted average of the plan's children in flight. */
  inFlight?: number;
  /** Median workflow-task dispatch latency of the plan's other workflows (full analysis only). */
  otherWftQueueMs?: number;
}

export interface BareRun {
  tasks: number;
  wallMs: number;
  tasksPerSec: number;
  profile: Profile;
  wftQueueMs: number;
  cpu?: Cpu;
  /** Share of the run its one workflow had a workflow task queued or running. */
  busy?: number;
}

export interface ConcurrentRun {
  plans: number;
  tasksPerPlan: number;
  accepted: number;
  completedPlans: number;
  completedTasks: number;
  ok: boolean;
  wallMs: number;
  tasksPerSec: number;
  /** Per completed plan: its POST → its result, ms. */
  planMs: number[];
  cpu?: Cpu;
  /** Every pool workflow's busy fraction over the run. */
  poolBusy?: BusyWorkflow[];
  error?: string;
  /**
   * The same load on bare Temporal, measured right after: as many workflows of the same number of tasks (each
   * reason → execute → validate, one after the other), started at once from the client, each result awaited.
   */
  bare?: { workflows: number; tasks: number; wallMs: number; tasksPerSec: number; cpu?: Cpu };
}

export type RoundTrip = PoolRoundTripResult & { events: number };

export interface VariantResults {
  variant: Variant;
  a?: LatencyResult;
  b?: PlanRun;
  c?: BareRun;
  d?: RoundTrip;
  e?: PlanRun;
  f?: ConcurrentRun;
  h?: SubscribersRun;
  /** Every pool workflow on this server over the whole run. */
  pool?: Runs;
  overWarn: { workflowId: string; historyLength: number; type: string }[];
  notes: string[];
}

// ---------------------------------------------------------------------------------------------------------------------
// HTTP

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

/** Executions of a plan other than the plan workflow itself that have completed (from visibility). */
async function completedOfPlan(rig: Rig, planId: string): Promise<number | undefined> {
  return rig.client.workflow
    .count(`PlanId='${planId}' AND WorkflowId != '${planWorkflowId(planId)}' AND ExecutionStatus='Completed'`)
    .then((c) => c.count)
    .catch(() => undefined);
}

type Waited = { status: number; json: unknown; stalled?: undefined } | { stalled: true } | undefined;

/**
 * Waits for a plan's result through the API's long poll. `undefined` when the deadline passes, or earlier when the plan
 * is stalled: nothing of it completed for STALL_MS while workflow-task completions were being refused for payloads
 * over 2 MB (the plan cannot recover from that by itself). Progress is counted from visibility.
 */
async function waitResult(rig: Rig, planId: string, deadline: number): Promise<Waited> {
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
    const done = (await completedOfPlan(rig, planId)) ?? lastCount;
    if (done !== lastCount) {
      lastCount = done;
      lastChange = Date.now();
    } else if (rig.warnings.errors > 0 && Date.now() - lastChange > STALL_MS) return { stalled: true };
  }
}

interface PlanResultBody {
  status: string;
  outputs?: Record<string, unknown>;
  errors?: Record<string, { message: string }>;
}

// ---------------------------------------------------------------------------------------------------------------------
// (a) one-task plan latency, and where the time goes

export const PHASES = [
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

/**
 * Milestones of one run from the plan's and the task workflow's histories (client and server share the clock), one
 * more than PHASES; NaN for a milestone whose event is not there (e.g. no task workflow, local activities recorded as
 * markers instead of ActivityTask* events, no pool signal).
 */
export function milestones(t0: number, done: number, planEvs: Ev[], taskEvs: Ev[]): number[] {
  const first = (evs: Ev[], pred: (e: Ev) => boolean) => evs.find(pred)?.at ?? NaN;
  const last = (evs: Ev[], pred: (e: Ev) => boolean) => [...evs].reverse().find(pred)?.at ?? NaN;
  // The pool is reached by a signal from the task workflow or, in older code, by the signalPool activity.
  const toPool = (e: Ev) =>
    (e.kind === 'signalExternalWorkflowExecutionInitiated' && e.signal === 'acquireAgent') ||
    (e.kind === 'activityTaskScheduled' && e.activity === 'signalPool');
  const validateScheduled = taskEvs.find((e) => e.kind === 'activityTaskScheduled' && e.activity === 'validate');
  return [
    t0,
    first(planEvs, (e) => e.kind === 'workflowExecutionStarted'),
    first(taskEvs, (e) => e.kind === 'workflowExecutionStarted'),
    first(taskEvs, toPool),
    first(taskEvs, (e) => e.kind === 'workflowExecutionSignaled' && e.signal === 'agentGranted'),
    first(taskEvs, (e) => e.kind === 'activityTaskScheduled' && e.activity === 'reason'),
    validateScheduled
      ? first(taskEvs, (e) => e.kind === 'activityTaskCompleted' && e.scheduledId === validateScheduled.id)
      : NaN,
    last(taskEvs, (e) => e.kind === 'workflowExecutionCompleted'),
    last(planEvs, (e) => e.kind === 'workflowExecutionCompleted'),
    done,
  ];
}

async function measureLatency(rig: Rig, sizes: Sizes, tag: string): Promise<LatencyResult> {
  const total: number[] = [];
  const runs: { id: string; t0: number; done: number }[] = [];
  for (let i = 0; i < sizes.warmup + sizes.runs; i++) {
    const id = `bench-a-${tag}-${i}`;
    const t0 = Date.now();
    const p0 = performance.now();
    const post = await http(rig, 'POST', '/v1/plans', { id, tasks: [{ id: 't', description: 'bench task' }] });
    if (post.status !== 202) throw new Error(`(a) POST answered ${post.status}: ${errorText(post.json)}`);
    const res = await http(rig, 'GET', `/v1/plans/${id}/result?wait=30`);
    const p2 = performance.now();
    if (res.status !== 200 || (res.json as { status?: string }).status !== 'completed')
      throw new Error(`(a) plan ${id} answered ${res.status}: ${JSON.stringify(res.json).slice(0, 300)}`);
    if (i < sizes.warmup) continue;
    total.push(p2 - p0);
    runs.push({ id, t0, done: t0 + (p2 - p0) });
  }

  const samples: number[][] = PHASES.map(() => []);
  const unattributed: number[] = [];
  let missing = false;
  const wftQueueMs: number[] = [];
  for (const r of runs) {
    const planEvs = await events(rig.client, planWorkflowId(r.id)).catch(() => [] as Ev[]);
    const taskEvs = await events(rig.client, taskWorkflowId(r.id, 't')).catch(() => [] as Ev[]);
    wftQueueMs.push(...wftQueueLatencies(planEvs), ...wftQueueLatencies(taskEvs));
    const ms = milestones(r.t0, r.done, planEvs, taskEvs);
    const gaps = ms.slice(1).map((m, i) => m - (ms[i] as number));
    gaps.forEach((g, i) => {
      if (Number.isFinite(g)) samples[i]?.push(g);
    });
    const found = gaps.filter(Number.isFinite);
    if (found.length < gaps.length) missing = true;
    unattributed.push(r.done - r.t0 - sum(found));
  }
  const last = runs[runs.length - 1];
  const workflows = last
    ? profilesByType(await planExecutions(rig.client, last.id, planWorkflowId(last.id), { withEvents: true }))
    : [];
  return {
    totalMs: total,
    phases: PHASES.map((name, i) => ({ name, ms: median(samples[i] ?? []) })),
    unattributedMs: missing ? median(unattributed) : undefined,
    wftQueueMs,
    workflows,
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// (b) and (e): one big parallel plan

function parallelPlan(id: string, tasks: number, concurrency: number) {
  return {
    id,
    name: `bench ${tasks} tasks`,
    mode: 'parallel',
    maxConcurrency: concurrency,
    tasks: Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, description: 'bench task' })),
  };
}

/** The busy fraction of every pool workflow over [from, to], and the events they wrote in it. */
function poolActivity(pool: Execution[], from: number, to: number): { busy: BusyWorkflow[]; eventsInWindow: number } {
  const byId = eventsByWorkflow(pool);
  const busy = [...byId.entries()].map(([workflowId, evs]) => ({
    workflowId,
    type: pool.find((x) => x.workflowId === workflowId)?.type ?? 'unknown',
    role: 'pool' as const,
    busy: busyFraction(evs, from, to),
  }));
  const eventsInWindow = sum([...byId.values()].map((evs) => evs.filter((e) => e.at >= from && e.at <= to).length));
  return { busy, eventsInWindow };
}

/**
 * Submits a parallel plan over HTTP and waits for its result. `full` analysis fetches every history of the plan (for
 * per-type profiles and the busy fraction of every workflow); otherwise only the plan's and the pool's histories are
 * fetched and the other executions are counted from visibility.
 */
async function measurePlan(
  rig: Rig,
  id: string,
  tasks: number,
  concurrency: number,
  deadlineMs: number,
  full: boolean,
): Promise<PlanRun> {
  const pid = rig.server.process.pid;
  const body = parallelPlan(id, tasks, concurrency);
  const cpu0 = cpuSample(pid);
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
      cpu: cpuSince(cpu0, pid),
      error: errorText(post.json),
    };
  }
  const waited = await waitResult(rig, id, t0 + deadlineMs);
  const res = waited?.stalled ? undefined : waited;
  run.wallMs = Date.now() - t0;
  run.cpu = cpuSince(cpu0, pid);
  run.timedOut = res === undefined;
  if (waited?.stalled) run.status = 'stalled';
  if (res) {
    const result = res.json as PlanResultBody;
    run.status = result.status;
    run.completed = Object.keys(result.outputs ?? {}).length;
    run.ok = result.status === 'completed' && run.completed === tasks;
    run.tasksPerSec = (run.completed / run.wallMs) * 1_000;
    if (!run.ok) run.error = Object.values(result.errors ?? {})[0]?.message;
  } else {
    run.error = waited?.stalled
      ? `nothing completed for ${STALL_MS / 1_000} s while workflow-task completions were refused (payload over 2 MB); gave up after ${fmt(run.wallMs / 1_000)} s`
      : `no result within ${Math.round(deadlineMs / 1_000)} s`;
    // How far it got, and whether it is stuck on a failing workflow task, before it is terminated.
    run.completed = (await completedOfPlan(rig, id)) ?? 0;
    const desc = await rig.client.workflow
      .getHandle(planWorkflowId(id))
      .describe()
      .catch(() => undefined);
    const attempt = desc?.raw.pendingWorkflowTask?.attempt;
    if (attempt && attempt > 1)
      run.error += `; the plan's workflow task was on attempt ${attempt} (failing and retried)`;
    run.error += `; ${fmt(run.completed)} of the plan's other workflows had completed (${fmt(tasks)} tasks)`;
    await rig.client.workflow
      .getHandle(planWorkflowId(id))
      .terminate('benchmark deadline')
      .catch(() => undefined);
  }
  await sleep(1_000); // let visibility catch up with the last run's close
  const pool = await rig.client.workflow
    .getHandle(rig.config.AGENT_POOL_ID)
    .query(poolStatusQuery)
    .catch(() => undefined as PoolView | undefined);
  run.peakBusy = pool?.peakBusy;
  try {
    const from = t0;
    const to = t0 + run.wallMs;
    const planWfId = planWorkflowId(id);
    // A pool workflow the plan started itself is counted with the pool, not twice.
    const poolId = rig.config.AGENT_POOL_ID;
    const execs = (await planExecutions(rig.client, id, planWfId, { withEvents: full })).filter(
      (x) => !x.workflowId.startsWith(poolId),
    );
    const planRuns = execs.filter((x) => x.workflowId === planWfId);
    if (!full) await mapLimit(planRuns, 4, async (x) => void (x.evs = await events(rig.client, x.workflowId, x.runId)));
    run.plan = runsSummary(planRuns);
    run.workflows = profilesByType(execs);
    run.planEvents = sum(execs.map((x) => x.historyLength));
    const planEvs = eventsByWorkflow(planRuns).get(planWfId) ?? [];
    run.planWftQueueMs = median(wftQueueLatencies(planEvs));
    run.planWftRunMs = median(wftRunTimes(planEvs));
    run.inFlight = avgInFlight(planEvs, from, to);

    const poolExecs = await prefixExecutions(rig.client, poolId, { since: from, withEvents: true });
    const poolAct = poolActivity(poolExecs, from, to);
    run.pool = { runs: runsSummary(poolExecs), eventsInWindow: poolAct.eventsInWindow };

    // Serialization evidence: how much of the run each workflow had a workflow task open.
    const busy: BusyWorkflow[] = [
      {
        workflowId: planWfId,
        type: planRuns[0]?.type ?? 'unknown',
        role: 'plan',
        busy: busyFraction(planEvs, from, to),
      },
      ...poolAct.busy,
    ];
    if (full) {
      const others = eventsByWorkflow(execs.filter((x) => x.workflowId !== planWfId));
      run.otherWftQueueMs = median([...others.values()].flatMap(wftQueueLatencies));
      for (const [workflowId, evs] of others) {
        const b = busyFraction(evs, from, to);
        if (b.busy > 0.5)
          busy.push({
            workflowId,
            type: execs.find((x) => x.workflowId === workflowId)?.type ?? 'unknown',
            role: 'other',
            busy: b,
          });
      }
    }
    run.busy = busy;
  } catch (err) {
    log(`    (history analysis skipped: ${(err as Error).message})`);
  }
  return run;
}

// ---------------------------------------------------------------------------------------------------------------------
// (c) bare Temporal

async function measureBare(rig: Rig, sizes: Sizes, tag: string): Promise<BareRun> {
  const pid = rig.server.process.pid;
  const cpu0 = cpuSample(pid);
  const t0 = performance.now();
  const from = Date.now();
  const input: BareLifecycleInput = {
    tasks: sizes.tasks,
    concurrency: sizes.concurrency,
    settings: executionSettings(rig.config),
    agentType: 'generalist',
  };
  const workflowId = `bench-c-${tag}`;
  const out = (await rig.client.workflow.execute('bareLifecycleWorkflow', {
    workflowId,
    taskQueue: rig.config.TEMPORAL_TASK_QUEUE,
    args: [input],
  })) as { completed: number };
  const wallMs = performance.now() - t0;
  const cpu = cpuSince(cpu0, pid);
  const evs = await events(rig.client, workflowId);
  return {
    tasks: out.completed,
    wallMs,
    tasksPerSec: (out.completed / wallMs) * 1_000,
    profile: profile(evs),
    wftQueueMs: median(wftQueueLatencies(evs)),
    cpu,
    busy: busyFraction(evs, from, Date.now()).busy,
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// (d) pool round trip

async function measureRoundTrip(rig: Rig, sizes: Sizes, tag: string): Promise<RoundTrip> {
  const workflowId = `bench-d-${tag}`;
  const input: PoolRoundTripInput = { poolId: rig.config.AGENT_POOL_ID, rounds: sizes.rounds, types: ['generalist'] };
  const out = (await rig.client.workflow.execute('poolRoundTripWorkflow', {
    workflowId,
    taskQueue: rig.config.TEMPORAL_TASK_QUEUE,
    args: [input],
  })) as PoolRoundTripResult;
  const desc = await rig.client.workflow.getHandle(workflowId).describe();
  return { ...out, events: desc.historyLength };
}

// ---------------------------------------------------------------------------------------------------------------------
// (f) many small plans at once

async function measureConcurrentPlans(rig: Rig, sizes: Sizes, tag: string, deadlineMs: number): Promise<ConcurrentRun> {
  const pid = rig.server.process.pid;
  const ids = Array.from({ length: sizes.plans }, (_, i) => `bench-f-${tag}-${i}`);
  const body = (id: string) => ({
    id,
    name: `bench ${sizes.planTasks} sequential tasks`,
    mode: 'sequential',
    tasks: Array.from({ length: sizes.planTasks }, (_, i) => ({ id: `t${i}`, description: 'bench task' })),
  });
  const errors: string[] = [];
  const cpu0 = cpuSample(pid);
  const from = Date.now();
  const t0 = performance.now();
  // Every plan is submitted at once; each then long-polls its own result.
  const outcomes = await Promise.all(
    ids.map(async (id) => {
      const p0 = performance.now();
      const post = await http(rig, 'POST', '/v1/plans', body(id)).catch((err: unknown) => ({
        status: 0,
        json: { error: { message: (err as Error).message } },
      }));
      if (post.status !== 202) {
        errors.push(`POST answered ${post.status}: ${errorText(post.json)}`);
        return { accepted: false, completed: 0, ms: NaN };
      }
      const waited = await waitResult(rig, id, Date.now() + deadlineMs).catch((err: unknown) => {
        errors.push((err as Error).message);
        return undefined;
      });
      const ms = performance.now() - p0;
      if (!waited || waited.stalled) {
        errors.push(`plan ${id}: no result within ${deadlineMs / 1_000} s`);
        return { accepted: true, completed: 0, ms: NaN };
      }
      const result = waited.json as PlanResultBody;
      const completed = Object.keys(result.outputs ?? {}).length;
      if (result.status !== 'completed')
        errors.push(`plan ${id} ${result.status}: ${Object.values(result.errors ?? {})[0]?.message ?? ''}`);
      return { accepted: true, completed, ms: result.status === 'completed' ? ms : NaN };
    }),
  );
  const wallMs = performance.now() - t0;
  const cpu = cpuSince(cpu0, pid);
  const completedTasks = sum(outcomes.map((o) => o.completed));
  const planMs = outcomes.map((o) => o.ms).filter(Number.isFinite);
  const run: ConcurrentRun = {
    plans: ids.length,
    tasksPerPlan: sizes.planTasks,
    accepted: outcomes.filter((o) => o.accepted).length,
    completedPlans: planMs.length,
    completedTasks,
    ok: completedTasks === ids.length * sizes.planTasks,
    wallMs,
    tasksPerSec: (completedTasks / wallMs) * 1_000,
    planMs,
    cpu,
    error: errors.length > 0 ? `${errors.length} problem(s), first: ${errors[0]}` : undefined,
  };
  try {
    const poolExecs = await prefixExecutions(rig.client, rig.config.AGENT_POOL_ID, { since: from, withEvents: true });
    run.poolBusy = poolActivity(poolExecs, from, from + wallMs).busy;
  } catch (err) {
    log(`    (pool analysis skipped: ${(err as Error).message})`);
  }
  return run;
}

/** (f) on bare Temporal: a workflow per small plan, its tasks as bare activities, no API, pool or plan bookkeeping. */
async function measureBareSmallWorkflows(rig: Rig, sizes: Sizes, tag: string): Promise<ConcurrentRun['bare']> {
  const pid = rig.server.process.pid;
  const cpu0 = cpuSample(pid);
  const t0 = performance.now();
  const input: BareLifecycleInput = {
    tasks: sizes.planTasks,
    concurrency: 1,
    settings: executionSettings(rig.config),
    agentType: 'generalist',
  };
  const done = await Promise.all(
    Array.from(
      { length: sizes.plans },
      (_, i) =>
        rig.client.workflow.execute('bareLifecycleWorkflow', {
          workflowId: `bench-f-bare-${tag}-${i}`,
          taskQueue: rig.config.TEMPORAL_TASK_QUEUE,
          args: [input],
        }) as Promise<{ completed: number }>,
    ),
  );
  const wallMs = performance.now() - t0;
  const tasks = sum(done.map((d) => d.completed));
  return { workflows: sizes.plans, tasks, wallMs, tasksPerSec: (tasks / wallMs) * 1_000, cpu: cpuSince(cpu0, pid) };
}

// ---------------------------------------------------------------------------------------------------------------------

/** Runs every measure on `rig`; (e) only when `withE`. */
export async function measureVariant(rig: Rig, opts: Options, withE: boolean): Promise<VariantResults> {
  const { sizes } = opts;
  const v = rig.variant;
  const r: VariantResults = { variant: v, overWarn: [], notes: [] };
  const tag = randomUUID().slice(0, 6);
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      // A measure that breaks is reported with what was measured, and the exit code says so.
      r.notes.push(`${name} failed: ${(err as Error).message}`);
      console.error(err);
      process.exitCode = 1;
      return undefined;
    }
  };

  log(`[${v}] (a) one-task plan over HTTP: ${sizes.warmup} warm-up + ${sizes.runs} runs ...`);
  if (opts.only.includes('a')) r.a = await step('(a)', () => measureLatency(rig, sizes, tag));
  if (r.a) log(`    p50 ${fmt(median(r.a.totalMs), 1)} ms, p99 ${fmt(pct(r.a.totalMs, 99), 1)} ms`);

  log(
    `[${v}] (b) ${fmt(sizes.tasks)}-task parallel plan, maxConcurrency ${sizes.concurrency}, MAX_AGENTS ${MAX_AGENTS} ...`,
  );
  if (opts.only.includes('b'))
    r.b = await step('(b)', () =>
      measurePlan(rig, `bench-b-${tag}`, sizes.tasks, sizes.concurrency, 10 * 60_000, true),
    );
  if (r.b) {
    log(`    ${r.b.status}: ${fmt(r.b.wallMs)} ms, ${fmt(r.b.tasksPerSec, 1)} tasks/s; ${cpuText(r.b.cpu)}`);
    if (!r.b.ok) r.notes.push(`(b) did not complete cleanly: ${r.b.status} ${r.b.error ?? ''}`);
  }

  log(
    `[${v}] (c) bare Temporal: ${fmt(sizes.tasks)} × (reason, execute, validate), ${sizes.concurrency} at a time ...`,
  );
  if (opts.only.includes('c')) r.c = await step('(c)', () => measureBare(rig, sizes, tag));
  if (r.c) log(`    ${fmt(r.c.wallMs)} ms, ${fmt(r.c.tasksPerSec, 1)} tasks/s; ${cpuText(r.c.cpu)}`);

  log(`[${v}] (d) pool round trip × ${sizes.rounds} ...`);
  if (opts.only.includes('d')) r.d = await step('(d)', () => measureRoundTrip(rig, sizes, tag));
  if (r.d) log(`    acquire → grant p50 ${median(r.d.acquireMs)} ms, p99 ${pct(r.d.acquireMs, 99)} ms`);

  log(`[${v}] (f) ${sizes.plans} plans of ${sizes.planTasks} sequential tasks, submitted at once ...`);
  if (opts.only.includes('f')) r.f = await step('(f)', () => measureConcurrentPlans(rig, sizes, tag, 10 * 60_000));
  if (r.f) {
    log(
      `    ${fmt(r.f.completedTasks)} tasks in ${fmt(r.f.wallMs)} ms, ${fmt(r.f.tasksPerSec, 1)} tasks/s; ${cpuText(r.f.cpu)}`,
    );
    if (!r.f.ok) r.notes.push(`(f) did not complete cleanly: ${r.f.error ?? ''}`);
    log(
      `[${v}] (f) on bare Temporal: ${sizes.plans} workflows of ${sizes.planTasks} sequential tasks, started at once ...`,
    );
    r.f.bare = await step('(f) bare', () => measureBareSmallWorkflows(rig, sizes, tag));
    if (r.f.bare)
      log(
        `    ${fmt(r.f.bare.tasks)} tasks in ${fmt(r.f.bare.wallMs)} ms, ${fmt(r.f.bare.tasksPerSec, 1)} tasks/s; ${cpuText(r.f.bare.cpu)}`,
      );
  }

  if (opts.only.includes('h')) {
    log(`[${v}] (h) ${fmt(sizes.tasks)}-task parallel plan with 0, then ${SUBSCRIBERS} event-stream subscribers ...`);
    r.h = await step('(h)', () => measureSubscribers(rig, sizes, tag));
  }

  if (withE) {
    log(`[${v}] (e) ${fmt(sizes.bigTasks)}-task parallel plan (deadline ${opts.eTimeoutMs / 1_000} s) ...`);
    r.e = await step('(e)', () =>
      measurePlan(rig, `bench-e-${tag}`, sizes.bigTasks, sizes.concurrency, opts.eTimeoutMs, false),
    );
    if (r.e)
      log(
        `    ${r.e.status}${r.e.error ? ` (${r.e.error.slice(0, 200)})` : ''}: ${fmt(r.e.wallMs)} ms; plan ${r.e.plan?.runs ?? 0} run(s), longest ${fmt(r.e.plan?.maxHistory)} events`,
      );
  }

  await step('pool history lengths', async () => {
    r.pool = runsSummary(await prefixExecutions(rig.client, rig.config.AGENT_POOL_ID));
  });
  // Every execution of this server over the warning threshold, whichever workflow it is.
  try {
    for await (const wf of rig.client.workflow.list({ query: `HistoryLength > ${HISTORY_WARN}` }))
      r.overWarn.push({ workflowId: wf.workflowId, historyLength: wf.historyLength, type: wf.type });
  } catch (err) {
    r.notes.push(`visibility query "HistoryLength > ${HISTORY_WARN}" failed: ${(err as Error).message}`);
  }
  return r;
}
