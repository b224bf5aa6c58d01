/**
 * `temporal workflow reset` on a plan workflow, with the real CLI against the run's dev server (docs/operations.md,
 * "Reset or rerun"). A reset copies the plan's history up to a workflow task into a new run, which replays it with
 * today's code and goes on from there. Checked: the reset run completes with every task's output once, tasks whose
 * completion is before the reset point do not run again, and the pool ends with every instance idle. The pool's sweep
 * is set to an hour here, so it cannot hide an instance the reset left leased.
 */
import { temporal } from '@temporalio/proto';
import { OfflineRuntime } from '../src/activities/offline-runtime';
import type { AiRuntime } from '../src/activities/types';
import { planStatusQuery, poolStatusQuery } from '../src/workflows/messages';
import type { PlanInput, PlanResult } from '../src/shared/plan';
import type { PoolView } from '../src/shared/pool';
import { taskWorkflowId } from '../src/shared/ids';
import type { planWorkflow } from '../src/workflows/plan';
import { temporalCli } from './support/deploy';
import { eventually, startHarness, uniqueId, type Harness } from './support/harness';

const EventType = temporal.api.enums.v1.EventType;
const TASKS = ['a', 'b', 'c', 'd'];

let h: Harness;
/** Execute steps run, by plan and task: the offline runtime, counted. */
const executions = new Map<string, number>();
const executed = (planId: string, taskId: string): number => executions.get(`${planId}/${taskId}`) ?? 0;

beforeAll(async () => {
  const offline = new OfflineRuntime();
  const runtime: AiRuntime = {
    reason: (ctx, c) => offline.reason(ctx, c),
    validate: (ctx, c) => offline.validate(ctx, c),
    review: (ctx, c) => offline.review(ctx, c),
    act(ctx, c, env) {
      const key = `${ctx.planId}/${ctx.taskId}`;
      executions.set(key, (executions.get(key) ?? 0) + 1);
      return offline.act(ctx, c, env);
    },
  };
  h = await startHarness({ deps: { runtime: () => runtime }, pool: { sweepIntervalSeconds: 3_600 } });
});
afterAll(async () => {
  await h?.close();
});

/** A chain a → b → c → d; each task's steps take `ms` (so they run in task workflows, never inline). */
const chain = (id: string, ms: number): PlanInput => ({
  id,
  mode: 'sequential',
  tasks: TASKS.map((t) => ({ id: t, description: `task ${t}`, input: { simulate: { latencyMs: ms } } })),
});

/** Resets with the `temporal` CLI and returns the new run's id. */
async function reset(workflowId: string, ...how: string[]): Promise<string> {
  const before = (await h.client.workflow.getHandle(workflowId).describe()).runId;
  await temporalCli('workflow', 'reset', '--workflow-id', workflowId, ...how, '--reason', 'reset.test.ts');
  const after = (await h.client.workflow.getHandle(workflowId).describe()).runId;
  expect(after).not.toBe(before);
  return after;
}

/** Runs of one task workflow id in visibility, with their status. */
async function runsOf(planId: string, taskId: string): Promise<string[]> {
  const runs: string[] = [];
  for await (const w of h.client.workflow.list({ query: `WorkflowId = '${taskWorkflowId(planId, taskId)}'` }))
    runs.push(w.status.name);
  return runs.sort();
}

/** Every instance of the pool is idle: none is held by anyone, nothing is queued. */
async function expectPoolIdle(): Promise<void> {
  const view: PoolView = await h.client.workflow.getHandle(h.poolId).query(poolStatusQuery);
  expect(view.agents.map((a) => [a.id, a.state, a.holder])).toEqual(view.agents.map((a) => [a.id, 'idle', null]));
  expect(view.busy).toBe(0);
  expect(view.queued).toBe(0);
}

describe('temporal workflow reset of a plan', () => {
  test('a finished plan reset to the workflow task after its first task completed: the later tasks run again, the first does not', async () => {
    const id = uniqueId('reset-done');
    const workflowId = await h.start(chain(id, 100));
    const first = await h.client.workflow.getHandle<typeof planWorkflow>(workflowId).result();
    expect(first.status).toBe('completed');
    for (const t of TASKS) expect(executed(id, t)).toBe(1);

    // The workflow task that handled a's completion (and started b): the reset run replays a's completion from history.
    const events = (await h.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const aCompleted = events.findIndex(
      (e) =>
        e.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED &&
        e.childWorkflowExecutionCompletedEventAttributes?.workflowExecution?.workflowId === taskWorkflowId(id, 'a'),
    );
    expect(aCompleted).toBeGreaterThan(0);
    const resetPoint = events
      .slice(aCompleted)
      .find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)?.eventId;
    const runId = await reset(workflowId, '--event-id', String(resetPoint));

    const r: PlanResult = await h.client.workflow.getHandle<typeof planWorkflow>(workflowId, runId).result();
    expect(r.status).toBe('completed');
    expect(Object.keys(r.outputs).sort()).toEqual(TASKS);
    expect(r.errors).toEqual({});
    // a's output is the one its first (and only) run produced; b, c, d ran once more, in the reset run.
    expect((r.outputs.a as { agent?: string }).agent).toBe((first.outputs.a as { agent?: string }).agent);
    expect(TASKS.map((t) => executed(id, t))).toEqual([1, 2, 2, 2]);
    expect(await runsOf(id, 'a')).toEqual(['COMPLETED']);
    for (const t of ['b', 'c', 'd']) expect(await runsOf(id, t)).toEqual(['COMPLETED', 'COMPLETED']);
    await expectPoolIdle();
  });

  test('a running plan reset to its last workflow task: the running task is reconnected, nothing runs twice', async () => {
    const id = uniqueId('reset-live');
    const workflowId = await h.start(chain(id, 700));
    // a has completed and b runs (its task workflow was started before the reset point).
    await eventually(async () => {
      const view = await h.client.workflow.getHandle(workflowId).query(planStatusQuery);
      const state = (t: string) => view.tasks.find((x) => x.id === t)?.state;
      return state('a') === 'completed' && !['pending', 'completed'].includes(state('b') ?? 'pending')
        ? true
        : undefined;
    }, 'a completed and b running');
    const before = (await h.client.workflow.getHandle(workflowId).describe()).runId;
    const runId = await reset(workflowId, '--type', 'LastWorkflowTask');
    // The run the reset replaced was terminated.
    expect((await h.client.workflow.getHandle(workflowId, before).describe()).status.name).toBe('TERMINATED');

    const r: PlanResult = await h.client.workflow.getHandle<typeof planWorkflow>(workflowId, runId).result();
    expect(r.status).toBe('completed');
    expect(Object.keys(r.outputs).sort()).toEqual(TASKS);
    expect(TASKS.map((t) => executed(id, t))).toEqual([1, 1, 1, 1]);
    for (const t of TASKS) expect(await runsOf(id, t)).toEqual(['COMPLETED']);
    await expectPoolIdle();
  });
});
