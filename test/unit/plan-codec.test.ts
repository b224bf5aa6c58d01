import { checkPlan } from '../../src/shared/plan-check';
import { compactPlan, expandPlan } from '../../src/shared/plan-codec';
import { TASK_DEFAULTS } from '../../src/shared/task';
import { DEFAULT_SETTINGS } from '../../src/shared/settings';
import { settingsOf } from '../../src/workflows/lazy-schemas';
import { DEFAULT_REGISTRY } from '../../src/shared/registry';
import { DagExecutor, type CarriedRecord } from '../../src/workflows/dag';

describe('plan codec', () => {
  test('compact then expand gives back the same plan, subtasks and non-default fields included', () => {
    const r = checkPlan(
      {
        id: 'p',
        mode: 'sequential',
        failurePolicy: 'continue',
        tasks: [
          { id: 'a', description: 'x', capabilities: ['research'], priority: 3, optional: true, input: { k: [1, 2] } },
          { id: 'b', description: 'y', requiresApproval: true, onInputTimeout: 'default', defaultInput: false },
          {
            id: 'c',
            description: 'z',
            subtaskMode: 'sequential',
            subtasks: [{ id: 'c1', description: 'w', maxRetries: 0 }],
          },
        ],
      },
      DEFAULT_REGISTRY,
      { maxTasks: 100 },
      () => 'p',
    );
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const compact = JSON.parse(JSON.stringify(compactPlan(r.plan, TASK_DEFAULTS)));
    const fallback = jest.fn(() => ({}));
    expect(expandPlan(compact, fallback)).toEqual(JSON.parse(JSON.stringify(r.plan)));
    expect(fallback).not.toHaveBeenCalled(); // the defaults travelled with the plan
    // A plan compacted before its defaults travelled with it expands with the schema's (the workflow loads them then).
    delete compact.defaults;
    expect(expandPlan(compact, () => TASK_DEFAULTS)).toEqual(JSON.parse(JSON.stringify(r.plan)));
  });

  test('a 10,000-task plan fits far under the 2 MB payload limit', () => {
    const r = checkPlan(
      { tasks: Array.from({ length: 10_000 }, (_, i) => ({ id: `t${i}`, description: 'x' })) },
      DEFAULT_REGISTRY,
      { maxTasks: 10_000 },
      () => 'p',
    );
    if (!r.ok) throw new Error('invalid');
    expect(JSON.stringify(compactPlan(r.plan, TASK_DEFAULTS)).length).toBeLessThan(1_000_000);
  });
});

describe('continue-as-new state of a big plan', () => {
  test('10,000 finished tasks plus the compact plan stay under the 2 MB payload limit, and survive a round trip', () => {
    const r = checkPlan(
      { tasks: Array.from({ length: 10_000 }, (_, i) => ({ id: `t${i}`, description: 'x' })) },
      DEFAULT_REGISTRY,
      { maxTasks: 10_000 },
      () => 'plan-with-a-long-id-0123456789',
    );
    if (!r.ok) throw new Error('invalid');
    const now = Date.parse('2026-11-24T12:00:00Z');
    const carried = {
      paused: false,
      records: r.plan.tasks.map((t, i): CarriedRecord => [
        t.id,
        'completed',
        `generalist-${i % 100}`,
        1,
        now,
        now + 1500,
      ]),
    };
    const ref = (taskId: string) => ({ $taskResult: `plan-x-task-${taskId}` });
    const dag = new DagExecutor(
      r.plan.tasks,
      { failurePolicy: 'fail-fast', maxConcurrency: 10 },
      () => Promise.reject(new Error('unused')),
      { outputRef: ref },
      carried,
    );
    const snapshot = dag.snapshot();
    expect(JSON.stringify({ plan: compactPlan(r.plan, TASK_DEFAULTS), carried: snapshot }).length).toBeLessThan(
      1_900_000,
    );
    expect(snapshot).toEqual(carried);
    expect(dag.progress()).toMatchObject({ total: 10_000, completed: 10_000 });
    expect(dag.outputs().t42).toEqual(ref('t42'));
    expect(dag.views()[7]).toMatchObject({
      id: 't7',
      state: 'completed',
      agentId: 'generalist-7',
      assignments: [{ agentId: 'generalist-7', outcome: 'completed' }],
    });
  });
});

describe("a plan's settings", () => {
  test('complete settings are taken as given; missing ones (older APIs, plans started by hand) take the defaults', () => {
    const given = { ...DEFAULT_SETTINGS, poolId: 'pool-x', planHistoryLimit: 500 };
    expect(settingsOf(given)).toBe(given);
    const { planHistoryLimit: _dropped, ...partial } = given;
    expect(settingsOf(partial)).toEqual({ ...given, planHistoryLimit: DEFAULT_SETTINGS.planHistoryLimit });
    expect(settingsOf(undefined)).toEqual(DEFAULT_SETTINGS);
  });
});
