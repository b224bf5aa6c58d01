/**
 * Failure handling against the real processes: the worker and the API run as their own `ts-node` processes (as in
 * production), get SIGKILLed and restarted; the Temporal server is stopped and started again on its SQLite file; the AI
 * runtime goes down. Each test checks that every task still ran to completion exactly once. See docs/reliability.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../scripts/dev-server';
import { planWorkflowId } from '../src/shared/ids';
import { type PlanResult, type PlanView } from '../src/shared/plan';
import { type TaskView } from '../src/shared/task';
import type { planWorkflow } from '../src/workflows/plan';
import { planStatusQuery, poolStatusQuery } from '../src/workflows/messages';
import { startPlan } from './support/deploy';
import { eventually, testAddress, uniqueId } from './support/harness';
import {
  freePort,
  killAll,
  liveProcesses,
  poolIdFor,
  request,
  startApiProcess,
  startWorker,
  type OrchestratorProcess,
  type Reply,
} from './support/processes';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const slow = (ms: number) => ({ simulate: { latencyMs: ms } });
const ids = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
const sorted = (xs: Iterable<string>) => [...xs].sort();

/** What the API would stamp into a plan, given the environment the spawned processes get (support/processes.ts). */

let client: Client;
let connection: Connection;
beforeAll(async () => {
  connection = await Connection.connect({ address: testAddress() });
  client = new Client({ connection, namespace: 'default' });
});
afterEach(async () => {
  await killAll();
});
afterAll(async () => {
  await connection?.close();
});

/** Runs a test body; on failure, appends what the spawned processes printed last. */
async function withDiagnostics(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const logs = liveProcesses()
      .map((p) => `--- ${p.name} (pid ${p.pid}) ---\n${p.output().slice(-3_000)}`)
      .join('\n');
    if (err instanceof Error && logs) err.message += `\n\nprocess output:\n${logs}`;
    throw err;
  }
}

/** Every execution Temporal has for the plan's task workflows, by workflow id (a duplicate run would show here). */
async function taskRuns(c: Client, planId: string): Promise<Map<string, string[]>> {
  const runs = new Map<string, string[]>();
  for await (const wf of c.workflow.list({ query: `PlanId='${planId}' AND WorkflowType='agentTaskWorkflow'` })) {
    runs.set(wf.workflowId, [...(runs.get(wf.workflowId) ?? []), wf.status.name]);
  }
  return runs;
}

/** Waits until visibility shows every task workflow closed, then checks each ran exactly once and completed. */
async function expectEachTaskRanOnce(c: Client, planId: string, taskIds: string[]): Promise<void> {
  const runs = await eventually(
    async () => {
      const r = await taskRuns(c, planId);
      const closed = [...r.values()].flat().filter((s) => s !== 'RUNNING').length;
      return r.size === taskIds.length && closed === taskIds.length ? r : undefined;
    },
    `visibility to list the ${taskIds.length} closed task workflows of ${planId}`,
    15_000,
  );
  expect(Object.fromEntries(runs)).toEqual(
    Object.fromEntries(taskIds.map((t) => [`plan-${planId}-task-${t}`, ['COMPLETED']])),
  );
}

const lastOutcome = (t: TaskView) => t.assignments[t.assignments.length - 1]?.outcome;

/** An API process plus helpers to talk to it. */
function api(port: number) {
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    get: (path: string): Promise<Reply> => request(base, path),
    post: (path: string, body: unknown): Promise<Reply> => request(base, path, { body }),
    async status(planId: string): Promise<PlanView> {
      const r = await request(base, `/v1/plans/${planId}`);
      expect(r.status).toBe(200);
      return r.body as PlanView;
    },
    /** Polls `GET /result?wait=` until the plan closed. */
    async result(planId: string, ms = 60_000): Promise<PlanResult> {
      const deadline = Date.now() + ms;
      for (;;) {
        const r = await request(base, `/v1/plans/${planId}/result?wait=10`);
        if (r.status === 200) return r.body as PlanResult;
        // 503 while no worker can answer the plan's status query (right after a worker was killed, the plan is still
        // bound to the dead worker's sticky queue for a few seconds); the plan itself is unaffected.
        if (r.status === 503) await sleep(500);
        else expect(r.status).toBe(202);
        if (Date.now() > deadline) throw new Error(`plan ${planId} still ${r.body?.status} after ${ms} ms`);
      }
    },
  };
}

describe('failure handling against real worker, API and Temporal processes', () => {
  test('(a) SIGKILL of the worker mid-plan: a new worker finishes the plan, every task exactly once', async () => {
    await withDiagnostics(async () => {
      const taskQueue = uniqueId('faults-a');
      const port = await freePort();
      const env = { address: testAddress(), taskQueue, port };
      const [worker] = await Promise.all([startWorker(env, 'worker-1'), startApiProcess(env)]);
      const http = api(port);
      const planId = uniqueId('kill-worker');
      const taskIds = ids(8);
      const submitted = await http.post('/v1/plans', {
        id: planId,
        mode: 'parallel',
        maxConcurrency: 4,
        tasks: taskIds.map((id) => ({ id, description: `task ${id}`, input: slow(1_500) })),
      });
      expect(submitted.status).toBe(202);

      // Mid-plan: the first wave is done, the second is in the middle of its lifecycle steps on this worker.
      const before = await eventually(
        async () => {
          const { progress } = await http.status(planId);
          return progress.completed >= 1 && progress.running >= 1 ? progress : undefined;
        },
        'the first task to complete while others run',
        30_000,
      );
      const exit = await worker.kill('SIGKILL');
      expect(exit.signal).toBe('SIGKILL');
      expect(before.completed).toBeLessThan(taskIds.length);
      // From here GET status may answer 503 for ~3 s, even with a new worker: see docs/reliability.md.

      await startWorker(env, 'worker-2');
      const result = await http.result(planId);
      expect(result.status).toBe('completed');
      expect(sorted(Object.keys(result.outputs))).toEqual(sorted(taskIds));
      expect(result.errors).toEqual({});
      const view = await http.status(planId);
      for (const t of view.tasks) {
        expect([t.id, t.state, lastOutcome(t)]).toEqual([t.id, 'completed', 'completed']);
      }
      await expectEachTaskRanOnce(client, planId, taskIds);
      // No lease leaked: every instance the plan used is back to idle in the pool.
      const pool = await eventually(async () => {
        const v = await client.workflow
          .getHandle(poolIdFor(taskQueue))
          .query(poolStatusQuery)
          .catch(() => undefined);
        return v && v.busy === 0 && v.queued === 0 ? v : undefined;
      }, 'every instance back to idle');
      expect(pool.agents.length).toBeGreaterThan(0);
      expect(pool.agents.every((a) => a.state === 'idle')).toBe(true);
    });
  }, 90_000);

  test('(b) the Temporal server stopped and restarted on its SQLite file mid-plan: the plan resumes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faults-server-'));
    const dbFile = join(dir, 'temporal.db');
    const port = await freePort();
    let server: DevServer | undefined = await startDevServer({ port, dbFile });
    const own = new Client({ connection: await Connection.connect({ address: server.address }), namespace: 'default' });
    try {
      await withDiagnostics(async () => {
        const taskQueue = uniqueId('faults-b');
        const worker = await startWorker({ address: server!.address, taskQueue });
        const planId = uniqueId('server-restart');
        const taskIds = ids(6);
        const workflowId = await startPlan(own, taskQueue, {
          id: planId,
          mode: 'parallel',
          maxConcurrency: 3,
          tasks: taskIds.map((id) => ({ id, description: id, input: slow(1_000) })),
        });
        const handle = own.workflow.getHandle<typeof planWorkflow>(workflowId);
        await eventually(
          async () => {
            const { progress } = await handle.query(planStatusQuery);
            return progress.completed >= 1 && progress.running >= 1 ? true : undefined;
          },
          'the plan to be half way',
          30_000,
        );

        await server!.stop();
        server = undefined;
        await sleep(2_000); // the worker's polls and heartbeats fail meanwhile
        server = await startDevServer({ port, dbFile });

        const result = await handle.result();
        expect(result.status).toBe('completed');
        expect(sorted(Object.keys(result.outputs))).toEqual(sorted(taskIds));
        // The worker process rides out the outage: its gRPC polls are retried until the server answers again.
        expect(worker.alive()).toBe(true);
        await expectEachTaskRanOnce(own, planId, taskIds);
      });
    } finally {
      await killAll();
      await own.connection.close();
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  test('(c) an AI runtime outage: tasks retry with RuntimeUnavailable and all complete once it is over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faults-outage-'));
    const outageFile = join(dir, 'outage');
    try {
      await withDiagnostics(async () => {
        const taskQueue = uniqueId('faults-c');
        const port = await freePort();
        const env = { address: testAddress(), taskQueue, port, outageFile };
        await Promise.all([startWorker(env), startApiProcess(env)]);
        const http = api(port);
        writeFileSync(outageFile, 'down');
        const planId = uniqueId('outage');
        const taskIds = ids(3);
        const submitted = await http.post('/v1/plans', {
          id: planId,
          tasks: taskIds.map((id) => ({ id, description: id, maxRetries: 20, input: slow(200) })),
        });
        expect(submitted.status).toBe(202);
        await sleep(2_000);
        const during = await http.status(planId);
        expect(during.progress.completed).toBe(0); // nothing gets through while the runtime is down
        rmSync(outageFile);

        const result = await http.result(planId);
        expect(result.status).toBe('completed');
        expect(sorted(Object.keys(result.outputs))).toEqual(sorted(taskIds));
        const view = await http.status(planId);
        expect(Math.max(...view.tasks.map((t) => t.attempts))).toBeGreaterThan(1);
        // Retries of one step on one agent, not reassignments: the outage is not the agent's fault.
        for (const t of view.tasks) expect(t.assignments.map((a) => a.outcome)).toEqual(['completed']);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('(d) a poison task fails at once (1 attempt) without holding up the others; the plan ends partial', async () => {
    await withDiagnostics(async () => {
      const taskQueue = uniqueId('faults-d');
      await startWorker({ address: testAddress(), taskQueue });
      const planId = uniqueId('poison');
      const good = ids(4, 'ok');
      const workflowId = await startPlan(client, taskQueue, {
        id: planId,
        failurePolicy: 'continue',
        maxConcurrency: 2,
        tasks: [
          {
            id: 'poison',
            description: 'always fails',
            maxRetries: 10,
            input: { simulate: { alwaysFail: true, nonRetryable: true } },
          },
          ...good.map((id) => ({ id, description: id, input: slow(400) })),
        ],
      });
      const handle = client.workflow.getHandle<typeof planWorkflow>(workflowId);
      const result = await handle.result();
      expect(result.status).toBe('partial');
      expect(sorted(Object.keys(result.outputs))).toEqual(sorted(good));
      expect(Object.keys(result.errors)).toEqual(['poison']);
      expect(result.errors.poison).toMatchObject({ state: 'failed', type: 'SimulatedFatal' });

      const view = await handle.query(planStatusQuery);
      const poison = view.tasks.find((t) => t.id === 'poison')!;
      expect(poison.attempts).toBe(1); // maxRetries 10, none used: non-retryable
      expect(poison.assignments).toHaveLength(1); // and no reassignment to another agent
      const took = (t: TaskView) => Date.parse(t.finishedAt!) - Date.parse(t.startedAt!);
      expect(took(poison)).toBeLessThan(5_000);
      // It freed its concurrency slot at once: it ended before any of the slow tasks did.
      const goodViews = view.tasks.filter((t) => t.id !== 'poison');
      for (const t of goodViews) expect(Date.parse(t.finishedAt!)).toBeGreaterThan(Date.parse(poison.finishedAt!));
      expect((await client.workflow.getHandle(`plan-${planId}-task-poison`).describe()).status.name).toBe('FAILED');
    });
  }, 60_000);

  test('(e) the API SIGKILLed and restarted mid-plan loses nothing; a resubmission is idempotent', async () => {
    await withDiagnostics(async () => {
      const taskQueue = uniqueId('faults-e');
      const port = await freePort();
      const env = { address: testAddress(), taskQueue, port };
      let apiProc: OrchestratorProcess;
      [, apiProc] = await Promise.all([startWorker(env), startApiProcess(env, 'api-1')]);
      const http = api(port);
      const planId = uniqueId('api-restart');
      const taskIds = ids(6);
      const body = {
        id: planId,
        mode: 'parallel',
        maxConcurrency: 3,
        tasks: taskIds.map((id) => ({ id, description: id, input: slow(800) })),
      };
      const first = await http.post('/v1/plans', body);
      expect(first.status).toBe(202);
      await eventually(
        async () => ((await http.status(planId)).progress.running >= 1 ? true : undefined),
        'tasks to run',
      );

      await apiProc.kill('SIGKILL');
      await expect(http.get('/healthz')).rejects.toThrow(); // really down: connection refused
      apiProc = await startApiProcess(env, 'api-2');

      const view = await http.status(planId);
      expect(view.planId).toBe(planId);
      expect(sorted(view.tasks.map((t) => t.id))).toEqual(sorted(taskIds));
      const again = await http.post('/v1/plans', body);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ planId, workflowId: first.body.workflowId });

      const result = await http.result(planId);
      expect(result.status).toBe('completed');
      expect(sorted(Object.keys(result.outputs))).toEqual(sorted(taskIds));
      // One plan run, not two.
      const runs: string[] = [];
      for await (const wf of client.workflow.list({ query: `WorkflowId='${planWorkflowId(planId)}'` })) {
        runs.push(wf.runId);
      }
      expect(runs).toHaveLength(1);
      await expectEachTaskRanOnce(client, planId, taskIds);
    });
  }, 60_000);
});
