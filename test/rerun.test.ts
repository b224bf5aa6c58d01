import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { OfflineRuntime } from '../src/activities/offline-runtime';
import type { AiRuntime } from '../src/activities/types';
import { Failure } from '../src/shared/errors';
import type { PlanResult, PlanView } from '../src/shared/plan';
import { RerunOfKey } from '../src/shared/search-attributes';
import type { TaskView } from '../src/shared/task';
import { eventually, startHarness, startInProcessApi, uniqueId, type Harness } from './support/harness';

/**
 * The offline runtime, counting how often each task reasons (once per execution), and refusing to work task "t4"
 * without `input.customer`: the scripted model of a task that fails for want of an input.
 */
const executions = new Map<string, number>();
/** The dependencies each task's last execution saw (resolved: the agent sees outputs, never references). */
const seenDeps = new Map<string, Record<string, unknown>>();
function countingRuntime(): AiRuntime {
  const offline = new OfflineRuntime();
  return {
    reason: (ctx, control) => {
      executions.set(ctx.taskId, (executions.get(ctx.taskId) ?? 0) + 1);
      seenDeps.set(ctx.taskId, ctx.dependencies);
      if (ctx.taskId.endsWith('t4') && ctx.input?.customer === undefined)
        throw ApplicationFailure.nonRetryable(`task "${ctx.taskId}" needs input.customer`, Failure.BadInput);
      return offline.reason(ctx, control);
    },
    act: (ctx, control, env) => offline.act(ctx, control, env),
    validate: (ctx, control) => offline.validate(ctx, control),
    review: (ctx, control) => offline.review(ctx, control),
  };
}
const ran = (id: string) => executions.get(id) ?? 0;

let h: Harness;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
beforeAll(async () => {
  h = await startHarness({ deps: { runtime: () => countingRuntime() } });
  api = await startInProcessApi(h);
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field
type Json = any;
async function http(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${api.base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}
const result = async (planId: string): Promise<PlanResult> => {
  const r = await http('GET', `/v1/plans/${planId}/result?wait=30`);
  expect(r.status).toBe(200);
  return r.json as PlanResult;
};
const view = async (planId: string): Promise<PlanView> => (await http('GET', `/v1/plans/${planId}`)).json as PlanView;
const find = (tasks: TaskView[], id: string): TaskView | undefined =>
  tasks.find((t) => t.id === id) ?? tasks.map((t) => find(t.subtasks, id)).find(Boolean);
const byId = (tasks: TaskView[], id: string): TaskView => {
  const found = find(tasks, id);
  if (!found) throw new Error(`no task ${id}`);
  return found;
};

describe('rerun: a plan goes back to any task and goes on from there', () => {
  test('a 5-task DAG failing at its 4th task for want of an input: rerun from it, then a rerun of the rerun', async () => {
    const p = uniqueId('rr');
    const t = (id: string) => `${p}-${id}`;
    const plan = {
      id: p,
      tasks: [
        { id: t('t1'), description: 'gather' },
        { id: t('t2'), description: 'outline', dependsOn: [t('t1')] },
        { id: t('t3'), description: 'draft', dependsOn: [t('t2')] },
        { id: t('t4'), description: 'address the customer', input: { tone: 'plain' }, dependsOn: [t('t3')] },
        { id: t('t5'), description: 'publish', dependsOn: [t('t4')] },
      ],
    };
    expect((await http('POST', '/v1/plans', plan)).status).toBe(202);
    const first = await result(p);
    expect(first.status).toBe('failed');
    expect(first.errors[t('t4')]?.state).toBe('failed');
    expect(first.errors[t('t5')]?.state).toBe('skipped');
    expect([1, 2, 3, 4].map((n) => ran(t(`t${n}`)))).toEqual([1, 1, 1, 1]);

    // Rerun from t4 with the input it lacked: t1–t3 are reused, not executed again.
    const fork = `${p}-fork`;
    const r = await http('POST', `/v1/plans/${p}/rerun`, {
      id: fork,
      from: [t('t4')],
      overrides: { [t('t4')]: { input: { tone: 'plain', customer: 'acme' } } },
    });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ planId: fork, rerunOf: p, runs: [t('t4'), t('t5')] });
    expect(r.json.reused).toEqual({ [t('t1')]: p, [t('t2')]: p, [t('t3')]: p });
    const second = await result(fork);
    expect(second.status).toBe('completed');
    expect([1, 2, 3, 4, 5].map((n) => ran(t(`t${n}`)))).toEqual([1, 1, 1, 2, 1]);
    expect(second).toMatchObject({ rerunOf: p, reused: { [t('t1')]: p, [t('t2')]: p, [t('t3')]: p } });
    expect(Object.keys(second.outputs).sort()).toEqual([1, 2, 3, 4, 5].map((n) => t(`t${n}`)));
    expect(second.outputs[t('t3')]).toEqual(first.outputs[t('t3')]);
    // The reused output reached t4 as the output itself, read from the first plan.
    expect(seenDeps.get(t('t4'))?.[t('t3')]).toBeDefined();
    expect(JSON.stringify(seenDeps.get(t('t4')))).not.toContain('$taskResult');
    // Reused tasks cost nothing and say so.
    expect(second.usage?.reused?.sort()).toEqual([t('t1'), t('t2'), t('t3')]);
    const v = await view(fork);
    expect(v.rerunOf).toBe(p);
    expect(byId(v.tasks, t('t2'))).toMatchObject({ state: 'completed', reused: true, reusedFrom: p });
    expect(byId(v.tasks, t('t4')).reused).toBeUndefined();
    const detail = await http('GET', `/v1/plans/${fork}/tasks/${t('t2')}`);
    expect(detail.json).toMatchObject({ reused: true, reusedFrom: p, output: first.outputs[t('t2')] });

    // A rerun of the rerun, from t2: t1 is reused from the original plan, not from the fork.
    const again = await http('POST', `/v1/plans/${fork}/rerun`, { id: `${p}-again`, from: [t('t2')] });
    expect(again.status).toBe(202);
    expect(again.json.reused).toEqual({ [t('t1')]: p });
    const third = await result(`${p}-again`);
    expect(third.status).toBe('completed');
    expect([1, 2, 3, 4, 5].map((n) => ran(t(`t${n}`)))).toEqual([1, 2, 2, 3, 2]);
    expect(byId((await view(`${p}-again`)).tasks, t('t1'))).toMatchObject({ reused: true, reusedFrom: p });

    // The same rerun asked again answers as the plan it started; the RerunOf search attribute finds the forks.
    const repeat = await http('POST', `/v1/plans/${fork}/rerun`, { id: `${p}-again`, from: [t('t2')] });
    expect(repeat.status).toBe(200);
    const forks = await eventually(async () => {
      const list = await http('GET', `/v1/plans?rerunOf=${p}`);
      return list.json.plans.length === 1 ? list.json.plans : undefined;
    }, 'the fork in the listing');
    expect(forks[0]).toMatchObject({ planId: fork, rerunOf: p });
    const described = await h.client.workflow.getHandle(`plan-${fork}`).describe();
    expect(described.typedSearchAttributes.get(RerunOfKey)).toBe(p);
  });

  test('at depth 3: a rerun of one leaf reuses its siblings and the coordinators above it synthesize again', async () => {
    const p = uniqueId('rr3');
    const t = (id: string) => `${p}-${id}`;
    const plan = {
      id: p,
      tasks: [
        {
          id: t('boss'),
          description: 'a report',
          subtasks: [
            {
              id: t('mid'),
              description: 'the research',
              subtasks: [
                { id: t('l1'), description: 'facts', capabilities: ['research'] },
                { id: t('l2'), description: 'figures', capabilities: ['research'] },
                { id: t('l3'), description: 'quotes', capabilities: ['research'], dependsOn: [t('l2')] },
              ],
            },
            { id: t('side'), description: 'a summary', capabilities: ['writing'] },
          ],
        },
        { id: t('after'), description: 'publish', dependsOn: [t('boss')] },
        { id: t('aside'), description: 'unrelated' },
      ],
    };
    expect((await http('POST', '/v1/plans', plan)).status).toBe(202);
    expect((await result(p)).status).toBe('completed');
    const once = ['boss', 'mid', 'l1', 'l2', 'l3', 'side', 'after', 'aside'].map((id) => ran(t(id)));
    expect(once).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);

    const r = await http('POST', `/v1/plans/${p}/rerun`, {
      id: `${p}-fork`,
      from: [t('l2')],
      overrides: { [t('l2')]: { description: 'figures, rounded' } },
    });
    expect(r.status).toBe(202);
    expect(r.json.runs).toEqual([t('boss'), t('mid'), t('l2'), t('l3'), t('after')]);
    expect(r.json.reused).toEqual({ [t('l1')]: p, [t('side')]: p, [t('aside')]: p });
    const res = await result(`${p}-fork`);
    expect(res.status).toBe('completed');
    // The leaf and its dependant ran again, the coordinators above synthesized again; the siblings did not run.
    const twice = ['boss', 'mid', 'l1', 'l2', 'l3', 'side', 'after', 'aside'].map((id) => ran(t(id)));
    expect(twice).toEqual([2, 2, 1, 2, 2, 1, 2, 1]);
    const v = await view(`${p}-fork`);
    expect(byId(v.tasks, t('l1'))).toMatchObject({ state: 'completed', reused: true, reusedFrom: p });
    expect(byId(v.tasks, t('side'))).toMatchObject({ state: 'completed', reused: true, reusedFrom: p });
    expect(byId(v.tasks, t('mid')).reused).toBeUndefined();
    // The override changed the description only: the leaf keeps its capabilities and so its agent type.
    expect(byId(v.tasks, t('l2')).agentType).toBe(byId((await view(p)).tasks, t('l2')).agentType);
    expect(byId(v.tasks, t('l2')).agentType).toBe('researcher');
    // The coordinators synthesized from every sub-agent's output, the reused ones read from the first plan.
    const boss = res.outputs[t('boss')] as { subtasks: Record<string, { subtasks: Record<string, unknown> }> };
    expect(Object.keys(boss.subtasks).sort()).toEqual([t('mid'), t('side')].sort());
    expect(Object.keys(boss.subtasks[t('mid')]?.subtasks ?? {}).sort()).toEqual([t('l1'), t('l2'), t('l3')].sort());
    expect(JSON.stringify(res.outputs)).not.toContain('$taskResult');
    expect(res.tasks?.[t('l1')]).toMatchObject({ state: 'completed' });
    expect((res.tasks?.[t('l1')] as { output?: unknown }).output).toBeDefined();

    // A fork that reused the whole tree ("after" only), then a rerun of a leaf from that fork: the leaf's siblings
    // are reused from the plan that ran them, the first one.
    const whole = await http('POST', `/v1/plans/${p}-fork/rerun`, { id: `${p}-after`, from: [t('after')] });
    expect(whole.json.reused).toEqual({ [t('boss')]: `${p}-fork`, [t('aside')]: p });
    expect((await result(`${p}-after`)).status).toBe('completed');
    const leaf = await http('POST', `/v1/plans/${p}-after/rerun`, { id: `${p}-leaf`, from: [t('l3')] });
    expect(leaf.status).toBe(202);
    expect(leaf.json.runs).toEqual([t('boss'), t('mid'), t('l3'), t('after')]);
    expect(leaf.json.reused).toEqual({ [t('l1')]: p, [t('l2')]: `${p}-fork`, [t('side')]: p, [t('aside')]: p });
  });

  test('a running plan can be rerun: it is left alone, the fork reuses what has completed so far', async () => {
    const p = uniqueId('rrlive');
    const plan = {
      id: p,
      tasks: [
        { id: 'done', description: 'quick' },
        { id: 'slow', description: 'slow', input: { simulate: { latencyMs: 2_000 } }, dependsOn: ['done'] },
      ],
    };
    expect((await http('POST', '/v1/plans', plan)).status).toBe(202);
    await eventually(async () => {
      const v = await view(p);
      return v.tasks.find((x) => x.id === 'done')?.state === 'completed' ? v : undefined;
    }, 'the first task to complete');
    const r = await http('POST', `/v1/plans/${p}/rerun`, {
      from: ['slow'],
      overrides: { slow: { input: { simulate: { latencyMs: 10 } } } },
    });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ runs: ['slow'], reused: { done: p } });
    expect((await result(r.json.planId)).status).toBe('completed');
    // The source went on as it was: its slow task ran to the end once.
    const source = await result(p);
    expect(source.status).toBe('completed');
    expect(source.rerunOf).toBeUndefined();
    expect(ran('done')).toBe(1);
  });

  test('a rerun that cannot be honoured is refused with a 4xx, and nothing starts', async () => {
    const p = uniqueId('rrbad');
    const plan = {
      id: p,
      tasks: [
        { id: 'a', description: 'a' },
        { id: 'b', description: 'b', dependsOn: ['a'] },
      ],
    };
    expect((await http('POST', '/v1/plans', plan)).status).toBe(202);
    expect((await result(p)).status).toBe('completed');
    const refuse = async (body: unknown, status: number, message: RegExp) => {
      const id = uniqueId('never');
      const r = await http('POST', `/v1/plans/${p}/rerun`, { id, ...(body as object) });
      expect(r.status).toBe(status);
      expect(r.json.error.message).toMatch(message);
      expect((await http('GET', `/v1/plans/${id}`)).status).toBe(404);
    };
    await refuse({ from: ['nope'] }, 400, /no task "nope"/);
    await refuse({ from: 'failed' }, 400, /nothing to rerun/);
    await refuse({ from: ['a'], overrides: { a: { capabilities: ['telepathy'] } } }, 400, /telepathy/);
    await refuse({ from: ['a'], overrides: { a: { output: { schema: { type: 'nonsense' } } } } }, 400, /schema/);
    await refuse({ from: ['a'], overrides: { zz: { description: 'x' } } }, 400, /no task "zz"/);
    expect((await http('POST', `/v1/plans/no-such-plan/rerun`, { from: ['a'] })).status).toBe(404);
  });

  test('a reused output gone from the blob store refuses the rerun (409) naming the task', async () => {
    const p = uniqueId('rrgone');
    // Over BLOB_THRESHOLD_BYTES: the output is kept in the blob store, the plan holds a claim check.
    const big = `${p} ${'x'.repeat(140_000)}`;
    const plan = {
      id: p,
      tasks: [
        { id: 'big', description: 'a large output', input: { simulate: { output: big } } },
        { id: 'd', description: 'after', dependsOn: ['big'] },
      ],
    };
    expect((await http('POST', '/v1/plans', plan)).status).toBe(202);
    expect((await result(p)).outputs.big).toBe(big);
    // The blob store expires what the plan refers to (a lifecycle rule, a cleanup): remove that blob.
    const raw = await h.client.workflow.getHandle(`plan-${p}`).result();
    const ref = (raw as PlanResult).outputs.big as { $blob: string };
    const hex = ref.$blob.replace('sha256:', '');
    await rm(join(process.env.TEST_BLOB_DIR as string, hex.slice(0, 2), `${hex}.json`));
    const id = uniqueId('never');
    const r = await http('POST', `/v1/plans/${p}/rerun`, { id, from: ['d'] });
    expect(r.status).toBe(409);
    expect(r.json.error.message).toMatch(/task "big" can no longer be read \(blob .* is missing/);
    expect((await http('GET', `/v1/plans/${id}`)).status).toBe(404);
    // Rerunning the lost task too is honoured.
    const ok = await http('POST', `/v1/plans/${p}/rerun`, { from: ['big'] });
    expect(ok.status).toBe(202);
    expect((await result(ok.json.planId)).status).toBe('completed');
  });
});
