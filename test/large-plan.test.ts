import { isTaskResultRef } from '../src/shared/claim-check';
import { type PlanResult, type PlanView } from '../src/shared/plan';
import { type TaskView } from '../src/shared/task';
import { planStatusQuery } from '../src/workflows/messages';
import { eventually, startInProcessApi, startHarness, uniqueId, type Harness } from './support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const runsOf = async (workflowId: string): Promise<number> => {
  let n = 0;
  for await (const _ of h.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
  return n;
};

/** A plan too big for one history continues as new, carrying its state and passing outputs by reference. */
describe('plans larger than one workflow history', () => {
  test('the plan continues-as-new, loses no task, and the API resolves outputs kept by reference', async () => {
    const id = uniqueId('big');
    await h.start(
      {
        id,
        maxConcurrency: 8,
        tasks: Array.from({ length: 40 }, (_, i) => ({ id: `t${i}`, description: `task ${i}` })),
      },
      { planHistoryLimit: 100 },
    );
    const raw = (await h.client.workflow.getHandle(`plan-${id}`).result()) as PlanResult;
    expect(raw.status).toBe('completed');
    expect(Object.keys(raw.outputs)).toHaveLength(40);
    expect(Object.values(raw.outputs).some(isTaskResultRef)).toBe(true);
    expect(await runsOf(`plan-${id}`)).toBeGreaterThan(1);
    const view = await h.client.workflow.getHandle(`plan-${id}`).query(planStatusQuery);
    expect(view.progress).toMatchObject({ total: 40, completed: 40 });

    const api = await startInProcessApi(h);
    try {
      const res = await fetch(`${api.base}/v1/plans/${id}/result`);
      const body = (await res.json()) as PlanResult;
      expect(res.status).toBe(200);
      expect(Object.values(body.outputs).some(isTaskResultRef)).toBe(false);
      expect((body.outputs.t0 as { summary: string }).summary).toMatch(/^t0 done by /);
      const again = await fetch(`${api.base}/v1/plans/${id}`);
      expect(((await again.json()) as { status: string }).status).toBe('completed');
    } finally {
      await api.close();
    }
  });

  test('outputs flow to dependents across continue-as-new boundaries', async () => {
    const id = uniqueId('chain');
    await h.start(
      {
        id,
        mode: 'sequential',
        tasks: Array.from({ length: 12 }, (_, i) => ({ id: `s${i}`, description: `step ${i}` })),
      },
      { planHistoryLimit: 100 },
    );
    const raw = (await h.client.workflow.getHandle(`plan-${id}`).result()) as PlanResult;
    expect(raw.status).toBe('completed');
    expect(await runsOf(`plan-${id}`)).toBeGreaterThan(1);
    const last = raw.outputs.s11 as { dependencies: Record<string, unknown> };
    expect(last.dependencies).toEqual({ s10: expect.stringMatching(/^s10 done by /) });
  });

  test('after continue-as-new the plan keeps its memo and search attributes: resubmission stays idempotent', async () => {
    const api = await startInProcessApi(h, { PLAN_HISTORY_LIMIT: '100' });
    try {
      const body = {
        id: uniqueId('memo'),
        maxConcurrency: 8,
        // Inline tasks write their steps' events into the plan's history: 80 of them pass the limit of 100 many times.
        tasks: Array.from({ length: 80 }, (_, i) => ({ id: `m${i}`, description: 'x' })),
      };
      const post = () =>
        fetch(`${api.base}/v1/plans`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await post()).status).toBe(202);
      const done = await fetch(`${api.base}/v1/plans/${body.id}/result?wait=30`);
      const result = (await done.json()) as PlanResult;
      expect(result.status).toBe('completed');
      expect(await runsOf(`plan-${body.id}`)).toBeGreaterThan(1);
      // The outputs of tasks that ran inline were carried across continue-as-new (no task workflow holds them).
      expect(Object.keys(result.outputs)).toHaveLength(80);
      expect(result.outputs.m0).toMatchObject({ task: 'm0' });
      const view = (await (await fetch(`${api.base}/v1/plans/${body.id}`)).json()) as PlanView;
      expect(view.tasks.filter((t) => t.inline)).toHaveLength(80);
      const m0 = (await (await fetch(`${api.base}/v1/plans/${body.id}/tasks/m0`)).json()) as TaskView;
      expect(m0).toMatchObject({ state: 'completed', inline: true, output: { task: 'm0' } });
      // Listed once, not once per run.
      const listed = await eventually(async () => {
        const r = await fetch(`${api.base}/v1/plans?limit=1000`);
        const plans = ((await r.json()) as { plans: { planId: string; status: string }[] }).plans.filter(
          (p) => p.planId === body.id,
        );
        return plans.length > 0 && plans.every((p) => p.status === 'completed') ? plans : undefined;
      }, 'the plan in the list');
      expect(listed).toHaveLength(1);
      const again = await post();
      expect(again.status).toBe(200);
      expect(((await again.json()) as { status: string }).status).toBe('completed');
    } finally {
      await api.close();
    }
  });
});
