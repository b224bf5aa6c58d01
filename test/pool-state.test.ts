import { PoolState } from '../src/workflows/pool-state';
import { DEFAULT_REGISTRY } from '../src/shared/registry';
import type { AcquireRequest } from '../src/shared/pool';

/** The pool's policy without a server: caps, and what it carries across continue-as-new at MAX_AGENTS 10,000. */
const settings = { maxAgents: 10_000, quarantineAfter: 3, sweepIntervalSeconds: 60, historyLimit: 5_000 };
const types = DEFAULT_REGISTRY.agentTypes.map((t) => ({ ...t, maxInstances: 10_000 }));
const now = new Date('2026-11-27T12:00:00Z');
const lease = (plan: string, count: number, type = 'researcher'): AcquireRequest => ({
  requestId: `plan-${plan}/01a21e27-29ec-77e7-9895-e990c4406d57/lease-0`,
  holder: `plan-${plan}`,
  planId: plan,
  taskId: 'some-task',
  priority: 0,
  types: [type],
  exclude: [],
  count,
});

describe('PoolState at MAX_AGENTS 10,000 (pure)', () => {
  test('10,000 instances: the cap holds, and the state carried across continue-as-new stays under 1.9 MB', () => {
    const pool = new PoolState(settings, types);
    for (let p = 0; p < 40; p++) pool.request(lease(`p${p}`, 250));
    const grants = pool.schedule(now);
    expect(grants).toHaveLength(10_000);
    pool.request(lease('late', 10));
    expect(pool.schedule(now)).toHaveLength(0); // at the cap: the late plan waits
    expect(pool.view()).toMatchObject({ active: 10_000, busy: 10_000, queued: 1 });
    // Every instance busy, each remembering something (a claim check of its memory).
    const memory = { $blob: `sha256:${'c'.repeat(64)}`, bytes: 1_500, count: 10 };
    const busyBytes = JSON.stringify(pool.snapshot()).length;
    expect(busyBytes).toBeLessThan(1_900_000);
    // Half of them come back: the late plan gets its ten, the rest stay idle with their memory.
    for (const g of grants.slice(0, 5_000))
      pool.release(
        { requestId: g.requestId, agentId: g.agentId as string, outcome: 'completed', completed: 3, memory },
        now,
      );
    expect(pool.schedule(now).map((g) => g.holder)).toEqual(Array(10).fill('plan-late'));
    const snapshot = pool.snapshot();
    const bytes = JSON.stringify(snapshot).length;
    expect(bytes).toBeLessThan(1_900_000);
    const again = new PoolState(settings, types, JSON.parse(JSON.stringify(snapshot)));
    expect(again.view()).toMatchObject({ active: 10_000, busy: 5_010, queued: 0 });
    const idle = again.view().agents.filter((a) => a.state === 'idle');
    expect(idle).toHaveLength(4_990);
    expect(idle[0]).toMatchObject({ holder: null, tasksCompleted: 3, memory });
    const busy = again.view().agents.find((a) => a.holder === 'plan-p39');
    expect(busy).toMatchObject({ planId: 'p39', taskId: 'some-task', state: 'assigned' });
    expect(busy?.requestId).toMatch(/^plan-p39\/01a21e27-29ec-77e7-9895-e990c4406d57\/lease-0#\d+$/);
    // Its grant is still recognised: releasing it works after continue-as-new.
    again.release({ requestId: busy?.requestId as string, agentId: busy?.id as string, outcome: 'completed' }, now);
    expect(again.instance(busy?.id as string)).toMatchObject({ state: 'idle', holder: null });
  });
});
