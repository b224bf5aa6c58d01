import { planStatusQuery } from '../src/workflows/messages';
import { cancelPlanSignal, cancelTaskSignal } from '../src/workflows/messages';
import type { PlanView } from '../src/shared/plan';
import type { TaskView } from '../src/shared/task';
import { eventually, startHarness, uniqueId, type Harness } from './support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const slow = (ms: number, extra: Record<string, unknown> = {}) => ({ simulate: { latencyMs: ms, ...extra } });
const status = (workflowId: string): Promise<PlanView> =>
  h.client.workflow.getHandle(workflowId).query(planStatusQuery);
const task = (view: PlanView, id: string): TaskView => {
  const t = view.tasks.find((x) => x.id === id);
  if (!t) throw new Error(`no task ${id}`);
  return t;
};
const span = (t: TaskView) => ({ start: Date.parse(t.startedAt ?? ''), end: Date.parse(t.finishedAt ?? '') });
const overlap = (a: TaskView, b: TaskView) => span(a).start < span(b).end && span(b).start < span(a).end;

describe('plan execution on a real Temporal server', () => {
  test('parallel tasks overlap', async () => {
    const id = uniqueId('par');
    const result = await h.run({
      id,
      mode: 'parallel',
      tasks: ['a', 'b', 'c'].map((t) => ({ id: t, description: `task ${t}`, input: slow(800) })),
    });
    expect(result.status).toBe('completed');
    const view = await status(`plan-${id}`);
    const [a, b, c] = ['a', 'b', 'c'].map((t) => task(view, t)) as [TaskView, TaskView, TaskView];
    expect(overlap(a, b) && overlap(b, c) && overlap(a, c)).toBe(true);
  });

  test('sequential tasks never overlap and run in order', async () => {
    const id = uniqueId('seq');
    const result = await h.run({
      id,
      mode: 'sequential',
      tasks: ['one', 'two', 'three'].map((t) => ({ id: t, description: t, input: slow(300) })),
    });
    expect(result.status).toBe('completed');
    const view = await status(`plan-${id}`);
    const [one, two, three] = ['one', 'two', 'three'].map((t) => span(task(view, t)));
    expect(two!.start).toBeGreaterThanOrEqual(one!.end);
    expect(three!.start).toBeGreaterThanOrEqual(two!.end);
  });

  test('maxConcurrency 1 serializes independent tasks', async () => {
    const id = uniqueId('conc');
    await h.run({
      id,
      maxConcurrency: 1,
      tasks: ['x', 'y', 'z'].map((t) => ({ id: t, description: t, input: slow(200) })),
    });
    const ts = (await status(`plan-${id}`)).tasks.map(span).sort((p, q) => p.start - q.start);
    for (let i = 1; i < ts.length; i++) expect(ts[i]!.start).toBeGreaterThanOrEqual(ts[i - 1]!.end);
  });

  test('a DAG honours dependencies and outputs flow to dependents', async () => {
    const id = uniqueId('dag');
    const result = await h.run({
      id,
      mode: 'dag',
      tasks: [
        { id: 'research', description: 'find facts', capabilities: ['web-research'] },
        {
          id: 'code',
          description: 'write code',
          capabilities: ['coding'],
          input: { simulate: { output: { lines: 42 } } },
        },
        { id: 'report', description: 'write report', capabilities: ['writing'], dependsOn: ['research', 'code'] },
      ],
    });
    expect(result.status).toBe('completed');
    expect(result.outputs.code).toEqual({ lines: 42 });
    const report = result.outputs.report as { agentType: string; dependencies: Record<string, unknown> };
    expect(report.agentType).toBe('writer');
    expect(report.dependencies).toEqual({
      research: expect.stringMatching(/research done by researcher-/),
      code: { lines: 42 },
    });
    const view = await status(`plan-${id}`);
    const r = span(task(view, 'report'));
    expect(r.start).toBeGreaterThanOrEqual(span(task(view, 'research')).end);
    expect(r.start).toBeGreaterThanOrEqual(span(task(view, 'code')).end);
  });

  test('hierarchical: a coordinator spawns sub-agent child workflows and synthesizes their results', async () => {
    const id = uniqueId('hier');
    const result = await h.run({
      id,
      mode: 'hierarchical',
      tasks: [
        {
          id: 'lead',
          description: 'write a brief',
          subtasks: [
            { id: 'facts', description: 'facts', capabilities: ['research'] },
            { id: 'draft', description: 'draft', capabilities: ['writing'], dependsOn: ['facts'] },
          ],
        },
      ],
    });
    expect(result.status).toBe('completed');
    const lead = result.outputs.lead as { agentType: string; subtasks: Record<string, unknown> };
    expect(lead.agentType).toBe('coordinator');
    expect(Object.keys(lead.subtasks).sort()).toEqual(['draft', 'facts']);
    const child = await h.client.workflow.getHandle(`plan-${id}-task-facts`).describe();
    expect(child.parentExecution?.workflowId).toBe(`plan-${id}-task-lead`);
    const view = await status(`plan-${id}`);
    expect(task(view, 'lead').subtasks.map((s) => [s.id, s.state])).toEqual([
      ['facts', 'completed'],
      ['draft', 'completed'],
    ]);
  });

  test('dynamic decomposition: subtasks returned by reasoning run as sub-agents', async () => {
    const id = uniqueId('dyn');
    const result = await h.run({
      id,
      tasks: [
        {
          id: 'boss',
          description: 'split it',
          agentType: 'coordinator',
          input: {
            simulate: {
              subtasks: [
                { id: 'p1', description: 'part 1' },
                { id: 'p2', description: 'part 2', dependsOn: ['p1'] },
              ],
            },
          },
        },
      ],
    });
    expect(result.status).toBe('completed');
    expect(Object.keys((result.outputs.boss as { subtasks: object }).subtasks).sort()).toEqual(['boss.p1', 'boss.p2']);
  });

  test('retryable failures are retried by Temporal and the attempts are counted', async () => {
    const result = await h.run({
      tasks: [{ id: 'flaky', description: 'x', input: { simulate: { failAttempts: 2 } } }],
    });
    expect(result.status).toBe('completed');
    const view = await status(`plan-${result.planId}`);
    expect(task(view, 'flaky').attempts).toBe(3);
  });

  test('fail-fast: a failure cancels running tasks and skips the rest', async () => {
    const id = uniqueId('ff');
    const result = await h.run({
      id,
      failurePolicy: 'fail-fast',
      tasks: [
        { id: 'bad', description: 'x', input: { simulate: { alwaysFail: true, nonRetryable: true } } },
        { id: 'long', description: 'y', input: slow(20_000) },
        { id: 'after', description: 'z', dependsOn: ['long'] },
      ],
    });
    expect(result.status).toBe('failed');
    expect(result.errors.bad).toMatchObject({ state: 'failed', type: 'SimulatedFatal' });
    expect(result.errors.long).toMatchObject({ state: 'cancelled' });
    expect(result.errors.after).toMatchObject({ state: 'skipped', reason: expect.stringMatching(/"bad" failed/) });
    const view = await status(`plan-${id}`);
    expect(task(view, 'bad').attempts).toBe(1); // non-retryable: no retries burnt
  });

  test('continue: dependents of a failure are skipped, independent branches finish, plan is partial', async () => {
    const result = await h.run({
      failurePolicy: 'continue',
      tasks: [
        { id: 'bad', description: 'x', maxRetries: 0, maxReassignments: 0, input: { simulate: { alwaysFail: true } } },
        { id: 'child', description: 'y', dependsOn: ['bad'] },
        { id: 'grandchild', description: 'y', dependsOn: ['child'] },
        { id: 'ok', description: 'z' },
        {
          id: 'extra',
          description: 'w',
          optional: true,
          maxRetries: 0,
          maxReassignments: 0,
          input: { simulate: { alwaysFail: true } },
        },
      ],
    });
    expect(result.status).toBe('partial');
    expect(Object.keys(result.outputs)).toEqual(['ok']);
    expect(result.errors.child).toMatchObject({ state: 'skipped', reason: 'dependency "bad" failed' });
    expect(result.errors.grandchild).toMatchObject({ state: 'skipped', reason: 'dependency "bad" failed' });
    expect(result.errors.extra).toMatchObject({ state: 'failed' });
  });

  test('a task that keeps failing on one agent is reassigned to another', async () => {
    const result = await h.run({
      tasks: [{ id: 'picky', description: 'x', maxRetries: 0, input: { simulate: { failOnAgents: 1 } } }],
    });
    expect(result.status).toBe('completed');
    const t = task(await status(`plan-${result.planId}`), 'picky');
    expect(t.assignments.map((a) => a.outcome)).toEqual(['failed', 'completed']);
    expect(new Set(t.assignments.map((a) => a.agentId)).size).toBe(2);
  });

  test('cancelling a plan stops running tasks and records them cancelled', async () => {
    const id = uniqueId('cancel');
    const wfId = await h.start({
      id,
      tasks: [
        { id: 'slow', description: 'x', input: slow(30_000) },
        { id: 'next', description: 'y', dependsOn: ['slow'] },
      ],
    });
    const handle = h.client.workflow.getHandle(wfId);
    await eventually(
      async () => ((await status(wfId)).tasks[0]?.state === 'assigned' ? true : undefined),
      'slow to start',
    );
    await eventually(async () => {
      const d = await h.client.workflow
        .getHandle(`plan-${id}-task-slow`)
        .describe()
        .catch(() => undefined);
      return d?.status.name === 'RUNNING' ? true : undefined;
    }, 'child running');
    await handle.signal(cancelPlanSignal, { reason: 'test' });
    const result = (await handle.result()) as { status: string; errors: Record<string, { state: string }> };
    expect(result.status).toBe('cancelled');
    expect(result.errors.slow?.state).toBe('cancelled');
    expect(result.errors.next?.state).toBe('cancelled');
    const child = await h.client.workflow.getHandle(`plan-${id}-task-slow`).describe();
    expect(child.status.name).toBe('CANCELLED');
  });

  test('cancelling one task skips its dependents and leaves the rest running', async () => {
    const id = uniqueId('tcancel');
    const wfId = await h.start({
      id,
      failurePolicy: 'fail-fast',
      tasks: [
        { id: 'victim', description: 'x', input: slow(30_000) },
        { id: 'dependent', description: 'y', dependsOn: ['victim'] },
        { id: 'other', description: 'z', input: slow(500) },
      ],
    });
    await eventually(async () => {
      const d = await h.client.workflow
        .getHandle(`plan-${id}-task-victim`)
        .describe()
        .catch(() => undefined);
      return d?.status.name === 'RUNNING' ? true : undefined;
    }, 'victim running');
    await h.client.workflow.getHandle(wfId).signal(cancelTaskSignal, { taskId: 'victim' });
    const result = (await h.client.workflow.getHandle(wfId).result()) as {
      status: string;
      outputs: object;
      errors: Record<string, { state: string; reason?: string }>;
    };
    expect(result.status).toBe('partial');
    expect(Object.keys(result.outputs)).toEqual(['other']);
    expect(result.errors.victim?.state).toBe('cancelled');
    expect(result.errors.dependent).toMatchObject({ state: 'skipped', reason: 'dependency "victim" was cancelled' });
  });

  test('a plan workflow never fails for task failures: status carries the outcome', async () => {
    const promise = h.run({
      tasks: [{ id: 'bad', description: 'x', input: { simulate: { alwaysFail: true, nonRetryable: true } } }],
    });
    // Resolves (the workflow did not fail), with the task's failure in the result.
    await expect(promise).resolves.toMatchObject({
      status: 'failed',
      errors: { bad: { state: 'failed', type: 'SimulatedFatal' } },
    });
  });
});
