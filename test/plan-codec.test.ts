import { checkPlan } from '../src/shared/plan';
import { compactPlan, expandPlan } from '../src/shared/plan-codec';
import { DEFAULT_REGISTRY } from '../src/shared/registry';

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
    expect(expandPlan(JSON.parse(JSON.stringify(compactPlan(r.plan))))).toEqual(JSON.parse(JSON.stringify(r.plan)));
  });

  test('a 10,000-task plan fits far under the 2 MB payload limit', () => {
    const r = checkPlan(
      { tasks: Array.from({ length: 10_000 }, (_, i) => ({ id: `t${i}`, description: 'x' })) },
      DEFAULT_REGISTRY,
      { maxTasks: 10_000 },
      () => 'p',
    );
    if (!r.ok) throw new Error('invalid');
    expect(JSON.stringify(compactPlan(r.plan)).length).toBeLessThan(1_000_000);
  });
});
