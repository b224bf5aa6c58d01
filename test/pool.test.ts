import { NativeConnection } from '@temporalio/worker';
import { buildDeps, createWorker } from '../src/worker';
import type { PoolView } from '../src/shared/pool';
import { DEFAULT_REGISTRY, type Registry } from '../src/shared/registry';
import type { PlanResult } from '../src/shared/plan';
import type { TaskView } from '../src/shared/task';
import { planStatusQuery, poolStatusQuery, taskInputUpdate, taskStatusQuery } from '../src/workflows/messages';
import { eventually, startHarness, uniqueId, type Harness } from './support/harness';

const slow = (ms: number) => ({ simulate: { latencyMs: ms } });
const pool = (h: Harness): Promise<PoolView> => h.client.workflow.getHandle(h.poolId).query(poolStatusQuery);
const withTypes = (overrides: Record<string, Partial<Registry['agentTypes'][number]>>): Registry => ({
  agentTypes: DEFAULT_REGISTRY.agentTypes.map((t) => ({ ...t, ...overrides[t.name] })),
});

describe('agent pool against a real server', () => {
  test('MAX_AGENTS is a hard cap under concurrent plans; every task completes', async () => {
    const h = await startHarness({ pool: { maxAgents: 3 } });
    try {
      const plans = await Promise.all(
        [12, 8].map((n, p) =>
          h.run({
            id: uniqueId(`cap${p}`),
            maxConcurrency: 20,
            tasks: Array.from({ length: n }, (_, i) => ({
              id: `t${i}`,
              description: 'x',
              capabilities: [i % 2 ? 'research' : 'writing'],
              input: slow(150),
            })),
          }),
        ),
      );
      for (const r of plans) expect(r.status).toBe('completed');
      const view = await pool(h);
      expect(view.peakBusy).toBeGreaterThan(1);
      expect(view.peakBusy).toBeLessThanOrEqual(3);
      expect(view.active).toBeLessThanOrEqual(3);
      expect(view.busy).toBe(0);
      expect(view.queued).toBe(0);
    } finally {
      await h.close();
    }
  });

  test('idle instances are reused, with their memory, before new ones are spawned', async () => {
    const h = await startHarness();
    try {
      const r = await h.run({
        mode: 'sequential',
        tasks: ['one', 'two', 'three'].map((id) => ({ id, description: `find ${id}`, capabilities: ['research'] })),
      });
      expect(r.status).toBe('completed');
      const outs = ['one', 'two', 'three'].map((t) => r.outputs[t] as { agent: string; memory: string[] });
      expect(outs.map((o) => o.agent)).toEqual(['researcher-1', 'researcher-1', 'researcher-1']);
      expect(outs[2]?.memory).toEqual(['completed "find one"', 'completed "find two"']);
      const view = await pool(h);
      expect(view.spawned).toBe(1);
      expect(view.agents[0]).toMatchObject({ id: 'researcher-1', state: 'idle', tasksCompleted: 3 });
    } finally {
      await h.close();
    }
  });

  test('one instance goes created → idle → assigned → reasoning → executing → validating → completed → idle', async () => {
    const h = await startHarness();
    try {
      const r = await h.run({
        id: uniqueId('life'),
        tasks: [{ id: 'only', description: 'x', capabilities: ['coding'] }],
      });
      const inst = (await pool(h)).agents.find((a) => a.id === 'coder-1');
      expect(inst?.transitions.map((t) => t.state)).toEqual(['created', 'idle', 'assigned', 'completed', 'idle']);
      // The task waits for its agent in the plan (pending there); its workflow starts on the instance, assigned.
      const task: TaskView = await h.client.workflow.getHandle(`plan-${r.planId}-task-only`).query(taskStatusQuery);
      expect(task.transitions?.map((t) => t.state)).toEqual([
        'assigned',
        'reasoning',
        'executing',
        'validating',
        'completed',
      ]);
      expect(task.transitions?.filter((t) => t.agentId).every((t) => t.agentId === 'coder-1')).toBe(true);
    } finally {
      await h.close();
    }
  });

  test('a task waiting for a human holds no instance: with MAX_AGENTS 1 another task runs meanwhile', async () => {
    const h = await startHarness({ pool: { maxAgents: 1 } });
    try {
      const id = uniqueId('wait');
      await h.start({
        id,
        tasks: [
          { id: 'ask', description: 'needs a yes', requiresApproval: true },
          { id: 'work', description: 'meanwhile', priority: -1 },
        ],
      });
      const ask = h.client.workflow.getHandle(`plan-${id}-task-ask`);
      const plan = h.client.workflow.getHandle(`plan-${id}`);
      // The only instance went to "ask", which gave it back while it waits: "work" ran on it.
      const view = await eventually(async () => {
        const v = await plan.query(planStatusQuery).catch(() => undefined);
        return v?.tasks.find((t) => t.id === 'work')?.state === 'completed' ? v : undefined;
      }, '"work" to complete while "ask" waits');
      expect(view.tasks.find((t) => t.id === 'ask')?.finishedAt).toBeUndefined();
      expect((await ask.query(taskStatusQuery)).state).toBe('waiting');
      const idle = await eventually(async () => {
        const v = await pool(h);
        return v.busy === 0 ? v : undefined;
      }, 'the instance to be free in the pool');
      expect(idle.agents.map((a) => [a.id, a.state])).toEqual([['generalist-1', 'idle']]);
      // Answered, it asks again and gets the same instance, which remembers both tasks.
      await ask.executeUpdate(taskInputUpdate, { args: [{ approved: true }] });
      const result = (await plan.result()) as PlanResult;
      expect(result.status).toBe('completed');
      const out = result.outputs.ask as { agent: string; memory: string[] };
      expect(out.agent).toBe('generalist-1');
      expect(out.memory).toEqual(['completed "meanwhile"']);
      const states = (await ask.query(taskStatusQuery)).transitions?.map((t) => t.state);
      expect(states).toEqual([
        'assigned',
        'reasoning',
        'waiting',
        'pending',
        'assigned',
        'executing',
        'validating',
        'completed',
      ]);
    } finally {
      await h.close();
    }
  });

  test('idle instances are terminated after their idle TTL', async () => {
    const h = await startHarness({ registry: withTypes({ writer: { idleTtlSeconds: 1 } }) });
    try {
      await h.run({ tasks: [{ id: 'w', description: 'x', capabilities: ['writing'] }] });
      const view = await eventually(async () => {
        const v = await pool(h);
        return v.active === 0 ? v : undefined;
      }, 'writer-1 to expire');
      expect(view.recentlyTerminated.map((a) => [a.id, a.state])).toEqual([['writer-1', 'terminated']]);
    } finally {
      await h.close();
    }
  });

  test('waiting requests are served by priority, then arrival', async () => {
    const h = await startHarness({ pool: { maxAgents: 1 } });
    try {
      const hold = h.run({ id: uniqueId('hold'), tasks: [{ id: 'hold', description: 'x', input: slow(1_000) }] });
      await eventually(
        async () => ((await pool(h).catch(() => undefined))?.busy === 1 ? true : undefined),
        'the only agent to be busy',
      );
      const low = h.run({ id: uniqueId('low'), tasks: [{ id: 'low', description: 'x', priority: 0 }] });
      await eventually(async () => ((await pool(h)).queued === 1 ? true : undefined), 'low queued');
      const high = h.run({ id: uniqueId('high'), tasks: [{ id: 'high', description: 'x', priority: 5 }] });
      await eventually(async () => ((await pool(h)).queued === 2 ? true : undefined), 'high queued');
      expect((await pool(h)).queue.map((q) => q.taskId)).toEqual(['high', 'low']);
      const [, l, hi] = (await Promise.all([hold, low, high])) as PlanResult[];
      const finished = async (r: PlanResult) =>
        Date.parse(
          ((await h.client.workflow.getHandle(`plan-${r.planId}`).query(planStatusQuery)).tasks[0] as TaskView)
            .finishedAt ?? '',
        );
      expect(await finished(hi!)).toBeLessThan(await finished(l!));
    } finally {
      await h.close();
    }
  });

  test('an instance whose task workflow dies is recovered, not leaked', async () => {
    const h = await startHarness({ pool: { sweepIntervalSeconds: 1 } });
    try {
      const id = uniqueId('leak');
      await h.start({ id, tasks: [{ id: 'doomed', description: 'x', input: slow(30_000) }] });
      // Wait until the agent is at work (the grant reached the task), then kill the task workflow under it.
      const doomed = h.client.workflow.getHandle(`plan-${id}-task-doomed`);
      await eventually(
        async () =>
          (await doomed.query(taskStatusQuery).catch(() => undefined))?.state === 'reasoning' ? true : undefined,
        'agent at work',
      );
      expect((await pool(h)).busy).toBe(1);
      await doomed.terminate('test: task workflow dies');
      const view = await eventually(async () => {
        const v = await pool(h);
        return v.busy === 0 ? v : undefined;
      }, 'instance recovered');
      expect(view.agents[0]).toMatchObject({ state: 'idle', failures: 1 });
      const result = (await h.client.workflow.getHandle(`plan-${id}`).result()) as PlanResult;
      expect(result.errors.doomed?.state).toBe('failed');
    } finally {
      await h.close();
    }
  });

  test('the pool continues-as-new under sustained load without losing a request or an instance', async () => {
    const h = await startHarness({ pool: { maxAgents: 2, historyLimit: 100 } });
    try {
      // Plans lease instances and reuse them across their own tasks, so the load on the pool is many small plans.
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, p) =>
          h.run({
            id: uniqueId(`load${p}`),
            mode: 'sequential',
            tasks: [
              { id: 'a', description: 'x' },
              { id: 'b', description: 'x' },
            ],
          }),
        ),
      );
      for (const r of results) {
        expect(r.status).toBe('completed');
        expect(Object.keys(r.outputs)).toHaveLength(2);
      }
      const runs = await eventually(async () => {
        let n = 0;
        for await (const _ of h.client.workflow.list({ query: `WorkflowId = '${h.poolId}'` })) n++;
        return n > 1 ? n : undefined;
      }, 'pool runs in visibility');
      expect(runs).toBeGreaterThan(1);
      const view = await pool(h);
      expect(view.busy).toBe(0);
      expect(view.queued).toBe(0);
      expect(view.agents.reduce((n, a) => n + a.tasksCompleted, 0)).toBe(40);
    } finally {
      await h.close();
    }
  });

  test('two workers share one plan: activities run on both', async () => {
    const h = await startHarness();
    const second = await NativeConnection.connect({ address: h.address });
    const otherDeps = buildDeps(
      {
        AGENT_REGISTRY_FILE: undefined,
        OFFLINE_RUNTIME_OUTAGE_FILE: undefined,
        AGENT_POOL_ID: h.poolId,
        ALLOW_SIMULATE: true,
      },
      h.client,
    );
    const other = await createWorker({
      connection: second,
      namespace: 'default',
      taskQueue: h.taskQueue,
      identity: 'second-worker',
      deps: otherDeps,
      pool: {
        policy: otherDeps.policy,
        client: h.client,
        taskQueue: h.taskQueue,
        poolInput: () => ({
          settings: { maxAgents: 100, quarantineAfter: 3, sweepIntervalSeconds: 5, historyLimit: 10_000 },
          types: DEFAULT_REGISTRY.agentTypes,
        }),
      },
      workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE as string },
    });
    const running = other.run();
    try {
      const r = await h.run({
        maxConcurrency: 20,
        tasks: Array.from({ length: 20 }, (_, i) => ({ id: `t${i}`, description: 'x', input: slow(300) })),
      });
      expect(r.status).toBe('completed');
      const identities = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const history = await h.client.workflow.getHandle(`plan-${r.planId}-task-t${i}`).fetchHistory();
        for (const e of history.events ?? [])
          if (e.activityTaskStartedEventAttributes?.identity)
            identities.add(e.activityTaskStartedEventAttributes.identity);
      }
      expect(identities.has('second-worker')).toBe(true);
      expect(identities.size).toBeGreaterThan(1);
    } finally {
      other.shutdown();
      await running;
      await second.close();
      await h.close();
    }
  });
});
