/**
 * Measure (i): agents that wait. Every task is an agent of a model type whose provider (scripts/bench/mock-provider.ts,
 * a process of its own) answers each call after seconds; each task makes 2 model calls (reason, execute) and a
 * validate step. On a tuned dev server of its own, in one run:
 *   - the floor: a bare client (the AI SDK, as the worker calls it) making the same calls, every agent at once;
 *   - bare Temporal: the same reason → execute → validate activities from one workflow, every task at once, on a worker
 *     sized like the orchestrator's (bareLifecycleWorkflow);
 *   - the orchestrator: plans over HTTP, on 1 (and 2) worker processes.
 * Reported: wall time against the floor, peak model calls in flight (counted by the provider), CPU-ms and history
 * events per task, worker memory per agent in flight.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateText, streamText } from 'ai';
import { createApp } from '../../src/api/app';
import { executionSettings, loadConfig, type Config } from '../../src/config';
import { AgentType } from '../../src/shared/agent-type';
import { planWorkflowId, taskWorkflowId } from '../../src/shared/ids';
import { DEFAULT_REGISTRY, type Registry } from '../../src/shared/registry';
import type { BareLifecycleInput } from '../bench-workflows';
import { freePort, startDevServer, type DevServer } from '../dev-server';
import { procCpuMs } from './cpu';
import { dynamicConfigOf, ROOT } from './environment';
import { events, planExecutions } from './history';
import { callMs, startMockProvider, type MockLatency, type MockProvider } from './mock-provider';
import { log, mapLimit, sleep, sum, type Cleanups } from './util';

export const SLOW_TYPE = 'slow-model';
/** The same provider, 20 s to the first token: agents of reasoning models, where the slots bind sooner. */
export const SLOWER_TYPE = 'slower-model';
export const SLOWER_FIRST_TOKEN_MS = 20_000;
export const CALLS_PER_TASK = 2;

export interface SlowOptions {
  latency: MockLatency;
  /** Model text streamed into heartbeats (MODEL_STREAM_INTERVAL_MS 1,000) or one generateText call (0). */
  stream: boolean;
  /** Orchestrator runs: tasks, in plans of at most 1,000 (a plan's maxConcurrency), on this many worker processes. */
  runs: { tasks: number; workers: number; env?: Record<string, string>; label?: string; agentType?: string }[];
  /** Tasks of the floor and bare-Temporal runs; 0 skips bare Temporal. */
  baseTasks: number;
  /** Environment of every worker process (sizing, provider limits) on top of the bench's own. */
  workerEnv: Record<string, string>;
  deadlineMs: number;
}

export interface SlowRun {
  label: string;
  /** The agent type of its tasks (SLOW_TYPE unless the run says otherwise). */
  agentType: string;
  tasks: number;
  workers: number;
  ok: boolean;
  completed: number;
  wallMs: number;
  peakInFlight: number;
  calls: number;
  /** CPU-ms of the worker processes, the server and this process (API + load), over the run. */
  cpu: { workersMs: number; serverMs: number; benchMs: number };
  /** History events of every workflow the run wrote (plans, tasks, the bare workflow), per task. */
  eventsPerTask?: number;
  /** Per task, by workflow type; and the events of one task's workflow by kind (where the events go). */
  eventsByType?: Record<string, number>;
  oneTask?: Record<string, number>;
  /** Worker processes' RSS: before the run (idle, after start-up) and at its peak, MB (summed over workers). */
  idleRssMb: number;
  peakRssMb: number;
  error?: string;
}

export interface SlowFloor {
  client: 'http' | 'ai-sdk';
  tasks: number;
  wallMs: number;
  peakInFlight: number;
  calls: number;
  /** The client's CPU over the run. */
  cpuMs: number;
}

export interface SlowResults {
  latency: MockLatency;
  stream: boolean;
  /** The floor (a bare HTTP client), then the same calls through the AI SDK. */
  floor?: SlowFloor;
  sdkFloor?: SlowFloor;
  bare?: SlowRun;
  orchestrator: SlowRun[];
  workerEnv: Record<string, string>;
  notes: string[];
}

const rssMb = (pid: number | undefined): number => {
  if (pid === undefined || !existsSync(`/proc/${pid}/status`)) return 0;
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb ? Number(kb) / 1_024 : 0;
};

/**
 * The floor: every agent's calls made by a bare client, all agents at once, each agent's calls one after the other.
 * `http`: fetch, reading each answer to its end (what the model allows); `ai-sdk`: the AI SDK's streamText (or
 * generateText, unstreamed), as the worker calls it: the client's own CPU shows in its wall time on two cores.
 */
async function measureFloor(
  provider: MockProvider,
  tasks: number,
  stream: boolean,
  client: 'http' | 'ai-sdk',
): Promise<SlowFloor> {
  const model = createOpenAICompatible({ name: 'floor', baseURL: provider.baseUrl, includeUsage: true }).chatModel(
    'mock',
  );
  const call = async (prompt: string) => {
    if (client === 'http') {
      const r = await fetch(`${provider.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock', stream, messages: [{ role: 'user', content: prompt }] }),
      });
      await r.text();
    } else if (stream) {
      const r = streamText({ model, prompt, maxRetries: 0 });
      for await (const _ of r.textStream) void _;
    } else await generateText({ model, prompt, maxRetries: 0 });
  };
  await call('warm-up');
  await provider.reset();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const agent = async (i: number) => {
    for (let c = 0; c < CALLS_PER_TASK; c++) await call(`agent ${i} call ${c}`);
  };
  await Promise.all(Array.from({ length: tasks }, (_, i) => agent(i)));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const s = await provider.stats();
  return { client, tasks, wallMs, peakInFlight: s.peak, calls: s.calls, cpuMs: (cpu.user + cpu.system) / 1_000 };
}

interface Workers {
  procs: ChildProcess[];
  stop(): Promise<void>;
}

async function startWorkers(n: number, env: NodeJS.ProcessEnv): Promise<Workers> {
  const procs = Array.from({ length: n }, () =>
    // BENCH_I_NODE_ARGS: node flags for the worker processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    spawn(
      process.execPath,
      [
        ...(process.env.BENCH_I_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
        '-r',
        'ts-node/register/transpile-only',
        join(__dirname, 'worker-process.ts'),
      ],
      {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ),
  );
  await Promise.all(
    procs.map(
      (p, i) =>
        new Promise<void>((resolve, reject) => {
          let out = '';
          p.stdout?.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes('ready')) resolve();
          });
          p.once('exit', (code) => reject(new Error(`bench worker ${i + 1} exited (${code}) before it was ready`)));
        }),
    ),
  );
  return {
    procs,
    stop: async () => {
      await Promise.all(
        procs.map(async (p) => {
          if (p.exitCode !== null) return;
          const exited = new Promise((r) => p.once('exit', r));
          p.kill('SIGTERM');
          const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}

/** Samples the worker processes' RSS while `work` runs; the provider counts the calls in flight itself. */
async function sampled<T>(
  workers: Workers,
  server: DevServer,
  provider: MockProvider,
  work: () => Promise<T>,
): Promise<{ value: T; run: Omit<SlowRun, 'label' | 'agentType' | 'tasks' | 'workers' | 'ok' | 'completed'> }> {
  const pids = workers.procs.map((p) => p.pid);
  const idleRssMb = sum(pids.map(rssMb));
  const cpuOf = () => ({
    workers: sum(pids.map((p) => procCpuMs(p) ?? 0)),
    server: procCpuMs(server.process.pid) ?? 0,
    bench: (process.cpuUsage().user + process.cpuUsage().system) / 1_000,
  });
  await provider.reset();
  let peakRssMb = idleRssMb;
  const timer = setInterval(() => (peakRssMb = Math.max(peakRssMb, sum(pids.map(rssMb)))), 200);
  const c0 = cpuOf();
  const t0 = performance.now();
  try {
    const value = await work();
    const wallMs = performance.now() - t0;
    const c1 = cpuOf();
    const s = await provider.stats();
    return {
      value,
      run: {
        wallMs,
        peakInFlight: s.peak,
        calls: s.calls,
        cpu: { workersMs: c1.workers - c0.workers, serverMs: c1.server - c0.server, benchMs: c1.bench - c0.bench },
        idleRssMb,
        peakRssMb,
      },
    };
  } finally {
    clearInterval(timer);
  }
}

async function postJson(base: string, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json().catch(() => undefined) };
}

async function planResult(base: string, planId: string, deadline: number): Promise<{ status: string; done: number }> {
  for (;;) {
    if (Date.now() > deadline) return { status: 'timed out', done: 0 };
    const r = await fetch(`${base}/v1/plans/${planId}/result?wait=20`).catch(() => undefined);
    if (r?.status === 200) {
      const json = (await r.json()) as { status: string; outputs?: Record<string, unknown> };
      return { status: json.status, done: Object.keys(json.outputs ?? {}).length };
    }
    if (r && r.status !== 202 && r.status !== 408) await sleep(500);
  }
}

/** Plans are refused (503) until the API sees the pool running with its registry applied. */
async function untilReady(base: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await sleep(100);
  }
  throw new Error('the API was not ready within 30 s');
}

/** One orchestrator run: `tasks` agents in plans of ≤ 1,000, all submitted at once, on fresh worker processes. */
async function measureOrchestrator(
  ctx: RunContext,
  spec: SlowOptions['runs'][number],
  tag: string,
  deadlineMs: number,
): Promise<SlowRun> {
  const label = spec.label ?? `${spec.tasks} agents, ${spec.workers} worker${spec.workers > 1 ? 's' : ''}`;
  const workers = await startWorkers(spec.workers, { ...ctx.workerEnv, ...spec.env });
  try {
    await untilReady(ctx.base);
    const plans: { id: string; tasks: number }[] = [];
    for (let left = spec.tasks, i = 0; left > 0; left -= 1_000, i++)
      plans.push({ id: `slow-${tag}-${i}`, tasks: Math.min(1_000, left) });
    const { value, run } = await sampled(workers, ctx.server, ctx.provider, async () => {
      const deadline = Date.now() + deadlineMs;
      const outs = await Promise.all(
        plans.map(async (p) => {
          const post = await postJson(ctx.base, '/v1/plans', {
            id: p.id,
            name: `slow agents ${p.tasks}`,
            mode: 'parallel',
            maxConcurrency: p.tasks,
            tasks: Array.from({ length: p.tasks }, (_, i) => ({
              id: `t${i}`,
              description: `slow agent ${i}`,
              agentType: spec.agentType ?? SLOW_TYPE,
            })),
          });
          if (post.status !== 202)
            return { status: `not started (HTTP ${post.status}: ${JSON.stringify(post.json)})`, done: 0 };
          return planResult(ctx.base, p.id, deadline);
        }),
      );
      return outs;
    });
    const completed = sum(value.map((o) => o.done));
    let eventsPerTask: number | undefined;
    const eventsByType: Record<string, number> = {};
    const oneTask: Record<string, number> = {};
    try {
      await sleep(1_000);
      const execs = (await mapLimit(plans, 2, (p) => planExecutions(ctx.client, p.id, planWorkflowId(p.id)))).flat();
      eventsPerTask = sum(execs.map((x) => x.historyLength)) / spec.tasks;
      for (const x of execs) eventsByType[x.type] = (eventsByType[x.type] ?? 0) + x.historyLength / spec.tasks;
      for (const e of await events(ctx.client, taskWorkflowId(plans[0]?.id ?? '', 't0')))
        oneTask[e.kind] = (oneTask[e.kind] ?? 0) + 1;
    } catch (err) {
      log(`    (history count skipped: ${(err as Error).message})`);
    }
    const bad = value.find((o) => o.status !== 'completed');
    return {
      label,
      agentType: spec.agentType ?? SLOW_TYPE,
      tasks: spec.tasks,
      workers: spec.workers,
      ok: !bad && completed === spec.tasks,
      completed,
      ...run,
      eventsPerTask,
      eventsByType,
      oneTask,
      ...(bad ? { error: bad.status } : {}),
    };
  } finally {
    await workers.stop();
  }
}

async function measureBareModel(ctx: RunContext, tasks: number, tag: string): Promise<SlowRun> {
  const workers = await startWorkers(1, ctx.workerEnv);
  try {
    const workflowId = `slow-bare-${tag}`;
    const input: BareLifecycleInput = {
      tasks,
      concurrency: tasks,
      settings: executionSettings(ctx.config),
      agentType: SLOW_TYPE,
    };
    const { value, run } = await sampled(workers, ctx.server, ctx.provider, async () => {
      try {
        return (await ctx.client.workflow.execute('bareLifecycleWorkflow', {
          workflowId,
          taskQueue: ctx.config.TEMPORAL_TASK_QUEUE,
          args: [input],
        })) as { completed: number };
      } catch (err) {
        return { completed: 0, error: (err as Error).message };
      }
    });
    const desc = await ctx.client.workflow.getHandle(workflowId).describe();
    return {
      label: `bare Temporal, ${tasks} tasks, 1 worker`,
      agentType: SLOW_TYPE,
      tasks,
      workers: 1,
      ok: value.completed === tasks,
      completed: value.completed,
      ...run,
      eventsPerTask: desc.historyLength / tasks,
    };
  } finally {
    await workers.stop();
  }
}

interface RunContext {
  server: DevServer;
  provider: MockProvider;
  client: Client;
  config: Config;
  base: string;
  workerEnv: NodeJS.ProcessEnv;
}

/** Runs measure (i) on a tuned dev server of its own; teardown steps go on `cleanups`. */
export async function measureSlowAgents(opts: SlowOptions, cleanups: Cleanups): Promise<SlowResults> {
  const mark = cleanups.size;
  const results: SlowResults = {
    latency: opts.latency,
    stream: opts.stream,
    orchestrator: [],
    workerEnv: opts.workerEnv,
    notes: [],
  };
  try {
    const provider = await startMockProvider(opts.latency);
    cleanups.add('mock provider', () => provider.stop());
    log(`(i) mock provider at ${provider.baseUrl}: ${callMs(opts.latency)} ms a call, streamed: ${opts.stream}`);
    const maxTasks = Math.max(opts.baseTasks, ...opts.runs.map((r) => r.tasks));

    if (opts.baseTasks > 0) {
      log(`(i) the floor: ${opts.baseTasks} agents × ${CALLS_PER_TASK} calls from a bare client ...`);
      results.floor = await measureFloor(provider, opts.baseTasks, opts.stream, 'http');
      log(`(i) the same through the AI SDK ...`);
      results.sdkFloor = await measureFloor(provider, opts.baseTasks, opts.stream, 'ai-sdk');
    }

    const port = await freePort();
    log(`(i) starting a tuned Temporal dev server on 127.0.0.1:${port} ...`);
    const server = await startDevServer({ port, dynamicConfig: dynamicConfigOf('tuned') });
    cleanups.add('Temporal dev server (i)', () => server.stop());

    const tmp = mkdtempSync(join(tmpdir(), 'agent-orchestrator-bench-i-'));
    cleanups.add('temp dir (i)', async () => rmSync(tmp, { recursive: true, force: true }));
    const registry: Registry = {
      agentTypes: [
        ...DEFAULT_REGISTRY.agentTypes,
        AgentType.parse({
          name: SLOW_TYPE,
          description: 'an agent whose model answers slowly (the bench mock provider)',
          capabilities: ['slow-thinking'],
          maxInstances: maxTasks,
          runtime: { provider: 'openai-compatible', model: 'mock', baseUrl: provider.baseUrl },
        }),
        AgentType.parse({
          name: SLOWER_TYPE,
          description: 'an agent whose model takes 20 s to its first token (the bench mock provider)',
          capabilities: ['slower-thinking'],
          maxInstances: maxTasks,
          runtime: { provider: 'openai-compatible', model: `mock:${SLOWER_FIRST_TOKEN_MS}`, baseUrl: provider.baseUrl },
        }),
      ],
    };
    const registryFile = join(tmp, 'registry.json');
    writeFileSync(registryFile, JSON.stringify(registry));
    const taskQueue = `bench-i-${randomUUID().slice(0, 8)}`;
    const env: Record<string, string> = {
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      AGENT_POOL_ID: `bench-pool-${taskQueue}`,
      AGENT_REGISTRY_FILE: registryFile,
      MAX_AGENTS: String(maxTasks),
      BLOB_STORE_DIR: join(tmp, 'blobs'),
      AGENT_ORCHESTRATOR_HOST: '127.0.0.1',
      AGENT_ORCHESTRATOR_PORT: '0',
      TEMPORAL_RPC_TIMEOUT_MS: '30000',
      MODEL_STREAM_INTERVAL_MS: opts.stream ? '1000' : '0',
      LOG_LEVEL: 'warn',
      WORKER_METRICS_PORT: '0',
    };
    const config = loadConfig(env);
    const connection = await Connection.connect({ address: server.address });
    cleanups.add('client connection (i)', () => connection.close());
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const app = createApp({ client, config, registry });
    const api: Server = await new Promise((done, fail) => {
      const s = app.listen(0, '127.0.0.1', () => done(s));
      s.once('error', fail);
    });
    cleanups.add('API (i)', () => new Promise<void>((done) => (api.close(() => done()), api.closeAllConnections())));
    const base = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
    const ctx: RunContext = {
      server,
      provider,
      client,
      config,
      base,
      workerEnv: { ...process.env, ...env, ...opts.workerEnv },
    };

    if (opts.baseTasks > 0) {
      log(`(i) bare Temporal: ${opts.baseTasks} × reason → execute → validate from one workflow ...`);
      results.bare = await measureBareModel(ctx, opts.baseTasks, taskQueue);
    }
    for (const [i, spec] of opts.runs.entries()) {
      log(
        `(i) the orchestrator: ${spec.tasks} agents on ${spec.workers} worker(s) ${JSON.stringify(spec.env ?? {})} ...`,
      );
      const run = await measureOrchestrator(ctx, spec, `${taskQueue}-${i}`, opts.deadlineMs);
      log(
        `    ${run.ok ? 'completed' : `NOT completed (${run.error})`} in ${(run.wallMs / 1_000).toFixed(1)} s, peak ${run.peakInFlight} calls in flight`,
      );
      results.orchestrator.push(run);
    }
  } catch (err) {
    results.notes.push(`(i) stopped early: ${(err as Error).message}`);
    console.error(err);
  } finally {
    await cleanups.unwind(mark);
  }
  return results;
}
