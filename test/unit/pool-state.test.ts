import { PoolState } from '../../src/workflows/pool-state';
import { AgentType } from '../../src/shared/agent-type';
import { DEFAULT_REGISTRY } from '../../src/shared/registry';
import type { AcquireRequest, Grant, Release } from '../../src/shared/pool';
import type { AgentInstance } from '../../src/shared/agent';

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

/** The pool's rules, one per test, on small pools: `pool(...)` takes its types as [name, maxInstances, idleTtlSeconds?]. */
describe('PoolState policy (pure)', () => {
  const t0 = new Date('2026-11-27T12:00:00Z');
  const at = (seconds: number) => new Date(t0.getTime() + seconds * 1_000);
  const pool = (maxAgents: number, defs: [string, number, number?][], quarantineAfter = 3) =>
    new PoolState(
      { maxAgents, quarantineAfter, sweepIntervalSeconds: 60, historyLimit: 5_000 },
      defs.map(([name, maxInstances, idleTtlSeconds]) =>
        AgentType.parse({ name, capabilities: ['work'], maxInstances, idleTtlSeconds }),
      ),
    );
  const req = (id: string, over: Partial<AcquireRequest> = {}): AcquireRequest => ({
    requestId: id,
    holder: `holder-${id}`,
    planId: 'p',
    taskId: `task-${id}`,
    priority: 0,
    types: ['a'],
    exclude: [],
    ...over,
  });
  /** Grants as `requestId -> agentId`, in the order they were made. */
  const served = (grants: Grant[]) => grants.map((g) => `${g.requestId} -> ${g.agentId ?? g.error}`);
  const done = (
    p: PoolState,
    requestId: string,
    agentId: string,
    when = t0,
    outcome: Release['outcome'] = 'completed',
  ) => p.release({ requestId, agentId, outcome }, when);

  describe('grant order', () => {
    test('requests are served by priority, highest first, then in arrival order', () => {
      const p = pool(10, [['a', 3]]);
      p.request(req('low-1'));
      p.request(req('high-1', { priority: 5 }));
      p.request(req('low-2'));
      p.request(req('high-2', { priority: 5 }));
      p.request(req('mid', { priority: 1 }));
      expect(p.view().queue.map((q) => q.requestId)).toEqual(['high-1', 'high-2', 'mid', 'low-1', 'low-2']);
      expect(served(p.schedule(t0))).toEqual(['high-1 -> a-1', 'high-2 -> a-2', 'mid -> a-3']);
      expect(p.view().queue.map((q) => q.requestId)).toEqual(['low-1', 'low-2']);
    });

    test('a freed instance goes to the best waiting request, not the earliest', () => {
      const p = pool(1, [['a', 1]]);
      p.request(req('first'));
      p.schedule(t0);
      p.request(req('early-low'));
      p.request(req('late-high', { priority: 2 }));
      expect(p.schedule(t0)).toEqual([]);
      done(p, 'first', 'a-1');
      expect(served(p.schedule(t0))).toEqual(['late-high -> a-1']);
    });

    test('a request waiting for capacity stops lower ones from spawning, but they may still take idle instances', () => {
      const p = pool(10, [
        ['a', 1],
        ['b', 2],
      ]);
      p.request(req('a-holder'));
      p.request(req('b-holder', { types: ['b'] }));
      p.schedule(t0);
      done(p, 'b-holder', 'b-1');
      p.request(req('blocked', { priority: 9 })); // a is at its cap
      p.request(req('idle-b', { types: ['b'] }));
      p.request(req('new-b', { types: ['b'] }));
      expect(served(p.schedule(t0))).toEqual(['idle-b -> b-1']); // b-2 is not spawned while "blocked" waits
      done(p, 'a-holder', 'a-1');
      expect(served(p.schedule(t0))).toEqual(['blocked -> a-1', 'new-b -> b-2']);
    });

    test('a request that names several types takes the first with room, spilling to later ones only when it is full', () => {
      const p = pool(10, [
        ['tight', 1],
        ['loose', 5],
      ]);
      for (const id of ['r1', 'r2', 'r3']) p.request(req(id, { types: ['tight', 'loose'] }));
      expect(served(p.schedule(t0))).toEqual(['r1 -> tight-1', 'r2 -> loose-1', 'r3 -> loose-2']);
      done(p, 'r1', 'tight-1');
      done(p, 'r2', 'loose-1');
      p.request(req('r4', { types: ['tight', 'loose'] }));
      expect(served(p.schedule(t0))).toEqual(['r4 -> tight-1']); // the idle tight one, though loose-1 is idle too
    });

    test('an idle instance is reused before a new one is spawned, the least recently used first', () => {
      const p = pool(10, [['a', 5]]);
      for (const id of ['r1', 'r2', 'r3']) p.request(req(id));
      p.schedule(t0);
      done(p, 'r2', 'a-2', at(10));
      done(p, 'r1', 'a-1', at(20));
      p.request(req('r4'));
      p.request(req('r5'));
      expect(served(p.schedule(at(30)))).toEqual(['r4 -> a-2', 'r5 -> a-1']);
      expect(p.view().spawned).toBe(3);
    });

    test('a request never gets an instance it excludes; a fresh one is spawned for it', () => {
      const p = pool(10, [['a', 2]]);
      p.request(req('r1'));
      p.schedule(t0);
      done(p, 'r1', 'a-1');
      p.request(req('retry', { exclude: ['a-1'] }));
      expect(served(p.schedule(t0))).toEqual(['retry -> a-2']);
      expect(p.instance('a-1')).toMatchObject({ state: 'idle', holder: null });
    });

    test('when its type is full, an excluded idle instance is evicted to make room for a fresh one', () => {
      const p = pool(10, [['a', 1]]);
      p.request(req('r1'));
      p.schedule(t0);
      done(p, 'r1', 'a-1');
      p.request(req('retry', { exclude: ['a-1'] }));
      expect(served(p.schedule(t0))).toEqual(['retry -> a-2']);
      expect(p.instance('a-1')?.state).toBe('terminated');
      expect(p.view().active).toBe(1);
    });

    test('a preferred idle instance is granted over the least recently used one; a busy one is not waited for', () => {
      const p = pool(10, [['a', 5]]);
      for (const id of ['r1', 'r2']) p.request(req(id));
      p.schedule(t0);
      done(p, 'r1', 'a-1', at(1));
      done(p, 'r2', 'a-2', at(2));
      p.request(req('back', { prefer: 'a-2' }));
      expect(served(p.schedule(at(3)))).toEqual(['back -> a-2']);
      p.request(req('again', { prefer: 'a-2' })); // a-2 is busy now
      expect(served(p.schedule(at(4)))).toEqual(['again -> a-1']);
    });

    test('grants of an offline type say so; model types do not', () => {
      const p = new PoolState({ maxAgents: 5, quarantineAfter: 3, sweepIntervalSeconds: 60, historyLimit: 5_000 }, [
        AgentType.parse({ name: 'a', capabilities: ['work'] }),
        AgentType.parse({ name: 'm', capabilities: ['work'], runtime: { provider: 'openai', model: 'gpt' } }),
      ]);
      p.request(req('off'));
      p.request(req('model', { types: ['m'] }));
      const [off, model] = p.schedule(t0);
      expect(off).toMatchObject({ requestId: 'off', agentType: 'a', offline: true });
      expect(model).toMatchObject({ requestId: 'model', agentType: 'm' });
      expect(model).not.toHaveProperty('offline');
    });
  });

  describe('fair share between tenants', () => {
    const lease = (id: string, tenant: string, count: number) => req(id, { tenant, count, planId: `plan-${tenant}` });

    test("a tenant's big lease queued first does not hold back another tenant's small one", () => {
      const p = pool(4, [['a', 4]]);
      p.request(lease('big', 'team-a', 2_000));
      p.request(lease('small', 'team-b', 3));
      // Four instances, in turn: each next one to the tenant holding fewest.
      expect(served(p.schedule(t0))).toEqual(['big#0 -> a-1', 'small#0 -> a-2', 'big#1 -> a-3', 'small#1 -> a-4']);
      // A freed instance goes to the tenant holding fewer, whoever queued first: team-a (1 against 2) ...
      done(p, 'big#0', 'a-1');
      expect(served(p.schedule(t0))).toEqual(['big#2 -> a-1']);
      // ... then team-b (1 against 2), though team-a's lease has 1,997 more waiting ahead of it.
      done(p, 'small#0', 'a-2');
      expect(served(p.schedule(t0))).toEqual(['small#2 -> a-2']);
    });

    test('with fair share off, the earlier request is served first, whoever asked', () => {
      const p = new PoolState(
        { maxAgents: 4, quarantineAfter: 3, sweepIntervalSeconds: 60, historyLimit: 5_000, fairShare: false },
        [AgentType.parse({ name: 'a', capabilities: ['work'], maxInstances: 4 })],
      );
      p.request(lease('big', 'team-a', 2_000));
      p.request(lease('small', 'team-b', 3));
      expect(served(p.schedule(t0))).toEqual(['big#0 -> a-1', 'big#1 -> a-2', 'big#2 -> a-3', 'big#3 -> a-4']);
    });

    test('priority still comes first: a higher-priority request is served before any tenant turn', () => {
      const p = pool(2, [['a', 2]]);
      p.request(lease('b-low', 'team-b', 2));
      p.request(req('a-high', { tenant: 'team-a', priority: 5, count: 2 }));
      expect(served(p.schedule(t0))).toEqual(['a-high#0 -> a-1', 'a-high#1 -> a-2']);
    });

    test('a lease over its share is asked to give instances back while another tenant waits, once', () => {
      const p = pool(4, [['a', 4]]);
      p.request(req('p/lease-0', { tenant: 'team-a', count: 2_000, holder: 'plan-a' }));
      expect(p.schedule(t0)).toHaveLength(4); // team-a holds all four: nobody else asked
      expect(p.yields()).toEqual([]);
      p.request(req('q/lease-0', { tenant: 'team-b', count: 3, holder: 'plan-b' }));
      expect(p.schedule(t0)).toEqual([]);
      // Two tenants: a share of 2 each. team-b waits for 3, lacks 2 of its share: plan-a gives 2 back.
      expect(p.yields()).toEqual([{ holder: 'plan-a', count: 2 }]);
      expect(p.yields()).toEqual([]); // asked already
      done(p, 'p/lease-0#0', 'a-1');
      expect(served(p.schedule(t0))).toEqual(['q/lease-0#0 -> a-1']);
      expect(p.yields()).toEqual([]); // plan-a still owes one
      done(p, 'p/lease-0#1', 'a-2');
      expect(served(p.schedule(t0))).toEqual(['q/lease-0#1 -> a-2']);
      expect(p.yields()).toEqual([]); // team-b has its share
    });

    test('with one tenant, or fair share off, nothing is asked back', () => {
      const one = pool(2, [['a', 2]]);
      one.request(req('p/lease-0', { count: 10, holder: 'plan-1' }));
      one.schedule(t0);
      one.request(req('q/lease-0', { count: 10, holder: 'plan-2' }));
      one.schedule(t0);
      expect(one.yields()).toEqual([]);
      const off = new PoolState(
        { maxAgents: 2, quarantineAfter: 3, sweepIntervalSeconds: 60, historyLimit: 5_000, fairShare: false },
        [AgentType.parse({ name: 'a', capabilities: ['work'], maxInstances: 2 })],
      );
      off.request(req('p/lease-0', { tenant: 'team-a', count: 10, holder: 'plan-a' }));
      off.schedule(t0);
      off.request(req('q/lease-0', { tenant: 'team-b', count: 1, holder: 'plan-b' }));
      off.schedule(t0);
      expect(off.yields()).toEqual([]);
    });

    test('requests without a tenant (plans from before tenants) are one tenant, served in arrival order', () => {
      const p = pool(3, [['a', 3]]);
      p.request(req('one', { count: 2 }));
      p.request(req('two'));
      expect(served(p.schedule(t0))).toEqual(['one#0 -> a-1', 'one#1 -> a-2', 'two -> a-3']);
    });
  });

  describe('caps', () => {
    test('a type never has more than its maxInstances; the rest wait in the queue', () => {
      const p = pool(10, [['a', 2]]);
      for (const id of ['r1', 'r2', 'r3']) p.request(req(id));
      expect(served(p.schedule(t0))).toEqual(['r1 -> a-1', 'r2 -> a-2']);
      expect(p.view()).toMatchObject({ active: 2, busy: 2, queued: 1, spawned: 2 });
      done(p, 'r1', 'a-1');
      expect(served(p.schedule(t0))).toEqual(['r3 -> a-1']);
    });

    test('the pool never has more than maxAgents instances, whatever the types allow', () => {
      const p = pool(3, [
        ['a', 5],
        ['b', 5],
      ]);
      for (const id of ['a1', 'a2']) p.request(req(id));
      for (const id of ['b1', 'b2']) p.request(req(id, { types: ['b'] }));
      expect(served(p.schedule(t0))).toEqual(['a1 -> a-1', 'a2 -> a-2', 'b1 -> b-1']);
      expect(p.view()).toMatchObject({ active: 3, busy: 3, queued: 1, peakBusy: 3 });
    });

    test('at the pool cap, the least recently used idle instance of another type is evicted to make room', () => {
      const p = pool(2, [
        ['a', 5],
        ['b', 5],
      ]);
      for (const id of ['r1', 'r2']) p.request(req(id));
      p.schedule(t0);
      done(p, 'r2', 'a-2', at(1));
      done(p, 'r1', 'a-1', at(2));
      p.request(req('b', { types: ['b'] }));
      expect(served(p.schedule(at(3)))).toEqual(['b -> b-1']);
      expect(
        p
          .view()
          .agents.map((a) => a.id)
          .sort(),
      ).toEqual(['a-1', 'b-1']);
      expect(p.view().recentlyTerminated.map((a) => a.id)).toEqual(['a-2']);
    });
  });

  describe('leases (count > 1)', () => {
    test('a lease is granted instance by instance as room allows, each grant with its own id; the rest stays queued', () => {
      const p = pool(10, [['a', 2]]);
      p.request(req('lease', { count: 3 }));
      expect(served(p.schedule(t0))).toEqual(['lease#0 -> a-1', 'lease#1 -> a-2']);
      expect(p.view().queue).toEqual([expect.objectContaining({ requestId: 'lease' })]);
      done(p, 'lease#0', 'a-1');
      expect(served(p.schedule(t0))).toEqual(['lease#2 -> a-1']);
      expect(p.view().queued).toBe(0);
    });

    test('withdrawing a lease (cancel onlyQueued) drops what it still waits for and keeps what it was granted', () => {
      const p = pool(10, [['a', 1]]);
      p.request(req('lease', { count: 3 }));
      p.schedule(t0);
      p.withdraw('lease');
      expect(p.view()).toMatchObject({ queued: 0, busy: 1 });
      expect(p.instance('a-1')).toMatchObject({ requestId: 'lease#0', holder: 'holder-lease' });
      p.request(req('lease', { count: 3 })); // the same request again, e.g. a repeated signal: ignored
      expect(p.view().queued).toBe(0);
      done(p, 'lease#0', 'a-1');
      expect(p.schedule(t0)).toEqual([]);
    });

    test('cancelling a request drops it from the queue and frees what it was granted, counting nothing', () => {
      const p = pool(10, [['a', 2]]);
      p.request(req('lease', { count: 3 }));
      p.schedule(t0);
      p.cancel('lease', at(5));
      expect(p.view()).toMatchObject({ queued: 0, busy: 0, active: 2 });
      for (const id of ['a-1', 'a-2'])
        expect(p.instance(id)).toMatchObject({ state: 'idle', holder: null, tasksCompleted: 0, failures: 0 });
    });

    test('a lease handing an instance back counts the tasks it completed on it', () => {
      const p = pool(10, [['a', 2]]);
      p.request(req('lease', { count: 1 }));
      p.schedule(t0);
      p.release({ requestId: 'lease', agentId: 'a-1', outcome: 'completed', completed: 4 }, t0);
      expect(p.instance('a-1')).toMatchObject({ tasksCompleted: 4, consecutiveFailures: 0 });
    });
  });

  describe('releases', () => {
    const busyPool = (quarantineAfter = 3) => {
      const p = pool(10, [['a', 1]], quarantineAfter);
      let n = 0;
      /** The next request, granted a-1; returns its id. */
      const grant = () => {
        const id = `r${n++}`;
        p.request(req(id));
        expect(served(p.schedule(t0))).toEqual([`${id} -> a-1`]);
        return id;
      };
      return { p, grant };
    };

    test('completed: the task is counted, the failure streak reset, and the instance is idle again', () => {
      const { p, grant } = busyPool();
      done(p, grant(), 'a-1', t0, 'failed');
      done(p, grant(), 'a-1', at(7), 'completed');
      expect(p.instance('a-1')).toMatchObject({
        state: 'idle',
        holder: null,
        requestId: null,
        taskId: null,
        tasksCompleted: 1,
        failures: 1,
        consecutiveFailures: 0,
        lastActiveAt: at(7).toISOString(),
      });
      expect(
        p
          .instance('a-1')
          ?.transitions.map((t) => t.state)
          .slice(-3),
      ).toEqual(['assigned', 'completed', 'idle']);
    });

    test('failed: the failure and the streak are counted', () => {
      const { p, grant } = busyPool();
      done(p, grant(), 'a-1', t0, 'failed');
      done(p, grant(), 'a-1', t0, 'failed');
      expect(p.instance('a-1')).toMatchObject({
        state: 'idle',
        tasksCompleted: 0,
        failures: 2,
        consecutiveFailures: 2,
      });
    });

    test('yielded: the instance comes back with nothing counted', () => {
      const { p, grant } = busyPool();
      done(p, grant(), 'a-1', t0, 'failed');
      done(p, grant(), 'a-1', t0, 'yielded');
      expect(p.instance('a-1')).toMatchObject({
        state: 'idle',
        tasksCompleted: 0,
        failures: 1,
        consecutiveFailures: 1,
      });
      expect(p.instance('a-1')?.transitions.at(-2)?.state).toBe('assigned');
    });

    test('quarantineAfter failures in a row terminate the instance; its replacement is a new one', () => {
      const { p, grant } = busyPool(2);
      done(p, grant(), 'a-1', t0, 'failed');
      done(p, grant(), 'a-1', t0, 'completed'); // the streak starts over
      done(p, grant(), 'a-1', t0, 'failed');
      expect(p.instance('a-1')?.state).toBe('idle');
      done(p, grant(), 'a-1', t0, 'failed');
      expect(p.instance('a-1')).toMatchObject({ state: 'terminated', consecutiveFailures: 2 });
      expect(p.view().active).toBe(0);
      p.request(req('next'));
      expect(served(p.schedule(t0))).toEqual(['next -> a-2']);
    });

    test('a release with another request id, or repeated, changes nothing', () => {
      const { p, grant } = busyPool();
      const first = grant();
      done(p, first, 'a-1');
      const second = grant();
      done(p, first, 'a-1', t0, 'failed'); // stale: a-1 now serves the second request
      expect(p.instance('a-1')).toMatchObject({ holder: `holder-${second}`, failures: 0, tasksCompleted: 1 });
      done(p, second, 'a-1');
      done(p, second, 'a-1');
      expect(p.instance('a-1')).toMatchObject({ holder: null, tasksCompleted: 2 });
    });

    test('a grant that never reached its holder (ungrant) frees the instance with nothing counted', () => {
      const { p, grant } = busyPool();
      p.ungrant(grant(), t0);
      expect(p.instance('a-1')).toMatchObject({ state: 'idle', holder: null, tasksCompleted: 0, failures: 0 });
    });

    test('a request id already served or queued is ignored when it comes again', () => {
      const { p, grant } = busyPool();
      const id = grant();
      p.request(req(id)); // still held
      expect(p.view().queued).toBe(0);
      done(p, id, 'a-1');
      p.request(req(id)); // finished
      expect(p.schedule(t0)).toEqual([]);
      p.request(req('twice'));
      p.request(req('twice'));
      expect(p.view().queued).toBe(1);
    });
  });

  describe('idle TTL', () => {
    test("idle instances past their type's idleTtlSeconds are terminated; busy ones are not", () => {
      const p = pool(10, [
        ['a', 5, 60],
        ['b', 5, 300],
      ]);
      for (const id of ['a1', 'a2']) p.request(req(id));
      p.request(req('b1', { types: ['b'] }));
      p.schedule(t0);
      done(p, 'a1', 'a-1', at(0));
      done(p, 'b1', 'b-1', at(0));
      expect(p.msUntilNextExpiry(at(10))).toBe(50_000);
      expect(p.expire(at(59))).toEqual([]);
      expect(p.expire(at(60))).toEqual(['a-1']); // a-2 is still busy
      expect(p.instance('a-1')?.state).toBe('terminated');
      expect(p.msUntilNextExpiry(at(60))).toBe(240_000);
      expect(p.expire(at(10_000))).toEqual(['b-1']);
      expect(p.msUntilNextExpiry(at(10_000))).toBeUndefined();
      expect(p.view().agents.map((a) => a.id)).toEqual(['a-2']);
    });

    test('reuse restarts the idle clock', () => {
      const p = pool(10, [['a', 5, 60]]);
      p.request(req('r1'));
      p.schedule(t0);
      done(p, 'r1', 'a-1', at(0));
      p.request(req('r2'));
      p.schedule(at(50));
      done(p, 'r2', 'a-1', at(55));
      expect(p.expire(at(100))).toEqual([]);
      expect(p.expire(at(115))).toEqual(['a-1']);
    });
  });

  describe('removing an agent type', () => {
    test('its idle instances go, and requests only it could serve get an error grant', () => {
      const p = pool(10, [
        ['a', 5],
        ['b', 5],
      ]);
      p.request(req('busy-b', { types: ['b'] }));
      p.request(req('idle-b', { types: ['b'] }));
      p.schedule(t0);
      done(p, 'idle-b', 'b-2');
      p.request(req('b-only', { types: ['b'], priority: 1 }));
      p.request(req('b-or-a', { types: ['b', 'a'] }));
      const grants = p.removeType('b', t0);
      expect(grants).toEqual([
        { requestId: 'b-only', holder: 'holder-b-only', error: 'agent type "b" was removed from the registry' },
      ]);
      expect(p.getType('b')).toBeUndefined();
      expect(p.instance('b-2')?.state).toBe('terminated');
      expect(p.instance('b-1')).toMatchObject({ state: 'assigned', holder: 'holder-busy-b' }); // busy: left to finish
      expect(served(p.schedule(t0))).toEqual(['b-or-a -> a-1']);
      p.request(req('b-only', { types: ['b'] })); // answered already
      expect(p.view().queued).toBe(0);
    });
  });

  describe('continue-as-new', () => {
    test('snapshot -> restore keeps the queue in order, the instances, the numbering and the requests already served', () => {
      const p = pool(10, [
        ['a', 2],
        ['b', 3],
      ]);
      for (const id of ['a1', 'a2']) p.request(req(id));
      p.request(req('b1', { types: ['b'], prefer: 'x' }));
      p.request(req('lease', { types: ['b'], count: 4 }));
      p.schedule(at(1));
      done(p, 'a2', 'a-2', at(2), 'failed');
      p.terminate('a-2', at(2), 'terminated by request'); // so the next a is a-3
      done(p, 'b1', 'b-1', at(3));
      p.request(req('w-low'));
      p.request(req('w-high', { priority: 3 }));
      p.request(req('w-mid', { priority: 1, exclude: ['a-1'] }));
      p.expire(at(1)); // nothing idle long enough
      const carried = JSON.parse(JSON.stringify(p.snapshot()));
      const q = new PoolState(p.settings, p.registry(), carried);
      // Packed instances keep only their latest transition, as state and time.
      const last = (i: AgentInstance) => ({
        ...i,
        transitions: i.transitions.slice(-1).map(({ state, at }) => ({ state, at })),
      });
      expect(q.view()).toEqual({ ...p.view(), agents: p.view().agents.map(last) });
      // The same decisions follow: numbering goes on, the queue order holds, served requests stay served.
      for (const s of [p, q]) {
        done(s, 'a1', 'a-1', at(4));
        done(s, 'lease#0', 'b-2', at(4));
        s.request(req('b1', { types: ['b'] }));
        s.request(req('w-late', { priority: 3 }));
      }
      const before = served(p.schedule(at(5)));
      // b1 was served before: its repeat is ignored. The numbering goes on after a-2.
      expect(before).toEqual(['w-high -> a-1', 'w-late -> a-3', 'lease#2 -> b-1', 'lease#3 -> b-2']);
      expect(served(q.schedule(at(5)))).toEqual(before);
      expect(q.view().queue.map((r) => r.requestId)).toEqual(['w-mid', 'w-low']);
    });
  });
});
