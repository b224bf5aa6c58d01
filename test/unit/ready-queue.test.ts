import { ReadyQueue } from '../../src/workflows/ready-queue';
import type { TaskSpec } from '../../src/shared/task';
import type { TaskState } from '../../src/shared/task';

const entry = (id: string, index: number, priority: number, eligibleTypes: string[]) => ({
  spec: {
    id,
    priority,
    eligibleTypes,
    agentType: eligibleTypes[0] ?? 'generalist',
    dependsOn: [],
  } as unknown as TaskSpec,
  index,
  state: 'pending' as TaskState,
});

describe('ReadyQueue (pure)', () => {
  test('pops by priority, then plan order, among the types that can start', () => {
    const q = new ReadyQueue<ReturnType<typeof entry>>();
    q.push(entry('w-low', 0, 0, ['writer']));
    q.push(entry('r-high', 1, 5, ['researcher']));
    q.push(entry('w-high', 2, 5, ['writer']));
    expect(q.pop()?.spec.id).toBe('r-high');
    expect(q.pop((types) => types[0] === 'writer')?.spec.id).toBe('w-high');
    expect(q.pop((types) => types[0] === 'researcher')).toBeUndefined();
    expect(q.pop()?.spec.id).toBe('w-low');
    expect(q.hasReady()).toBe(false);
  });

  test('tasks that ended while queued are dropped; shortfalls share the room by priority', () => {
    const q = new ReadyQueue<ReturnType<typeof entry>>();
    const gone = entry('gone', 0, 9, ['writer']);
    q.push(gone);
    for (let i = 1; i <= 4; i++) q.push(entry(`w${i}`, i, 1, ['writer']));
    for (let i = 5; i <= 7; i++) q.push(entry(`r${i}`, i, 3, ['researcher']));
    gone.state = 'cancelled';
    expect(q.shortfalls(5)).toEqual([
      { types: ['researcher'], count: 3, taskId: 'r5', priority: 3 },
      { types: ['writer'], count: 2, taskId: 'w1', priority: 1 },
    ]);
    expect(q.shortfalls(0)).toEqual([]);
  });
});
