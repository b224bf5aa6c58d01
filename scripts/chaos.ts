/**
 * `npm run chaos`: a randomized run that kills the orchestrator while it works and checks that nothing was lost.
 *
 * On a dev server of its own (SQLite file in a temp dir, own port, 127.0.0.1 only) it runs two worker processes and one
 * API process, submits plans over HTTP (mixed modes, latencies, retryable failures), SIGKILLs a worker at random
 * intervals (always starting a replacement, so one worker keeps running), stops and restarts the Temporal server once,
 * then waits for every plan and checks each task ran to completion exactly once. Prints
 * `plans=N tasks=N kills=N restarts=N lost=N duplicated=N` and exits non-zero unless nothing was lost or duplicated
 * and every plan completed. Settings: CHAOS_SEED, CHAOS_PLANS (20), CHAOS_KILLS (10), CHAOS_DEADLINE_SECONDS (540),
 * CHAOS_MODEL_SHARE (0.3): the share of plain tasks given to a model agent whose (mock, OpenAI-compatible) provider
 * answers each streamed call in 2 s, so kills also land on model calls in flight.
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import {
  freePort,
  killAll,
  request,
  startApiProcess,
  startWorker,
  type OrchestratorEnv,
  type OrchestratorProcess,
  type Reply,
} from '../test/support/processes';
import { AgentType } from '../src/shared/agent-type';
import { DEFAULT_REGISTRY } from '../src/shared/registry';
import { startMockProvider } from './bench/mock-provider';
import { startDevServer, type DevServer } from './dev-server';

const SEED = Number(process.env.CHAOS_SEED ?? randomInt(1, 2 ** 31));
const PLANS = Number(process.env.CHAOS_PLANS ?? 20);
const MIN_KILLS = Number(process.env.CHAOS_KILLS ?? 10);
const DEADLINE_MS = Number(process.env.CHAOS_DEADLINE_SECONDS ?? 540) * 1_000;
const MODEL_SHARE = Number(process.env.CHAOS_MODEL_SHARE ?? 0.3);
/** Short offline tasks: at the top of a plan they run inline in the plan's workflow (INLINE_SHORT_TASKS). */
const INLINE_SHARE = Number(process.env.CHAOS_INLINE_SHARE ?? 0.15);
/** Tasks with an output contract and a reviewer, revised twice: killed workers must not repeat or lose a verdict. */
const REVIEWED_SHARE = Number(process.env.CHAOS_REVIEWED_SHARE ?? 0.1);
/** The verdicts a reviewed task gets: the contract rejects round 1, the reviewer round 2, and accepts round 3. */
const REVIEWED_ROUNDS = 3;
const MODEL_TYPE = 'slow-model';
const started = Date.now();
let server: DevServer | undefined;
let stopProvider: () => Promise<void> = async () => undefined;

/** mulberry32: a small seeded PRNG, so a failing run can be repeated with CHAOS_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const rand = prng(SEED);
const between = (min: number, max: number) => min + Math.floor(rand() * (max - min + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => console.log(`[chaos +${((Date.now() - started) / 1_000).toFixed(1)}s] ${msg}`);

interface TaskBody {
  id: string;
  description: string;
  capabilities?: string[];
  agentType?: string;
  dependsOn?: string[];
  maxRetries?: number;
  input: { simulate: { latencyMs: number; failAttempts?: number; outputs?: unknown[]; verdicts?: unknown[] } };
  output?: { schema: Record<string, unknown> };
  review?: { capabilities: string[] };
  subtasks?: TaskBody[];
}
interface PlanBody {
  id: string;
  mode: 'parallel' | 'sequential' | 'dag' | 'hierarchical';
  maxConcurrency: number;
  tasks: TaskBody[];
}
/**
 * Two tenants share the orchestrator: plans alternate between their keys, so the pool serves both in turn (fair
 * share, with leases asked to give instances back) under the same kills. The checks read with an admin key.
 */
const TENANT_KEYS = [
  { name: 'chaos-a', key: 'chaos-tenant-a-key-0123456789abcdef', scopes: ['read', 'submit'], tenant: 'tenant-a' },
  { name: 'chaos-b', key: 'chaos-tenant-b-key-0123456789abcdef', scopes: ['read', 'submit'], tenant: 'tenant-b' },
];
const ADMIN_KEY = { name: 'chaos-admin', key: 'chaos-admin-key-0123456789abcdefgh', scopes: ['*'] };
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const asAdmin = bearer(ADMIN_KEY.key);

interface Submitted {
  /** The key the plan is submitted with (its tenant's). */
  key: string;
  body: PlanBody;
  /** Top-level task ids: each must be in the result's outputs or errors, exactly once. */
  topLevel: string[];
  /** Every task workflow the plan must have run exactly once (top-level and sub-agents). */
  all: string[];
}

const CAPABILITIES = [[], ['research'], ['writing'], ['coding'], ['review']];

function task(id: string): TaskBody {
  const r = rand();
  if (r < MODEL_SHARE)
    return { id, description: `chaos task ${id}`, agentType: MODEL_TYPE, input: { simulate: { latencyMs: 0 } } };
  if (r < MODEL_SHARE + INLINE_SHARE)
    return { id, description: `chaos task ${id}`, input: { simulate: { latencyMs: 0 } } };
  if (r < MODEL_SHARE + INLINE_SHARE + REVIEWED_SHARE)
    return {
      id,
      description: `chaos task ${id}`,
      capabilities: ['writing'],
      output: { schema: { type: 'object', required: ['n'] } },
      review: { capabilities: ['review'] },
      input: {
        simulate: {
          latencyMs: 300,
          outputs: [{}, { n: 1 }, { n: 2 }],
          verdicts: [{ accepted: true }, { accepted: false, reasons: ['again'] }],
        },
      },
    };
  const flaky = rand() < 0.15;
  return {
    id,
    description: `chaos task ${id}`,
    ...(rand() < 0.5 ? { capabilities: pick(CAPABILITIES) } : {}),
    // Retries also absorb the attempts that die with a killed worker (heartbeat timeout).
    ...(flaky ? { maxRetries: 8 } : {}),
    input: { simulate: { latencyMs: between(200, 1_500), ...(flaky ? { failAttempts: between(1, 2) } : {}) } },
  };
}

function makePlan(i: number): Submitted {
  const mode = (['parallel', 'dag', 'sequential', 'hierarchical'] as const)[i % 4]!;
  const n = between(5, mode === 'sequential' ? 12 : 20);
  const id = `chaos-${SEED}-${i}`;
  const ids = Array.from({ length: n }, (_, k) => `t${k + 1}`);
  let tasks: TaskBody[];
  if (mode === 'dag') {
    tasks = ids.map((tid, k) => {
      const deps = ids.slice(0, k).filter(() => rand() < 0.25);
      return { ...task(tid), ...(deps.length ? { dependsOn: deps } : {}) };
    });
  } else if (mode === 'hierarchical') {
    // Coordinators of 2-4 sub-agents each, plus the remainder as plain tasks.
    tasks = [];
    let k = 0;
    while (k < n) {
      const size = Math.min(between(3, 5), n - k);
      const [head, ...rest] = ids.slice(k, k + size) as [string, ...string[]];
      k += size;
      if (rest.length < 2) tasks.push(...[head, ...rest].map(task));
      else
        tasks.push({ id: head, description: `coordinate ${head}`, input: task(head).input, subtasks: rest.map(task) });
    }
  } else {
    tasks = ids.map(task);
  }
  const body: PlanBody = { id, mode, maxConcurrency: between(3, 10), tasks };
  return {
    // Alternate tenants, rotating against the modes so each tenant gets every mode.
    key: (TENANT_KEYS[(i + Math.floor(i / 4)) % 2] as { key: string }).key,
    body,
    topLevel: tasks.map((t) => t.id),
    all: tasks.flatMap((t) => [t.id, ...(t.subtasks ?? []).map((s) => s.id)]),
  };
}

/** POST until accepted; 503s and refused connections (Temporal restarting) are retried, which is safe: it is idempotent. */
async function submit(base: string, plan: Submitted): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const reply = await request(base, '/v1/plans', {
      body: plan.body,
      timeoutMs: 15_000,
      headers: bearer(plan.key),
    }).catch((err: Error): Reply => ({ status: 0, body: err.message }));
    if (reply.status === 202 || reply.status === 200) {
      if (attempt > 1) log(`plan ${plan.body.id} accepted (${reply.status}) on attempt ${attempt}`);
      return;
    }
    if (reply.status !== 0 && reply.status < 500) throw new Error(`plan ${plan.body.id}: ${JSON.stringify(reply)}`);
    if (Date.now() - started > DEADLINE_MS) throw new Error(`plan ${plan.body.id} could not be submitted`);
    await sleep(1_000);
  }
}

interface PlanOutcome {
  status: string;
  outputs: Record<string, unknown>;
  errors: Record<string, unknown>;
}

/** Waits for the plan's result over HTTP; undefined if it did not close before the deadline. */
async function awaitResult(base: string, planId: string): Promise<PlanOutcome | undefined> {
  while (Date.now() - started < DEADLINE_MS) {
    const reply = await request(base, `/v1/plans/${planId}/result?wait=30`, {
      timeoutMs: 45_000,
      headers: asAdmin,
    }).catch((err: Error): Reply => ({ status: 0, body: err.message }));
    if (reply.status === 200) return reply.body as PlanOutcome;
    if (reply.status !== 202) await sleep(1_000);
  }
  return undefined;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-orchestrator-chaos-'));
  const dbFile = join(dir, 'temporal.db');
  const [temporalPort, apiPort] = [await freePort(), await freePort()];
  log(`seed=${SEED} plans=${PLANS} kills>=${MIN_KILLS}; Temporal on 127.0.0.1:${temporalPort}, data in ${dbFile}`);
  server = await startDevServer({ port: temporalPort, dbFile });
  const provider = await startMockProvider({ firstTokenMs: 1_500, chunks: 10, chunkMs: 50 });
  stopProvider = () => provider.stop();
  const registryFile = join(dir, 'registry.json');
  const modelType = AgentType.parse({
    name: MODEL_TYPE,
    description: 'a model agent on the mock provider (2 s a call)',
    capabilities: ['slow-thinking'],
    maxInstances: 50,
    runtime: { provider: 'openai-compatible', model: 'mock', baseUrl: provider.baseUrl },
  });
  writeFileSync(registryFile, JSON.stringify({ agentTypes: [...DEFAULT_REGISTRY.agentTypes, modelType] }));
  const env: OrchestratorEnv & { port: number } = {
    address: server.address,
    taskQueue: `chaos-${SEED}`,
    port: apiPort,
    extra: {
      MAX_RETRIES: '5',
      TEMPORAL_RPC_TIMEOUT_MS: '10000',
      AGENT_REGISTRY_FILE: registryFile,
      BLOB_STORE_DIR: join(dir, 'blobs'),
      MAX_AGENTS: '200',
      API_KEYS: JSON.stringify([...TENANT_KEYS, ADMIN_KEY]),
    },
  };
  const base = `http://127.0.0.1:${apiPort}`;
  let generation = 0;
  const spawnWorker = async (): Promise<OrchestratorProcess> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await startWorker(env, `worker-${++generation}`);
      } catch (err) {
        if (attempt >= 3) throw err;
        log(`worker did not start (${(err as Error).message.split('\n')[0]}); again`);
        await sleep(2_000);
      }
    }
  };
  const workers: OrchestratorProcess[] = await Promise.all([spawnWorker(), spawnWorker()]);
  await startApiProcess(env);
  log(`2 workers and the API are up (API ${base}, task queue ${env.taskQueue})`);

  const plans = Array.from({ length: PLANS }, (_, i) => makePlan(i));
  let kills = 0;
  let restarts = 0;
  let submittedAll = false;
  let closedAll = false;

  const submitter = (async () => {
    for (const plan of plans) {
      await submit(base, plan);
      await sleep(between(300, 2_500));
    }
    submittedAll = true;
    log(`all ${plans.length} plans submitted`);
  })();

  const chaos = (async () => {
    while ((kills < MIN_KILLS || (!closedAll && kills < 3 * MIN_KILLS)) && Date.now() - started < DEADLINE_MS) {
      await sleep(between(2_000, 6_000));
      if (closedAll) break;
      const slot = between(0, workers.length - 1);
      const victim = workers[slot]!;
      await victim.kill('SIGKILL');
      kills++;
      log(`kill ${kills}: SIGKILL ${victim.name} (pid ${victim.pid})`);
      workers[slot] = await spawnWorker();
      log(`${workers[slot]!.name} started`);
      if (kills === Math.ceil(MIN_KILLS / 2) && restarts === 0) {
        log('stopping the Temporal server ...');
        await server!.stop();
        server = undefined;
        await sleep(between(1_000, 4_000));
        server = await startDevServer({ port: temporalPort, dbFile });
        restarts++;
        log('Temporal server restarted on the same SQLite file');
      }
    }
  })();

  const results = new Map<string, PlanOutcome | undefined>();
  await submitter;
  await Promise.all(
    plans.map(async (p) => {
      const result = await awaitResult(base, p.body.id);
      results.set(p.body.id, result);
      log(`plan ${p.body.id} (${p.body.mode}, ${p.all.length} tasks): ${result?.status ?? 'NOT CLOSED'}`);
    }),
  );
  closedAll = true;
  await chaos;

  // Exactly once, from Temporal's own records: one completed run per task workflow id, one run per plan.
  const connection = await Connection.connect({ address: server!.address });
  const client = new Client({ connection, namespace: 'default' });
  let lost = 0;
  let duplicated = 0;
  let notCompleted = 0;
  let tasks = 0;
  for (const p of plans) {
    const planId = p.body.id;
    tasks += p.all.length;
    const result = results.get(planId);
    if (!result) {
      lost += p.all.length;
      continue;
    }
    if (result.status !== 'completed') notCompleted++;
    // Tasks that ran inline have no task workflow; reviewed ones must show each verdict once.
    const view = (await request(base, `/v1/plans/${planId}`, { headers: asAdmin }).catch(() => undefined))?.body as
      { tasks: { id: string; inline?: boolean; revisions?: unknown[] }[] } | undefined;
    const inline = new Set((view?.tasks ?? []).filter((t) => t.inline).map((t) => t.id));
    const workflows = p.all.filter((id) => !inline.has(id));
    for (const t of p.body.tasks.filter((b) => b.review)) {
      const verdicts = view?.tasks.find((v) => v.id === t.id)?.revisions?.length ?? 0;
      if (verdicts !== REVIEWED_ROUNDS) {
        if (verdicts > REVIEWED_ROUNDS) duplicated++;
        else lost++;
        log(`plan ${planId} task ${t.id}: ${verdicts} verdicts, ${REVIEWED_ROUNDS} expected`);
      }
    }
    for (const id of p.topLevel) {
      const inOut = id in result.outputs;
      const inErr = id in result.errors;
      if (!inOut && !inErr) lost++;
      if (inOut && inErr) duplicated++;
    }
    const runs = new Map<string, string[]>();
    for (let tries = 0; ; tries++) {
      runs.clear();
      for await (const wf of client.workflow.list({ query: `PlanId='${planId}'` })) {
        runs.set(wf.workflowId, [...(runs.get(wf.workflowId) ?? []), wf.status.name]);
      }
      const open = [...runs.values()].flat().includes('RUNNING');
      if ((!open && runs.size >= workflows.length + 1) || tries >= 20) break;
      await sleep(500);
    }
    if ((runs.get(`plan-${planId}`) ?? []).length !== 1) {
      duplicated++;
      log(`plan ${planId}: ${runs.get(`plan-${planId}`)?.length ?? 0} plan runs`);
    }
    for (const id of workflows) {
      const statuses = runs.get(`plan-${planId}-task-${id}`) ?? [];
      const completed = statuses.filter((s) => s === 'COMPLETED').length;
      if (completed > 1) duplicated++;
      if (completed === 0) lost += p.topLevel.includes(id) ? 0 : 1; // top-level ones are counted from the result
      if (statuses.length !== 1 || completed !== 1)
        log(`plan ${planId} task ${id}: runs ${statuses.join(',') || 'none'}`);
    }
  }
  await connection.close();

  // Evidence that the kills hit work in flight: steps that needed another attempt without being flaky by design.
  let retried = 0;
  for (const p of plans) {
    const view = await request(base, `/v1/plans/${p.body.id}`, { headers: asAdmin }).catch(() => undefined);
    const flaky = new Set(p.body.tasks.filter((t) => t.input.simulate.failAttempts).map((t) => t.id));
    for (const t of (view?.body?.tasks ?? []) as { id: string; attempts: number }[])
      if (t.attempts > 1 && !flaky.has(t.id)) retried++;
  }
  log(`${retried} top-level task(s) without simulated failures needed more than one attempt (killed mid-step)`);

  console.log(
    `plans=${plans.length} tasks=${tasks} kills=${kills} restarts=${restarts} lost=${lost} duplicated=${duplicated}`,
  );
  const ok = lost === 0 && duplicated === 0 && notCompleted === 0 && submittedAll;
  if (notCompleted > 0) log(`${notCompleted} plan(s) closed but not "completed"`);
  log(`${ok ? 'OK' : 'FAILED'} in ${((Date.now() - started) / 1_000).toFixed(0)} s (seed ${SEED})`);
  await killAll();
  await server?.stop();
  await stopProvider();
  if (ok) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir} for inspection`);
  process.exit(ok ? 0 : 1);
}

main().catch(async (err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  await killAll();
  await server?.stop();
  await stopProvider();
  process.exit(1);
});
