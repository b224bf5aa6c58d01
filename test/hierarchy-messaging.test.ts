import type { MailLogEntry } from '../src/shared/agent-mail';
import type { PlanResult, PlanView } from '../src/shared/plan';
import type { TaskView } from '../src/shared/task';
import {
  agentMessageSignal,
  cancelTaskSignal,
  planMessagesQuery,
  planStatusQuery,
  taskStatusQuery,
} from '../src/workflows/messages';
import { eventually, startInProcessApi, startHarness, uniqueId, type Harness } from './support/harness';

let h: Harness;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let base: string;
beforeAll(async () => {
  h = await startHarness();
  api = await startInProcessApi(h);
  base = api.base;
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

const slow = (ms: number) => ({ simulate: { latencyMs: ms } });
const handle = (planId: string) => h.client.workflow.getHandle(`plan-${planId}`);
const taskHandle = (planId: string, taskId: string) => h.client.workflow.getHandle(`plan-${planId}-task-${taskId}`);
const result = (planId: string) => handle(planId).result() as Promise<PlanResult>;
const send = (planId: string, to: string, body: unknown, id = uniqueId('msg')) =>
  handle(planId).signal(agentMessageSignal, { id, from: 'test', to, body, sentAt: new Date().toISOString() });
const inboxOf = (r: PlanResult, taskId: string) =>
  (r.outputs[taskId] as { inbox: { id: string; from: string; body: unknown }[] }).inbox;
const taskState = async (planId: string, taskId: string): Promise<string | undefined> =>
  (
    await taskHandle(planId, taskId)
      .query(taskStatusQuery)
      .catch(() => undefined)
  )?.state;
const until = (planId: string, taskId: string, state: string) =>
  eventually(async () => ((await taskState(planId, taskId)) === state ? true : undefined), `${taskId} to be ${state}`);
const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('hierarchical execution', () => {
  test('a depth-3 tree runs as nested child workflows and the status shows the tree', async () => {
    const id = uniqueId('tree');
    await h.start({
      id,
      mode: 'hierarchical',
      tasks: [
        {
          id: 'root',
          description: 'top',
          subtasks: [
            {
              id: 'mid',
              description: 'middle',
              subtasks: [{ id: 'leaf', description: 'bottom', subtasks: [{ id: 'deepest', description: 'level 3' }] }],
            },
            { id: 'side', description: 'sibling' },
          ],
        },
      ],
    });
    const r = await result(id);
    expect(r.status).toBe('completed');
    // The synthesis keeps the tree: the top coordinator's output holds its leaves' results whole.
    type Out = { task: string; subtasks?: Record<string, Out> };
    const top = r.outputs.root as Out;
    expect(top.subtasks?.mid?.subtasks?.leaf?.subtasks?.deepest?.task).toBe('deepest');
    expect(top.subtasks?.side?.task).toBe('side');
    expect((await taskHandle(id, 'deepest').describe()).parentExecution?.workflowId).toBe(`plan-${id}-task-leaf`);
    expect((await taskHandle(id, 'leaf').describe()).parentExecution?.workflowId).toBe(`plan-${id}-task-mid`);
    const view: PlanView = await handle(id).query(planStatusQuery);
    const root = view.tasks[0] as TaskView;
    expect(root.subtasks.map((s) => s.id)).toEqual(['mid', 'side']);
    expect(root.subtasks[0]?.subtasks[0]).toMatchObject({ id: 'leaf', state: 'completed' });
    expect(root.subtasks[0]?.subtasks[0]?.subtasks[0]).toMatchObject({ id: 'deepest', state: 'completed' });
  });

  test('the result carries every task at every depth; GET /v1/plans/:id/tasks/:taskId addresses any one', async () => {
    const id = uniqueId('nested');
    const submitted = await post('/v1/plans', {
      id,
      mode: 'hierarchical',
      tasks: [
        {
          id: 'boss',
          description: 'top',
          subtasks: [
            {
              id: 'mid-1',
              description: 'm1',
              subtasks: [
                { id: 'l1', description: 'leaf 1' },
                { id: 'l2', description: 'leaf 2' },
              ],
            },
            { id: 'mid-2', description: 'm2', subtasks: [{ id: 'l3', description: 'leaf 3' }] },
          ],
        },
      ],
    });
    expect(submitted.status).toBe(202);
    const res = await fetch(`${base}/v1/plans/${id}/result?wait=30`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as PlanResult & { tasks: Record<string, { path: string[]; output?: unknown }> };
    expect(Object.keys(body.tasks).sort()).toEqual(['boss', 'l1', 'l2', 'l3', 'mid-1', 'mid-2']);
    expect(body.tasks.l1).toMatchObject({
      path: ['boss', 'mid-1', 'l1'],
      state: 'completed',
      agentId: expect.any(String),
      output: { task: 'l1', description: 'leaf 1' },
    });
    expect(body.tasks['mid-2']).toMatchObject({
      path: ['boss', 'mid-2'],
      output: { subtasks: { l3: { task: 'l3' } } },
    });
    const one = await fetch(`${base}/v1/plans/${id}/tasks/l3`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({
      id: 'l3',
      path: ['boss', 'mid-2', 'l3'],
      state: 'completed',
      output: { task: 'l3' },
    });
    const missing = await fetch(`${base}/v1/plans/${id}/tasks/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({
      error: { code: 'NOT_FOUND', message: expect.stringContaining('no task "nope"') },
    });
  });

  test('a running sub-agent two levels down is addressable by id while it runs', async () => {
    const id = uniqueId('live');
    await h.start({
      id,
      mode: 'hierarchical',
      tasks: [
        {
          id: 'top',
          description: 'x',
          subtasks: [{ id: 'mid', description: 'y', subtasks: [{ id: 'low', description: 'z', input: slow(3_000) }] }],
        },
      ],
    });
    await until(id, 'low', 'reasoning');
    const res = await fetch(`${base}/v1/plans/${id}/tasks/low`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: 'low', path: ['top', 'mid', 'low'], state: 'reasoning' });
    expect((await result(id)).status).toBe('completed');
  });

  test('maximum depth and fan-out stop runaway recursion with a clear error', async () => {
    const deep = uniqueId('deep');
    await h.start(
      {
        id: deep,
        tasks: [
          {
            id: 'a',
            description: 'x',
            subtasks: [{ id: 'b', description: 'y', subtasks: [{ id: 'c', description: 'z' }] }],
          },
        ],
      },
      { maxDepth: 1 },
    );
    const r1 = await result(deep);
    expect(r1.status).toBe('failed');
    expect(r1.errors.a?.message).toMatch(/deeper than the maximum depth 1/);
    const wide = uniqueId('wide');
    await h.start(
      {
        id: wide,
        tasks: [{ id: 'a', description: 'x', subtasks: ['p', 'q', 'r'].map((s) => ({ id: s, description: s })) }],
      },
      { maxFanOut: 2 },
    );
    expect((await result(wide)).errors.a?.message).toMatch(/asks for 3 subtasks; the maximum fan-out is 2/);
  });

  test('subtaskMode sequential runs sub-agents one after another', async () => {
    const id = uniqueId('subseq');
    await h.start({
      id,
      tasks: [
        {
          id: 'lead',
          description: 'x',
          subtaskMode: 'sequential',
          subtasks: ['s1', 's2', 's3'].map((s) => ({ id: s, description: s, input: slow(200) })),
        },
      ],
    });
    expect((await result(id)).status).toBe('completed');
    const subs = ((await handle(id).query(planStatusQuery)).tasks[0] as TaskView).subtasks;
    for (let i = 1; i < subs.length; i++)
      expect(Date.parse(subs[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(subs[i - 1]!.finishedAt!));
  });

  test('cancelling a coordinator cancels its whole subtree', async () => {
    const id = uniqueId('subcancel');
    await h.start({
      id,
      failurePolicy: 'continue',
      tasks: [
        {
          id: 'boss',
          description: 'x',
          subtasks: [
            { id: 'w1', description: 'y', input: slow(30_000) },
            { id: 'w2', description: 'z', input: slow(30_000) },
          ],
        },
        { id: 'bystander', description: 'b' },
      ],
    });
    await until(id, 'w1', 'reasoning');
    await handle(id).signal(cancelTaskSignal, { taskId: 'boss' });
    const r = await result(id);
    expect(r.status).toBe('partial');
    expect(r.errors.boss?.state).toBe('cancelled');
    expect(Object.keys(r.outputs)).toEqual(['bystander']);
    for (const w of ['w1', 'w2']) expect((await taskHandle(id, w).describe()).status.name).toBe('CANCELLED');
  });
});

describe('message bus', () => {
  test('a direct message reaches the running recipient and shows in its output; duplicates are dropped', async () => {
    const id = uniqueId('direct');
    await h.start({ id, tasks: [{ id: 'listener', description: 'x', input: slow(1_500) }] });
    await until(id, 'listener', 'reasoning');
    await send(id, 'listener', { hint: 'use the blue one' }, 'm-1');
    await send(id, 'listener', { hint: 'duplicate' }, 'm-1');
    const r = await result(id);
    expect(inboxOf(r, 'listener')).toEqual([{ id: 'm-1', from: 'test', body: { hint: 'use the blue one' } }]);
    const log: MailLogEntry[] = await handle(id).query(planMessagesQuery);
    expect(log.map((m) => [m.id, m.state])).toEqual([['m-1', 'delivered']]);
  });

  test('agents message each other; a message for a task that has not started waits for it', async () => {
    const id = uniqueId('a2a');
    await h.start({
      id,
      tasks: [
        {
          id: 'sender',
          description: 'x',
          input: { simulate: { send: [{ to: 'receiver', body: 'hello from sender' }] } },
        },
        { id: 'receiver', description: 'y', dependsOn: ['sender'] },
      ],
    });
    const r = await result(id);
    const [msg] = inboxOf(r, 'receiver');
    expect(msg).toMatchObject({ from: expect.stringMatching(/^generalist-/), body: 'hello from sender' });
    const log: MailLogEntry[] = await handle(id).query(planMessagesQuery);
    expect(log[0]?.state).toBe('delivered');
  });

  test('a message for a sub-agent at depth 3 that has not started waits for it', async () => {
    const id = uniqueId('deepmsg');
    await h.start({
      id,
      mode: 'hierarchical',
      tasks: [
        {
          id: 'top',
          description: 'x',
          input: slow(500),
          subtasks: [
            {
              id: 'mid',
              description: 'y',
              subtasks: [{ id: 'low', description: 'z', subtasks: [{ id: 'bottom', description: 'w' }] }],
            },
          ],
        },
      ],
    });
    // Sent while "top" still reasons: none of its sub-agents exists yet.
    await send(id, 'bottom', 'to the bottom', 'deep-1');
    expect((await result(id)).status).toBe('completed');
    const bottom = (await taskHandle(id, 'bottom').result()) as { output: { inbox: { id: string; body: unknown }[] } };
    expect(bottom.output.inbox).toEqual([{ id: 'deep-1', from: 'test', body: 'to the bottom' }]);
    const mid = (await taskHandle(id, 'mid').result()) as { output: { inbox: unknown[] } };
    expect(mid.output.inbox).toEqual([]); // passed through, not kept
    const log: MailLogEntry[] = await handle(id).query(planMessagesQuery);
    expect(log.map((m) => [m.id, m.state, m.deliveries.map((d) => d.taskId)])).toEqual([
      ['deep-1', 'delivered', ['bottom']],
    ]);
  });

  test('messages can be addressed by agent id', async () => {
    const id = uniqueId('byagent');
    await h.start({ id, tasks: [{ id: 'worker', description: 'x', input: slow(1_500) }] });
    const agentId = await eventually(
      async () => (await handle(id).query(planStatusQuery)).tasks[0]?.agentId,
      'agent id',
    );
    await send(id, agentId, 'for the agent', 'by-agent');
    expect(inboxOf(await result(id), 'worker').map((m) => m.id)).toEqual(['by-agent']);
  });

  test('a broadcast reaches every running agent of the plan', async () => {
    const id = uniqueId('bcast');
    await h.start({ id, tasks: ['a', 'b', 'c'].map((t) => ({ id: t, description: t, input: slow(1_500) })) });
    for (const t of ['a', 'b', 'c']) await until(id, t, 'reasoning');
    await send(id, '*', 'all hands', 'b-1');
    const r = await result(id);
    for (const t of ['a', 'b', 'c']) expect(inboxOf(r, t).map((m) => m.body)).toEqual(['all hands']);
    const log: MailLogEntry[] = await handle(id).query(planMessagesQuery);
    expect(log[0]?.deliveries.map((d) => d.state)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  test('messages for finished or unknown recipients are undeliverable; the API shows the log', async () => {
    const id = uniqueId('undeliv');
    await h.start({
      id,
      tasks: [
        { id: 'quick', description: 'x' },
        { id: 'slow', description: 'y', input: slow(2_000) },
      ],
    });
    await eventually(
      async () => ((await handle(id).query(planStatusQuery)).tasks[0]?.state === 'completed' ? true : undefined),
      'quick to finish',
    );
    expect((await post(`/v1/plans/${id}/messages`, { id: 'late', to: 'quick', body: 'too late' })).status).toBe(202);
    expect((await post(`/v1/plans/${id}/messages`, { id: 'nobody', to: 'ghost', body: '?' })).status).toBe(202);
    expect((await post(`/v1/plans/${id}/messages`, { to: 'slow' })).status).toBe(400);
    const res = await fetch(`${base}/v1/plans/${id}/messages`);
    const { messages } = (await res.json()) as { messages: MailLogEntry[] };
    expect(messages.map((m) => [m.id, m.state])).toEqual([
      ['late', 'undeliverable'],
      ['nobody', 'undeliverable'],
    ]);
    expect(messages[1]?.reason).toMatch(/no task or agent "ghost"/);
    await result(id);
  });
});

describe('human in the loop', () => {
  test('approval: the task waits without blocking siblings, then the API update approves it', async () => {
    const id = uniqueId('approve');
    await h.start({
      id,
      tasks: [
        { id: 'deploy', description: 'ship it', requiresApproval: true },
        { id: 'sibling', description: 'free' },
      ],
    });
    await until(id, 'deploy', 'waiting');
    await eventually(
      async () => ((await handle(id).query(planStatusQuery)).tasks[1]?.state === 'completed' ? true : undefined),
      'sibling done',
    );
    const early = await post(`/v1/plans/${id}/tasks/sibling/input`, { approved: true });
    expect(early.status).toBe(409);
    expect((await post(`/v1/plans/${id}/tasks/deploy/input`, { approved: 'yes' })).status).toBe(400);
    const res = await post(`/v1/plans/${id}/tasks/deploy/input`, { approved: true, data: { window: 'tonight' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { state: string }).state).toMatch(/executing|validating|completed/);
    const r = await result(id);
    expect(r.status).toBe('completed');
    expect((r.outputs.deploy as { humanInput: unknown }).humanInput).toEqual({ window: 'tonight' });
  });

  test('rejection fails the task without retries or reassignment', async () => {
    const id = uniqueId('reject');
    await h.start({ id, tasks: [{ id: 'risky', description: 'x', requiresApproval: true }] });
    await until(id, 'risky', 'waiting');
    expect((await post(`/v1/plans/${id}/tasks/risky/input`, { approved: false })).status).toBe(200);
    const r = await result(id);
    expect(r.errors.risky).toMatchObject({ state: 'failed', type: 'Rejected' });
    const view = await handle(id).query(planStatusQuery);
    expect(view.tasks[0]?.assignments).toHaveLength(1);
  });

  test('input timeouts escalate as configured: fail, skip, or use the default', async () => {
    const id = uniqueId('timeout');
    await h.start({
      id,
      failurePolicy: 'continue',
      tasks: [
        { id: 'fails', description: 'x', awaitInput: true, inputTimeoutSeconds: 1 },
        { id: 'skips', description: 'y', awaitInput: true, inputTimeoutSeconds: 1, onInputTimeout: 'skip' },
        {
          id: 'defaults',
          description: 'z',
          awaitInput: true,
          inputTimeoutSeconds: 1,
          onInputTimeout: 'default',
          defaultInput: { answer: 42 },
        },
        { id: 'after-skip', description: 'w', dependsOn: ['skips'] },
      ],
    });
    const r = await result(id);
    expect(r.errors.fails).toMatchObject({ state: 'failed', type: 'InputTimeout' });
    expect(r.errors.skips).toMatchObject({
      state: 'skipped',
      reason: expect.stringMatching(/no input for task "skips" within 1s/),
    });
    expect(r.errors['after-skip']).toMatchObject({ state: 'skipped' });
    expect((r.outputs.defaults as { humanInput: unknown }).humanInput).toEqual({ answer: 42 });
  });
});
