import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { Express } from 'express';
import { createApp } from '../src/api/app';
import { loadConfig } from '../src/config';
import { DEFAULT_REGISTRY } from '../src/shared/registry';
import { eventually, startHarness, uniqueId, type Harness } from './support/harness';

// Response bodies are arbitrary JSON; the assertions check their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
interface Reply {
  status: number;
  body: Json;
}

let h: Harness;
let server: Server;
let base: string;

async function listen(app: Express): Promise<{ server: Server; base: string }> {
  const s = app.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return { server: s, base: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  h = await startHarness();
  const config = loadConfig({
    TEMPORAL_ADDRESS: h.address,
    TEMPORAL_TASK_QUEUE: h.taskQueue,
    AGENT_POOL_ID: h.poolId,
    RETRY_INITIAL_INTERVAL_MS: '50',
    RETRY_MAX_INTERVAL_MS: '200',
    HEARTBEAT_TIMEOUT_SECONDS: '3',
    PLAN_MAX_BYTES: '20000',
    ALLOW_SIMULATE: 'true',
  });
  ({ server, base } = await listen(createApp({ client: h.client, config, registry: DEFAULT_REGISTRY })));
});
afterAll(async () => {
  if (server) await new Promise((resolve) => server.close(resolve));
  await h?.close();
});

interface CallOptions {
  method?: string;
  body?: unknown;
  raw?: string;
  type?: string;
  at?: string;
}
async function call(path: string, opts: CallOptions = {}): Promise<Reply> {
  const payload = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const res = await fetch(`${opts.at ?? base}${path}`, {
    method: opts.method ?? (payload === undefined ? 'GET' : 'POST'),
    headers: payload === undefined ? {} : { 'content-type': opts.type ?? 'application/json' },
    body: payload,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
const post = (path: string, body?: unknown): Promise<Reply> => call(path, { method: 'POST', body });

const slow = (ms: number) => ({ simulate: { latencyMs: ms } });
const ACTIVE = ['assigned', 'reasoning', 'executing', 'validating'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function taskState(planId: string, taskId: string): Promise<string | undefined> {
  const { status, body } = await call(`/v1/plans/${planId}`);
  expect(status).toBe(200);
  return (body.tasks as { id: string; state: string }[]).find((t) => t.id === taskId)?.state;
}
const untilTask = (planId: string, taskId: string, states: string[]) =>
  eventually(
    async () => (states.includes((await taskState(planId, taskId)) ?? '') ? true : undefined),
    `task ${taskId} of ${planId} to be ${states.join('|')}`,
  );

async function expectNoWorkflow(planId: string): Promise<void> {
  await expect(h.client.workflow.getHandle(`plan-${planId}`).describe()).rejects.toHaveProperty(
    'name',
    'WorkflowNotFoundError',
  );
}

function expectError(reply: Reply, status: number, code: string): void {
  expect(reply.status).toBe(status);
  expect(reply.body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
}

/** The same JSON with every object's keys in reverse order. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reversed(v)]),
    );
  return value;
}

describe('HTTP API over a real Temporal server', () => {
  test('submit, wait for the result, read the status', async () => {
    const id = uniqueId('api');
    const plan = {
      id,
      mode: 'dag',
      tasks: [
        { id: 'research', description: 'find facts', capabilities: ['web-research'] },
        { id: 'write', description: 'write it up', capabilities: ['writing'], dependsOn: ['research'] },
      ],
    };
    const submitted = await post('/v1/plans', plan);
    expect(submitted.status).toBe(202);
    expect(submitted.body).toEqual({
      planId: id,
      workflowId: `plan-${id}`,
      status: 'running',
      links: {
        self: `/v1/plans/${id}`,
        result: `/v1/plans/${id}/result`,
        ui: expect.stringMatching(new RegExp(`^http.*/workflows/plan-${id}$`)),
      },
    });

    const result = await call(`/v1/plans/${id}/result?wait=20`);
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ planId: id, status: 'completed', errors: {} });
    expect(Object.keys(result.body.outputs).sort()).toEqual(['research', 'write']);
    expect(result.body.outputs.research.summary).toMatch(/^research done by researcher-/);
    expect(result.body.outputs.write.summary).toMatch(/^write done by writer-/);

    const view = await call(`/v1/plans/${id}`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ planId: id, status: 'completed', mode: 'dag', closedAt: expect.any(String) });
    const none = { pending: 0, running: 0, failed: 0, skipped: 0, cancelled: 0 };
    expect(view.body.progress).toEqual({ ...none, total: 2, completed: 2 });
    expect(view.body.tasks.map((t: Json) => [t.id, t.state, t.agentType])).toEqual([
      ['research', 'completed', 'researcher'],
      ['write', 'completed', 'writer'],
    ]);
  });

  test('resubmission is idempotent; the same id with another body is a conflict', async () => {
    const id = uniqueId('idem');
    const plan = { id, name: 'idem', tasks: [{ id: 'only', description: 'once', capabilities: ['general'] }] };
    expect((await post('/v1/plans', plan)).status).toBe(202);
    const again = await post('/v1/plans', plan);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ planId: id, workflowId: `plan-${id}` });
    const reordered = await post('/v1/plans', reversed(plan));
    expect(reordered.status).toBe(200);
    expect(reordered.body.planId).toBe(id);
    const other = await post('/v1/plans', { ...plan, name: 'another' });
    expectError(other, 409, 'CONFLICT');
  });

  const task = (id: string, extra: object = {}) => ({ id, description: id, ...extra });
  const invalid: [string, unknown[], RegExp][] = [
    [
      'a cycle',
      [
        task('alpha', { dependsOn: ['gamma'] }),
        task('beta', { dependsOn: ['alpha'] }),
        task('gamma', { dependsOn: ['beta'] }),
      ],
      /cycle: (?=.*alpha)(?=.*beta)(?=.*gamma)/,
    ],
    ['an unknown dependsOn', [task('a', { dependsOn: ['ghost'] })], /"ghost"/],
    ['an unknown capability', [task('a', { capabilities: ['telepathy'] })], /"telepathy"/],
    ['an unknown agent type', [task('a', { agentType: 'wizard' })], /"wizard"/],
    ['no tasks', [], /at least one task/],
    ['duplicate ids', [task('twin'), task('twin')], /duplicate task id "twin"/],
    ['a task with neither description nor input', [{ id: 'bare' }], /"bare" needs a description or an input/],
  ];
  test.each(invalid)('400 with issues for %s, and no workflow started', async (_what, tasks, message) => {
    const id = uniqueId('bad');
    const reply = await post('/v1/plans', { id, tasks });
    expectError(reply, 400, 'VALIDATION_ERROR');
    expect(reply.body.error.message).toMatch(message);
    expect(Array.isArray(reply.body.error.issues)).toBe(true);
    expect(reply.body.error.issues.length).toBeGreaterThan(0);
    for (const issue of reply.body.error.issues)
      expect(issue).toEqual({ path: expect.any(String), message: expect.any(String) });
    await expectNoWorkflow(id);
  });

  test('wrong types name every offending field', async () => {
    const id = uniqueId('bad');
    const reply = await post('/v1/plans', { id, maxConcurrency: 'ten', tasks: [{ id: 'a', description: 42 }] });
    expectError(reply, 400, 'VALIDATION_ERROR');
    expect(reply.body.error.issues.map((i: Json) => i.path).sort()).toEqual(['maxConcurrency', 'tasks[0].description']);
    await expectNoWorkflow(id);
  });

  test('malformed JSON is a 400, text/plain a 415, an oversized body a 413; none starts a workflow', async () => {
    const id = uniqueId('bad');
    expectError(await call('/v1/plans', { raw: `{"id": "${id}", "tasks": [` }), 400, 'VALIDATION_ERROR');
    const valid = JSON.stringify({ id, tasks: [{ id: 'a', description: 'a' }] });
    expectError(await call('/v1/plans', { raw: valid, type: 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const big = { id, tasks: [{ id: 'a', description: 'a', input: { pad: 'x'.repeat(25_000) } }] };
    expectError(await post('/v1/plans', big), 413, 'PAYLOAD_TOO_LARGE');
    await expectNoWorkflow(id);
  });

  test('unknown plan and unknown route are 404', async () => {
    expectError(await call(`/v1/plans/${uniqueId('nope')}`), 404, 'NOT_FOUND');
    expectError(await call(`/v1/plans/${uniqueId('nope')}/result`), 404, 'NOT_FOUND');
    expectError(await call('/v1/no-such-route'), 404, 'NOT_FOUND');
  });

  test('an id that names a task workflow, not a plan, is an unknown plan: 404, never a 500', async () => {
    const id = uniqueId('tid');
    expect((await post('/v1/plans', { id, tasks: [{ id: 'a', description: 'a' }] })).status).toBe(202);
    expect((await call(`/v1/plans/${id}/result?wait=20`)).body.status).toBe('completed');
    // `plan-<id>-task-a` is the task's child workflow; no plan "<id>-task-a" was ever submitted.
    expectError(await call(`/v1/plans/${id}-task-a`), 404, 'NOT_FOUND');
    expectError(await call(`/v1/plans/${id}-task-a/result`), 404, 'NOT_FOUND');
  });

  test('result answers 202 while the plan runs; a bad wait is a 400', async () => {
    const id = uniqueId('wait');
    expect(
      (await post('/v1/plans', { id, tasks: [{ id: 'slow', description: 's', input: slow(3_000) }] })).status,
    ).toBe(202);
    let t0 = Date.now();
    const now = await call(`/v1/plans/${id}/result?wait=0`);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(now.status).toBe(202);
    expect(now.body).toMatchObject({ planId: id, status: 'running', progress: { total: 1 } });
    t0 = Date.now();
    const later = await call(`/v1/plans/${id}/result?wait=1`);
    expect(later.status).toBe(202);
    expect(later.body).toMatchObject({ planId: id, status: 'running' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expectError(await call(`/v1/plans/${id}/result?wait=abc`), 400, 'VALIDATION_ERROR');
    expect((await post(`/v1/plans/${id}/cancel`)).status).toBe(202); // do not leave it running
  });

  test('the plan list shows submitted plans and filters by status', async () => {
    const id = uniqueId('list');
    expect((await post('/v1/plans', { id, tasks: [{ id: 'a', description: 'a' }] })).status).toBe(202);
    expect((await call(`/v1/plans/${id}/result?wait=20`)).body.status).toBe('completed');
    const find = (query: string) =>
      eventually(async () => {
        const { status, body } = await call(`/v1/plans?${query}`);
        expect(status).toBe(200);
        const mine = (body.plans as Json[]).find((p) => p.planId === id);
        return mine?.status === 'completed' ? (body.plans as Json[]) : undefined;
      }, `plan ${id} in /v1/plans?${query}`);
    const all = await find('limit=1000');
    expect(all.find((p) => p.planId === id)).toMatchObject({ workflowId: `plan-${id}`, closedAt: expect.any(String) });
    const completed = await find('status=completed&limit=1000');
    expect(completed.every((p) => p.status === 'completed')).toBe(true);
    const one = await call('/v1/plans?limit=1');
    expect(one.status).toBe(200);
    expect(one.body.plans).toHaveLength(1);
    expectError(await call('/v1/plans?status=bogus'), 400, 'VALIDATION_ERROR');
  });

  test('cancelling a running plan cancels its running task; a closed plan cannot be cancelled', async () => {
    const id = uniqueId('cancel');
    const plan = {
      id,
      tasks: [
        { id: 'slow', description: 's', input: slow(5_000) },
        { id: 'after', description: 'a', dependsOn: ['slow'] },
      ],
    };
    expect((await post('/v1/plans', plan)).status).toBe(202);
    await untilTask(id, 'slow', ACTIVE);
    expectError(await post(`/v1/plans/${id}/tasks/no-such-task/cancel`), 404, 'NOT_FOUND');
    const cancel = await post(`/v1/plans/${id}/cancel`);
    expect(cancel.status).toBe(202);
    expect(cancel.body).toMatchObject({ planId: id });
    const result = await call(`/v1/plans/${id}/result?wait=20`);
    expect(result.status).toBe(200);
    expect(result.body.status).toBe('cancelled');
    expect(result.body.errors.slow).toMatchObject({ state: 'cancelled' });
    const view = await call(`/v1/plans/${id}`);
    expect(view.body.status).toBe('cancelled');
    expect(view.body.tasks.find((t: Json) => t.id === 'slow').state).toBe('cancelled');
    expect(view.body.tasks.find((t: Json) => t.id === 'after').state).not.toBe('completed');
    expectError(await post(`/v1/plans/${id}/cancel`), 409, 'CONFLICT');
  });

  test('a paused plan starts no new task until resumed', async () => {
    const id = uniqueId('pause');
    const plan = {
      id,
      mode: 'sequential',
      tasks: [
        { id: 'first', description: 'f', input: slow(1_500) },
        { id: 'second', description: 's' },
      ],
    };
    expect((await post('/v1/plans', plan)).status).toBe(202);
    await untilTask(id, 'first', ACTIVE); // pause while the first task runs, so it must still finish
    const pause = await post(`/v1/plans/${id}/pause`);
    expect(pause.status).toBe(202);
    expect(pause.body).toMatchObject({ planId: id, paused: true });
    await untilTask(id, 'first', ['completed']);
    await sleep(1_000);
    expect(await taskState(id, 'second')).toBe('pending');
    expect((await call(`/v1/plans/${id}`)).body.paused).toBe(true);
    expect((await post(`/v1/plans/${id}/resume`)).status).toBe(202);
    const result = await call(`/v1/plans/${id}/result?wait=20`);
    expect(result.status).toBe(200);
    expect(result.body.status).toBe('completed');
    expect(result.body.outputs.second.summary).toMatch(/^second done by /);
  });

  test('health and the OpenAPI document', async () => {
    const health = await call('/healthz');
    expect(health).toEqual({ status: 200, body: { status: 'ok' } });
    const doc = await call('/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(doc.body.components.schemas.Plan).toMatchObject({ type: 'object' });
    expect(doc.body.components.schemas.Plan.properties.tasks).toMatchObject({ type: 'array' });
  });

  test('before any worker has started the pool: 503 NOT_READY saying what to do, nothing started; /readyz says why', async () => {
    // Here a worker runs: once the pool has run its first workflow task (asking for the agents starts it), ready.
    expect((await call('/v1/agents')).status).toBe(200);
    const ready = await eventually(async () => {
      const r = await call('/readyz');
      return r.status === 200 ? r : undefined;
    }, 'ready');
    expect(ready.body).toEqual({ status: 'ready' });
    const poolId = uniqueId('no-pool');
    const taskQueue = uniqueId('no-worker');
    const config = loadConfig({ TEMPORAL_ADDRESS: h.address, TEMPORAL_TASK_QUEUE: taskQueue, AGENT_POOL_ID: poolId });
    const lonely = await listen(createApp({ client: h.client, config, registry: DEFAULT_REGISTRY }));
    try {
      const notReady = await call('/readyz', { at: lonely.base });
      expect(notReady.status).toBe(503);
      expect(notReady.body).toEqual({
        status: 'not ready',
        error: { code: 'NOT_READY', message: expect.stringMatching(/no worker has started the agent pool/) },
      });
      const id = uniqueId('early');
      const reply = await call('/v1/plans', { at: lonely.base, body: { id, tasks: [{ id: 'a', description: 'x' }] } });
      expectError(reply, 503, 'NOT_READY');
      expect(reply.body.error.message).toContain(`task queue "${taskQueue}"`);
      await expectNoWorkflow(id);
    } finally {
      await new Promise((resolve) => lonely.server.close(resolve));
      await h.client.workflow
        .getHandle(poolId)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
  });

  test('with Temporal down: 503 quickly, health 503, bad input still 400', async () => {
    const connection = Connection.lazy({ address: '127.0.0.1:1' });
    const config = loadConfig({
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      TEMPORAL_TASK_QUEUE: h.taskQueue,
      TEMPORAL_RPC_TIMEOUT_MS: '1500',
      PLAN_MAX_BYTES: '20000',
    });
    const client = new Client({ connection, namespace: 'default' });
    const down = await listen(createApp({ client, config, registry: DEFAULT_REGISTRY }));
    try {
      const t0 = Date.now();
      const submitted = await call('/v1/plans', { at: down.base, body: { tasks: [{ id: 'a', description: 'a' }] } });
      expectError(submitted, 503, 'TEMPORAL_UNAVAILABLE');
      expect(Date.now() - t0).toBeLessThan(10_000);
      // Alive (a restart would not help), not ready.
      expect((await call('/healthz', { at: down.base })).status).toBe(200);
      expect((await call('/readyz', { at: down.base })).body.error.code).toBe('TEMPORAL_UNAVAILABLE');
      expectError(await call(`/v1/plans/${uniqueId('x')}`, { at: down.base }), 503, 'TEMPORAL_UNAVAILABLE');
      const bad = await call('/v1/plans', { at: down.base, body: { tasks: [] } });
      expectError(bad, 400, 'VALIDATION_ERROR');
    } finally {
      await new Promise((resolve) => down.server.close(resolve));
      await connection.close().catch(() => undefined);
    }
  }, 20_000);
});
