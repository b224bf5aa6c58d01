import { planRerun, type RerunSource } from '../../src/api/plans/rerun-plan';
import { checkPlan } from '../../src/shared/plan-check';
import type { PlanInput } from '../../src/shared/plan';
import { DEFAULT_REGISTRY } from '../../src/shared/registry';
import type { TaskState, TaskView } from '../../src/shared/task';
import { flattenTasks } from '../../src/api/plans/tasks';

/** A source plan: checked like a submission, its tasks ended as `states` says (completed unless named). */
function source(
  body: PlanInput,
  states: Record<string, TaskState> = {},
  extra: Partial<RerunSource> = {},
): RerunSource {
  const checked = checkPlan(body, DEFAULT_REGISTRY, { maxTasks: 100 }, () => 'src');
  if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
  const view = (t: (typeof checked.plan.tasks)[number]): TaskView => ({
    id: t.id,
    state: states[t.id] ?? 'completed',
    agentType: t.agentType,
    attempts: 1,
    assignments: [],
    subtasks: t.subtasks.map(view),
  });
  return { planId: 'src', spec: checked.plan, tasks: checked.plan.tasks.map(view), kept: {}, ...extra };
}

const chain: PlanInput = {
  tasks: [
    { id: 'a', description: 'a' },
    { id: 'b', description: 'b', dependsOn: ['a'] },
    { id: 'c', description: 'c', dependsOn: ['b'] },
    { id: 'x', description: 'x' },
  ],
};

describe('planRerun: what a rerun runs and what it reuses', () => {
  test('from a task: it and its dependants run, the rest is reused from the source', () => {
    const r = planRerun(source(chain), { from: ['b'] }, DEFAULT_REGISTRY);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.plan.runs).toEqual(['b', 'c']);
    expect(r.plan.seed).toEqual({ of: 'src', reused: { src: ['a', 'x'] } });
  });

  test('"failed": every failed, skipped or cancelled task, and tasks that never completed run', () => {
    const r = planRerun(
      source(chain, { b: 'failed', c: 'skipped', x: 'executing' }),
      { from: 'failed' },
      DEFAULT_REGISTRY,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.plan.runs).toEqual(['b', 'c', 'x']);
    expect(r.plan.seed.reused).toEqual({ src: ['a'] });
  });

  test('a chain reuses from the plan that ran each task; inline outputs travel as values', () => {
    const src = source(
      chain,
      {},
      { seed: { of: 'first', reused: { first: ['a'] }, kept: { x: { from: 'first', output: 7 } } } },
    );
    (src.tasks[0] as TaskView).reusedFrom = 'first';
    (src.tasks[3] as TaskView).reusedFrom = 'first';
    const inline = source(chain, {}, { kept: { b: 'b-out' } });
    (inline.tasks[1] as TaskView).inline = true;
    const r = planRerun(src, { from: ['c'] }, DEFAULT_REGISTRY);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.plan.seed).toEqual({
      of: 'src',
      reused: { first: ['a'], src: ['b'] },
      kept: { x: { from: 'first', output: 7 } },
    });
    const r2 = planRerun(inline, { from: ['c'] }, DEFAULT_REGISTRY);
    if (!r2.ok) throw new Error(JSON.stringify(r2.issues));
    expect(r2.plan.seed.kept).toEqual({ b: { from: 'src', output: 'b-out' } });
  });

  test('a leaf at depth: its coordinators run again, their other sub-agents are reused; sequential levels chain', () => {
    const body: PlanInput = {
      tasks: [
        {
          id: 'boss',
          description: 'boss',
          subtasks: [
            {
              id: 'mid',
              description: 'mid',
              subtaskMode: 'sequential',
              subtasks: ['l1', 'l2', 'l3'].map((id) => ({ id, description: id, capabilities: ['research'] })),
            },
            { id: 'side', description: 'side', capabilities: ['writing'] },
          ],
        },
        { id: 'after', description: 'after', dependsOn: ['boss'] },
      ],
    };
    const r = planRerun(source(body), { from: ['l2'] }, DEFAULT_REGISTRY);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.plan.runs).toEqual(['boss', 'mid', 'l2', 'l3', 'after']);
    expect(r.plan.seed.reused).toEqual({ src: ['l1', 'side'] });
  });

  test('overrides: a task with one runs; its fields change and its agent type follows new capabilities', () => {
    const r = planRerun(
      source(chain),
      { from: [], overrides: { x: { description: 'x again', capabilities: ['writing'] } } },
      DEFAULT_REGISTRY,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.plan.runs).toEqual(['x']);
    const x = r.plan.body.tasks.find((t) => t.id === 'x');
    expect(x).toMatchObject({ description: 'x again', capabilities: ['writing'] });
    expect(x?.agentType).toBeUndefined();
    const again = checkPlan({ ...r.plan.body, id: 'new' }, DEFAULT_REGISTRY, { maxTasks: 100 }, () => 'n');
    expect(again.ok && again.plan.tasks.find((t) => t.id === 'x')?.agentType).toBe('writer');
  });

  test('unknown tasks, sub-agents made by reasoning and nothing to do are refused with the reason', () => {
    const src = source(chain);
    (src.tasks[0] as TaskView).subtasks = [
      { id: 'a.p1', state: 'completed', agentType: 'researcher', attempts: 1, assignments: [], subtasks: [] },
    ];
    const messages = (r: ReturnType<typeof planRerun>) => (r.ok ? [] : r.issues.map((i) => i.message));
    expect(messages(planRerun(src, { from: ['nope'] }, DEFAULT_REGISTRY))).toEqual(['no task "nope" in plan "src"']);
    expect(messages(planRerun(src, { from: ['a.p1'] }, DEFAULT_REGISTRY))[0]).toMatch(/reasoning.*rerun "a"/);
    expect(messages(planRerun(src, { from: 'failed' }, DEFAULT_REGISTRY))[0]).toMatch(/nothing to rerun/);
    expect(messages(planRerun(src, { from: [] }, DEFAULT_REGISTRY))[0]).toMatch(/nothing to rerun/);
    expect(flattenTasks(src.tasks).length).toBe(5);
  });
});
