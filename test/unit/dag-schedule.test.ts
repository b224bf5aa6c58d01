import { DagSchedule, inSequence, type DagOptions } from '../../src/workflows/dag-schedule';
import type { TaskRecord } from '../../src/workflows/dag-carry';
import { Failure } from '../../src/shared/errors';
import { checkPlan } from '../../src/shared/plan-check';
import { type TaskSpec } from '../../src/shared/task';
import { DEFAULT_REGISTRY } from '../../src/shared/registry';
import type { TaskError } from '../../src/shared/task';

/** The DAG scheduler's decisions without a workflow: what DagExecutor starts, in which order, and what a failure does. */
const spec = (id: string, over: Partial<TaskSpec> = {}): TaskSpec => ({
  id,
  capabilities: [],
  agentType: 'generalist',
  eligibleTypes: ['generalist'],
  dependsOn: [],
  optional: false,
  priority: 0,
  maxReassignments: 2,
  requiresApproval: false,
  awaitInput: false,
  inputTimeoutSeconds: 3_600,
  onInputTimeout: 'fail',
  subtaskMode: 'parallel',
  subtasks: [],
  ...over,
});
const failed: TaskError = { message: 'boom', type: 'TaskFailed' };

/** Plays DagExecutor's part: starts what the schedule hands out (as far as maxConcurrency allows) and reports ends. */
function drive(tasks: TaskSpec[], options: Partial<DagOptions> = {}, schedule?: DagSchedule) {
  const s = schedule ?? new DagSchedule(tasks, { failurePolicy: 'fail-fast', maxConcurrency: 10, ...options });
  const running = new Map<string, TaskRecord>();
  const take = (id: string): TaskRecord => {
    const rec = running.get(id);
    if (!rec) throw new Error(`"${id}" is not running (running: ${[...running.keys()].join(', ')})`);
    running.delete(id);
    return rec;
  };
  const inputs: Record<string, Record<string, unknown>> = {};
  return {
    s,
    running,
    inputs,
    /** Starts every task the schedule hands out now (none once it is stopping, as DagExecutor does); returns their ids. */
    launch(canStart?: (types: string[]) => boolean): string[] {
      const ids: string[] = [];
      if (s.stopping || s.paused) return ids;
      for (let rec = s.next(running.size, canStart); rec; rec = s.next(running.size, canStart)) {
        inputs[rec.spec.id] = s.started(rec, `agent-${rec.spec.id}`);
        running.set(rec.spec.id, rec);
        ids.push(rec.spec.id);
      }
      return ids;
    },
    complete(id: string): void {
      s.completed(take(id), {
        taskId: id,
        agentId: `agent-${id}`,
        agentType: 'generalist',
        attempts: 1,
        output: `output of ${id}`,
        assignments: [{ agentId: `agent-${id}`, agentType: 'generalist', outcome: 'completed' }],
        subtasks: [],
      });
    },
    /**
     * Reports a failure, with who tried it as a failed task workflow's details tell DagExecutor; returns whether the
     * schedule asks for the running tasks to be cancelled.
     */
    fail(id: string, error = failed): boolean {
      const rec = take(id);
      rec.attempts = 1;
      rec.assignments = [{ agentId: `agent-${id}`, agentType: 'generalist', outcome: 'failed' }];
      return s.ended(rec, { error });
    },
    cancelled(id: string): void {
      s.ended(take(id), { cancelled: true });
    },
    state: (): Record<string, string> => Object.fromEntries(s.views().map((v) => [v.id, v.state])),
    reasons: (): Record<string, string | undefined> =>
      Object.fromEntries(
        s
          .views()
          .filter((v) => v.reason)
          .map((v) => [v.id, v.reason]),
      ),
  };
}

/** a → (b, c) → d */
const diamond = () => [
  spec('a'),
  spec('b', { dependsOn: ['a'] }),
  spec('c', { dependsOn: ['a'] }),
  spec('d', { dependsOn: ['b', 'c'] }),
];

describe('DagSchedule (pure)', () => {
  describe('ordering', () => {
    test('a task starts only once all its dependencies completed, and gets their outputs', () => {
      const d = drive(diamond());
      expect(d.launch()).toEqual(['a']);
      d.complete('a');
      expect(d.launch()).toEqual(['b', 'c']);
      d.complete('b');
      expect(d.launch()).toEqual([]);
      d.complete('c');
      expect(d.launch()).toEqual(['d']);
      expect(d.inputs.d).toEqual({ b: 'output of b', c: 'output of c' });
      expect(d.inputs.a).toEqual({});
      d.complete('d');
      expect(d.s.hasReady()).toBe(false);
      expect(d.s.progress()).toEqual({
        total: 4,
        pending: 0,
        running: 0,
        completed: 4,
        failed: 0,
        skipped: 0,
        cancelled: 0,
      });
      expect(d.s.hasRequiredFailure()).toBe(false);
    });

    test('ready tasks start highest priority first, ties in plan order', () => {
      const d = drive(
        [
          spec('p0-first'),
          spec('p2', { priority: 2 }),
          spec('p0-second'),
          spec('p9', { priority: 9 }),
          spec('minus', { priority: -1 }),
          spec('p2-later', { priority: 2 }),
        ],
        { maxConcurrency: 1 },
      );
      const order: string[] = [];
      for (let i = 0; i < 6; i++) {
        const [id] = d.launch();
        order.push(id as string);
        d.complete(id as string);
      }
      expect(order).toEqual(['p9', 'p2', 'p2-later', 'p0-first', 'p0-second', 'minus']);
    });

    test('a task unblocked later overtakes ready tasks of lower priority', () => {
      const d = drive(
        [spec('gate'), spec('low-1'), spec('low-2'), spec('urgent', { priority: 5, dependsOn: ['gate'] })],
        { maxConcurrency: 1 },
      );
      expect(d.launch()).toEqual(['gate']);
      d.complete('gate');
      expect(d.launch()).toEqual(['urgent']);
    });

    test('tasks whose agent types cannot start now wait, without holding back others', () => {
      const d = drive([
        spec('write', { priority: 5, agentType: 'writer', eligibleTypes: ['writer'] }),
        spec('research', { agentType: 'researcher', eligibleTypes: ['researcher'] }),
      ]);
      expect(d.launch((types) => types.includes('researcher'))).toEqual(['research']);
      expect(d.s.shortfalls(d.running.size)).toEqual([{ types: ['writer'], count: 1, taskId: 'write', priority: 5 }]);
      expect(d.launch()).toEqual(['write']);
    });
  });

  describe('maxConcurrency', () => {
    test('never more than maxConcurrency tasks run at once; a finished one makes room for the next', () => {
      const d = drive(
        ['t1', 't2', 't3', 't4', 't5'].map((id) => spec(id)),
        { maxConcurrency: 2 },
      );
      expect(d.launch()).toEqual(['t1', 't2']);
      expect(d.s.next(2)).toBeUndefined();
      expect(d.s.progress()).toMatchObject({ running: 2, pending: 3 });
      d.complete('t2');
      expect(d.launch()).toEqual(['t3']);
      expect(d.launch()).toEqual([]);
    });

    test('the agents asked for are what the ready tasks need, within the room maxConcurrency leaves', () => {
      const d = drive(
        ['t1', 't2', 't3', 't4', 't5'].map((id) => spec(id)),
        { maxConcurrency: 3 },
      );
      expect(d.s.shortfalls(0)).toEqual([{ types: ['generalist'], count: 3, taskId: 't1', priority: 0 }]);
      expect(d.launch()).toEqual(['t1', 't2', 't3']);
      expect(d.s.shortfalls(d.running.size)).toEqual([]);
    });
  });

  describe('sequential mode', () => {
    test('a sequential plan runs its tasks one after another, in plan order, whatever their priorities', () => {
      const checked = checkPlan(
        {
          mode: 'sequential',
          tasks: [
            { id: 's1', description: 'step', agentType: 'generalist' },
            { id: 's2', description: 'step', agentType: 'generalist', priority: 9 },
            { id: 's3', description: 'step', agentType: 'generalist', priority: 5 },
          ],
        },
        DEFAULT_REGISTRY,
        { maxTasks: 100 },
        () => 'plan-1',
      );
      if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
      const d = drive(checked.plan.tasks, { maxConcurrency: 10 });
      const order: string[] = [];
      for (let ids = d.launch(); ids.length > 0; ids = d.launch()) {
        expect(ids).toHaveLength(1);
        order.push(...ids);
        d.complete(ids[0] as string);
      }
      expect(order).toEqual(['s1', 's2', 's3']);
    });

    test('sequential sub-agents (inSequence) each depend on the one before, keeping their own dependencies', () => {
      const chained = inSequence([spec('x'), spec('y', { dependsOn: ['x'] }), spec('z', { dependsOn: ['w'] })]);
      expect(chained.map((t) => [t.id, t.dependsOn])).toEqual([
        ['x', []],
        ['y', ['x']],
        ['z', ['w', 'y']],
      ]);
    });
  });

  describe('failure policies', () => {
    test('fail-fast: the first required failure cancels the running tasks and skips everything not started', () => {
      const d = drive(
        [spec('ok'), spec('bad'), spec('slow'), spec('after-ok', { dependsOn: ['ok'] }), spec('queued')],
        { failurePolicy: 'fail-fast', maxConcurrency: 3 },
      );
      expect(d.launch()).toEqual(['ok', 'bad', 'slow']);
      d.complete('ok');
      expect(d.fail('bad')).toBe(true); // DagExecutor cancels the running tasks
      expect(d.s.failedFast).toBe('bad');
      expect(d.s.stopping).toBe(true);
      expect(d.launch()).toEqual([]);
      d.cancelled('slow');
      d.s.sweep();
      expect(d.state()).toEqual({
        ok: 'completed',
        bad: 'failed',
        slow: 'cancelled',
        'after-ok': 'skipped',
        queued: 'skipped',
      });
      expect(d.reasons()).toEqual({
        slow: 'task "bad" failed (fail-fast)',
        'after-ok': 'not started: task "bad" failed (fail-fast)',
        queued: 'not started: task "bad" failed (fail-fast)',
      });
      expect(d.s.errors().bad).toEqual({ ...failed, state: 'failed' });
      expect(d.s.hasRequiredFailure()).toBe(true);
    });

    test('fail-fast: a second failure while stopping cancels nothing more and does not change who failed first', () => {
      const d = drive([spec('first'), spec('second')], { failurePolicy: 'fail-fast' });
      d.launch();
      expect(d.fail('first')).toBe(true);
      expect(d.fail('second')).toBe(false);
      expect(d.s.failedFast).toBe('first');
    });

    test('continue: a failure skips only its dependants, at any depth; the rest of the plan runs on', () => {
      const d = drive(
        [
          spec('bad'),
          spec('child', { dependsOn: ['bad'] }),
          spec('grandchild', { dependsOn: ['child'] }),
          spec('other'),
          spec('after-other', { dependsOn: ['other'] }),
        ],
        { failurePolicy: 'continue' },
      );
      expect(d.launch()).toEqual(['bad', 'other']);
      expect(d.fail('bad')).toBe(false);
      expect(d.s.stopping).toBe(false);
      d.complete('other');
      expect(d.launch()).toEqual(['after-other']);
      d.complete('after-other');
      d.s.sweep();
      expect(d.state()).toEqual({
        bad: 'failed',
        child: 'skipped',
        grandchild: 'skipped',
        other: 'completed',
        'after-other': 'completed',
      });
      expect(d.reasons()).toEqual({ child: 'dependency "bad" failed', grandchild: 'dependency "bad" failed' });
      expect(d.s.failedFast).toBeUndefined();
      expect(Object.keys(d.s.errors())).toEqual(['bad', 'child', 'grandchild']);
      expect(d.s.anyCompleted()).toBe(true);
    });

    test.each(['fail-fast', 'continue'] as const)(
      '%s: an optional task that fails lets its dependants run and does not fail the plan',
      (failurePolicy) => {
        const d = drive(
          [spec('extra', { optional: true }), spec('main'), spec('uses-extra', { dependsOn: ['extra'] })],
          { failurePolicy },
        );
        expect(d.launch()).toEqual(['extra', 'main']);
        expect(d.fail('extra')).toBe(false);
        expect(d.s.stopping).toBe(false);
        expect(d.launch()).toEqual(['uses-extra']);
        expect(d.inputs['uses-extra']).toEqual({ extra: undefined });
        d.complete('main');
        d.complete('uses-extra');
        expect(d.state()).toMatchObject({ extra: 'failed', 'uses-extra': 'completed' });
        expect(d.s.hasRequiredFailure()).toBe(false);
      },
    );

    test('a task whose input timed out with onInputTimeout "skip" ends skipped, and so do its dependants', () => {
      const d = drive([spec('ask'), spec('next', { dependsOn: ['ask'] }), spec('free')], {
        failurePolicy: 'fail-fast',
      });
      d.launch();
      expect(d.fail('ask', { message: 'no input in time', type: Failure.InputTimeoutSkip })).toBe(false);
      expect(d.s.stopping).toBe(false);
      expect(d.state()).toMatchObject({ ask: 'skipped', next: 'skipped', free: 'assigned' });
      expect(d.reasons()).toEqual({ ask: 'no input in time', next: 'dependency "ask" was skipped' });
    });

    test('a budget stop starts nothing more; running tasks stopped by it and everything not started end skipped', () => {
      const d = drive([spec('running'), spec('later', { dependsOn: ['running'] }), spec('queued')], {
        maxConcurrency: 1,
      });
      d.launch();
      d.s.stop('budget_exhausted');
      d.s.stop('a later reason'); // the first stays
      expect(d.s.stopping).toBe(true);
      expect(d.fail('running', { message: 'out of budget', type: Failure.BudgetExhausted })).toBe(false);
      d.s.sweep();
      expect(d.state()).toEqual({ running: 'skipped', later: 'skipped', queued: 'skipped' });
      expect(d.reasons()).toEqual({
        running: 'budget_exhausted',
        later: 'budget_exhausted',
        queued: 'budget_exhausted',
      });
      expect(d.s.stopReason).toBe('budget_exhausted');
    });
  });

  describe('cancellation', () => {
    test('cancelling one pending task skips its dependants; a finished or unknown task cannot be cancelled', () => {
      const d = drive([spec('a'), spec('b'), spec('after-b', { dependsOn: ['b'] })], { maxConcurrency: 1 });
      expect(d.launch()).toEqual(['a']);
      expect(d.s.cancelPending('b', 'not needed')).toBe(true);
      expect(d.s.cancelPending('a', 'too late')).toBe(false); // running: DagExecutor cancels its child instead
      expect(d.s.cancelPending('nope', 'x')).toBe(false);
      d.complete('a');
      expect(d.launch()).toEqual([]);
      expect(d.state()).toEqual({ a: 'completed', b: 'cancelled', 'after-b': 'skipped' });
      expect(d.reasons()).toEqual({ b: 'not needed', 'after-b': 'dependency "b" was cancelled' });
    });

    test('a running task cancelled on its own is "cancelled by request" and its dependants are skipped', () => {
      const d = drive([spec('a'), spec('after-a', { dependsOn: ['a'] }), spec('free')], { failurePolicy: 'fail-fast' });
      d.launch();
      d.cancelled('a');
      expect(d.s.stopping).toBe(false);
      expect(d.state()).toMatchObject({ a: 'cancelled', 'after-a': 'skipped', free: 'assigned' });
      expect(d.reasons()).toEqual({ a: 'cancelled by request', 'after-a': 'dependency "a" was cancelled' });
    });

    test('cancelling the whole DAG: running tasks end "plan cancelled" and so does everything not started', () => {
      const d = drive([spec('a'), spec('after-a', { dependsOn: ['a'] }), spec('queued')], { maxConcurrency: 1 });
      d.launch();
      d.s.cancelAll();
      expect(d.s.stopping).toBe(true);
      d.cancelled('a');
      d.s.sweep();
      expect(d.state()).toEqual({ a: 'cancelled', 'after-a': 'cancelled', queued: 'cancelled' });
      expect(new Set(Object.values(d.reasons()))).toEqual(new Set(['plan cancelled']));
      expect(d.s.isCancelled()).toBe(true);
    });

    test('a task whose dependencies never completed ends skipped at the sweep', () => {
      // A budget stop in a sub-level reported as the task's own error, with this level not stopped.
      const d = drive([spec('a'), spec('after-a', { dependsOn: ['a'] })]);
      d.launch();
      d.fail('a', { message: 'out of budget', type: Failure.BudgetExhausted });
      expect(d.s.hasReady()).toBe(false);
      d.s.sweep();
      expect(d.reasons()).toEqual({ a: 'out of budget', 'after-a': 'not started: its dependencies never completed' });
    });
  });

  describe('continue-as-new', () => {
    const plan = () => [
      spec('done'),
      spec('opt', { optional: true }),
      spec('bad'),
      spec('after-bad', { dependsOn: ['bad'] }),
      spec('after-done', { dependsOn: ['done'], priority: 1 }),
      spec('after-opt', { dependsOn: ['opt'] }),
      spec('both', { dependsOn: ['done', 'after-done'] }),
      spec('fresh'),
    ];

    test('pack -> unpack gives the same finished tasks and the same remaining work, in the same order', () => {
      const options = { failurePolicy: 'continue', maxConcurrency: 2 } as const;
      const d = drive(plan(), options);
      expect(d.launch()).toEqual(['done', 'opt']);
      d.complete('done');
      d.fail('opt', { message: 'optional broke', type: 'TaskFailed' });
      expect(d.launch()).toEqual(['after-done', 'bad']); // after-done has the higher priority
      d.fail('bad');
      d.complete('after-done');
      d.s.paused = true;
      const carried = JSON.parse(JSON.stringify(d.s.snapshot()));
      expect(carried.records.map((r: unknown[]) => r[0])).toEqual(['done', 'opt', 'bad', 'after-bad', 'after-done']);

      const refs = (id: string) => ({ ref: id });
      const again = drive(plan(), options, new DagSchedule(plan(), options, carried, refs));
      expect(again.s.paused).toBe(true);
      expect(again.s.views()).toEqual(d.s.views());
      expect(again.s.progress()).toEqual(d.s.progress());
      expect(again.s.errors()).toEqual(d.s.errors());
      expect(again.s.outputs()).toEqual({ done: { ref: 'done' }, 'after-done': { ref: 'after-done' } });

      // Both go on the same way: same tasks in the same order, dependencies met by the carried tasks' outputs.
      for (const x of [d, again]) x.s.paused = false;
      const next = d.launch();
      expect(next).toEqual(['after-opt', 'both']); // plan order; fresh waits for room
      expect(again.launch()).toEqual(next);
      expect(again.inputs.both).toEqual({ done: { ref: 'done' }, 'after-done': { ref: 'after-done' } });
      for (const x of [d, again]) {
        x.complete('both');
        x.complete('after-opt');
        expect(x.launch()).toEqual(['fresh']);
      }
    });

    test('a stop for the budget is carried: the next run starts nothing', () => {
      const d = drive([spec('a'), spec('b')], { maxConcurrency: 1 });
      d.launch();
      d.complete('a');
      d.s.stop('budget_exhausted');
      const carried = JSON.parse(JSON.stringify(d.s.snapshot()));
      const again = new DagSchedule([spec('a'), spec('b')], { failurePolicy: 'fail-fast', maxConcurrency: 1 }, carried);
      expect(again.stopReason).toBe('budget_exhausted');
      expect(again.stopping).toBe(true);
      again.sweep();
      expect(again.views().map((v) => [v.id, v.state, v.reason])).toEqual([
        ['a', 'completed', undefined],
        ['b', 'skipped', 'budget_exhausted'],
      ]);
    });

    test('what a finished task carries is kept: several assignments, its error, its sub-agents', () => {
      const s = new DagSchedule([spec('t')], { failurePolicy: 'continue', maxConcurrency: 1 });
      const rec = s.next(0) as TaskRecord;
      s.started(rec, 'generalist-1');
      rec.attempts = 3;
      rec.assignments = [
        { agentId: 'generalist-1', agentType: 'generalist', outcome: 'failed' },
        { agentId: 'generalist-2', agentType: 'generalist', outcome: 'failed' },
      ];
      rec.subtasks = [
        { id: 't.sub', state: 'failed', agentType: 'generalist', attempts: 1, assignments: [], subtasks: [] },
      ];
      rec.agentId = 'generalist-2';
      s.ended(rec, { error: failed });
      const again = new DagSchedule([spec('t')], { failurePolicy: 'continue', maxConcurrency: 1 }, s.snapshot());
      expect(again.views()).toEqual(s.views());
    });
  });

  describe('a rerun seeded with reused tasks', () => {
    const tasks = () => [spec('a'), spec('b', { dependsOn: ['a'] }), spec('c', { dependsOn: ['b'] })];
    const reused = new Map([['a', { from: 'first', output: { $taskResult: 'plan-first-task-a' } }]]);
    const options = { failurePolicy: 'fail-fast', maxConcurrency: 10 } as const;

    test('a reused task is completed from the start, never handed out; its dependants get its reference', () => {
      const d = drive(tasks(), options, new DagSchedule(tasks(), options, undefined, undefined, reused));
      expect(d.state()).toMatchObject({ a: 'completed', b: 'pending' });
      expect(d.s.views()[0]).toMatchObject({ id: 'a', reused: true, reusedFrom: 'first', attempts: 0 });
      expect(d.launch()).toEqual(['b']);
      expect(d.inputs.b).toEqual({ a: { $taskResult: 'plan-first-task-a' } });
      expect(d.s.progress()).toMatchObject({ completed: 1, pending: 1, running: 1 });
    });

    test('across continue-as-new: reused tasks are not carried, the next run is seeded with them again', () => {
      const d = drive(tasks(), options, new DagSchedule(tasks(), options, undefined, undefined, reused));
      d.launch();
      d.complete('b');
      const carried = JSON.parse(JSON.stringify(d.s.snapshot()));
      expect(carried.records.map((r: unknown[]) => r[0])).toEqual(['b']);
      const refs = (id: string) => ({ ref: id });
      const again = drive(tasks(), options, new DagSchedule(tasks(), options, carried, refs, reused));
      expect(again.s.outputs()).toEqual({ a: { $taskResult: 'plan-first-task-a' }, b: { ref: 'b' } });
      expect(again.launch()).toEqual(['c']);
      expect(again.s.views()[0]).toMatchObject({ reused: true, reusedFrom: 'first' });
    });
  });
});
