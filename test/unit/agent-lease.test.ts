import { AgentLease, type LeasedAgent } from '../../src/workflows/agent-lease';
import { PoolState } from '../../src/workflows/pool-state';
import { DEFAULT_REGISTRY } from '../../src/shared/registry';
import type { Grant, PoolRequest } from '../../src/shared/pool';

/** Pure logic of leases, without a server: the plan's side (AgentLease) against the pool's (PoolState). */
const settings = { maxAgents: 3, quarantineAfter: 3, sweepIntervalSeconds: 60, historyLimit: 5_000 };
const now = new Date('2026-11-27T12:00:00Z');

function rig(maxAgents = 3) {
  const pool = new PoolState({ ...settings, maxAgents }, DEFAULT_REGISTRY.agentTypes);
  const sent: PoolRequest[] = [];
  const lease = new AgentLease(
    'plan-p',
    () => 'plan-p/run',
    'p',
    (m) => sent.push(m),
  );
  /** Delivers what the lease sent to the pool, runs a scheduling pass, and hands the grants to the lease. */
  const exchange = (): Grant[] => {
    for (const m of sent.splice(0)) {
      if (m.kind === 'acquire') pool.request(m.request);
      else if (m.kind === 'release') pool.release(m.release, now);
      else if (m.kind === 'cancel') {
        if (m.onlyQueued) pool.withdraw(m.requestId);
        else pool.cancel(m.requestId, now);
      }
    }
    const grants = pool.schedule(now);
    lease.receive(grants);
    return grants;
  };
  return { pool, lease, sent, exchange };
}

const research = ['researcher'];

describe('AgentLease with PoolState', () => {
  test('one request per set of types asks for what the ready tasks lack; the pool grants up to its cap', () => {
    const { pool, lease, sent, exchange } = rig(3);
    lease.settle([{ types: research, count: 5, taskId: 't0', priority: 0 }]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ kind: 'acquire', request: { count: 5, types: research, taskId: 't0' } });
    const grants = exchange();
    expect(grants.map((g) => g.requestId)).toEqual([0, 1, 2].map((n) => `plan-p/run/lease-0#${n}`));
    expect(pool.view()).toMatchObject({ active: 3, busy: 3, queued: 1 });
    // The plan's next pass starts three tasks; asking again for the rest sends nothing: two are still outstanding.
    const taken = ['t0', 't1', 't2'].map((t) => lease.take(research, t));
    expect(taken.map((a) => a?.grantId)).toEqual(grants.map((g) => g.requestId));
    expect(taken.map((a) => a?.agentType)).toEqual(['researcher', 'researcher', 'researcher']);
    lease.settle([{ types: research, count: 2, taskId: 't3', priority: 0 }]);
    expect(sent).toHaveLength(0);
  });

  test('a completed task leaves its instance to the next task, remembering it; idle ones go back with the work done', () => {
    const { pool, lease, exchange } = rig(3);
    lease.settle([{ types: research, count: 1, taskId: 'a', priority: 0 }]);
    exchange();
    const first = lease.take(research, 'a') as LeasedAgent;
    expect(first).toMatchObject({ agentId: 'researcher-1', memory: [] });
    // The task's last step wrote the instance's memory to the blob store: the lease carries the claim check.
    const afterA = { $blob: `sha256:${'a'.repeat(64)}`, bytes: 60, count: 1 };
    lease.kept(first, afterA);
    const second = lease.take(research, 'b') as LeasedAgent;
    expect(second?.agentId).toBe('researcher-1');
    expect(second?.memory).toEqual(afterA);
    expect(second?.prior).toMatchObject({ completed: 1 });
    const afterB = { $blob: `sha256:${'b'.repeat(64)}`, bytes: 120, count: 2 };
    lease.kept(second, afterB);
    lease.settle([]); // nothing ready: the instance goes back
    exchange();
    const inst = pool.view().agents[0];
    expect(inst).toMatchObject({ id: 'researcher-1', state: 'idle', tasksCompleted: 2, holder: null });
    expect(inst?.memory).toEqual(afterB);
    expect(inst?.transitions.map((t) => t.state)).toEqual(['created', 'idle', 'assigned', 'completed', 'idle']);
  });

  test('a looser fit is the pool’s call: an idle instance of another eligible type is not taken locally', () => {
    const { lease, exchange } = rig(3);
    lease.settle([{ types: ['writer'], count: 1, taskId: 'w', priority: 0 }]);
    exchange();
    const writer = lease.take(['writer'], 'w') as LeasedAgent;
    expect(writer.agentId).toBe('writer-1');
    lease.kept(writer);
    // A task that fits a researcher best may also run on a writer, but the pool may still spawn a researcher.
    expect(lease.hasIdle(['researcher', 'writer'])).toBe(false);
    expect(lease.hasIdle(['writer', 'researcher'])).toBe(true);
  });

  test('a task that died without a word: its instance is given back as failed; withdrawn requests are not served', () => {
    const { pool, lease, sent, exchange } = rig(1);
    lease.settle([{ types: research, count: 2, taskId: 'a', priority: 0 }]);
    exchange();
    lease.lost(lease.take(research, 'a') as LeasedAgent);
    lease.settle([]); // nothing needed any more: withdraws the rest of the request
    expect(sent.map((m) => m.kind)).toEqual(['release', 'cancel']);
    exchange();
    expect(pool.view()).toMatchObject({ busy: 0, queued: 0 });
    expect(pool.view().agents[0]).toMatchObject({ failures: 1, state: 'idle' });
  });

  test('an instance a task gave back and the pool granted again is not lost when that first task ends', () => {
    const { pool, lease, sent, exchange } = rig(1);
    lease.settle([{ types: research, count: 1, taskId: 'ask', priority: 0 }]);
    exchange();
    const ask = lease.take(research, 'ask') as LeasedAgent;
    // "ask" waits for a human: it gives its instance back itself; the lease asks again for "work".
    pool.release({ requestId: ask.grantId, agentId: ask.agentId, outcome: 'yielded' }, now);
    lease.settle([{ types: research, count: 1, taskId: 'work', priority: 0 }]);
    exchange();
    const work = lease.take(research, 'work') as LeasedAgent;
    expect(work.agentId).toBe(ask.agentId);
    expect(work.grantId).not.toBe(ask.grantId);
    lease.released(ask); // "ask" ends (rejected): its old grant, not "work"'s
    lease.lost(ask);
    expect(sent).toEqual([]);
    lease.kept(work);
    lease.settle([]);
    exchange();
    expect(pool.view()).toMatchObject({ busy: 0, active: 1 });
    expect(pool.view().agents[0]).toMatchObject({ state: 'idle', tasksCompleted: 1, failures: 0 });
  });

  test('a task whose workflow never started leaves its instance idle in the lease', () => {
    const { lease, exchange } = rig(1);
    lease.settle([{ types: research, count: 1, taskId: 'a', priority: 0 }]);
    exchange();
    lease.unused(lease.take(research, 'a') as LeasedAgent);
    expect(lease.take(research, 'b')?.agentId).toBe('researcher-1');
  });

  test('a grant for a request the lease no longer has goes straight back', () => {
    const { pool, lease, sent } = rig(2);
    pool.request({
      requestId: 'plan-p/old-run/lease-0',
      holder: 'plan-p',
      planId: 'p',
      taskId: 'x',
      priority: 0,
      types: research,
      exclude: [],
      count: 1,
    });
    lease.receive(pool.schedule(now));
    expect(sent).toEqual([
      {
        kind: 'release',
        release: { requestId: 'plan-p/old-run/lease-0', agentId: 'researcher-1', outcome: 'cancelled' },
      },
    ]);
    expect(lease.view()).toEqual([]);
  });

  test('MAX_AGENTS holds across leases of several plans; priority decides who is served first', () => {
    const pool = new PoolState({ ...settings, maxAgents: 2 }, DEFAULT_REGISTRY.agentTypes);
    const ask = (plan: string, priority: number, count: number) =>
      pool.request({
        requestId: `${plan}/lease-0`,
        holder: plan,
        planId: plan,
        taskId: 't',
        priority,
        types: research,
        exclude: [],
        count,
      });
    ask('low', 0, 2);
    ask('high', 5, 2);
    const grants = pool.schedule(now);
    expect(grants.map((g) => g.holder)).toEqual(['high', 'high']);
    expect(pool.view()).toMatchObject({ active: 2, busy: 2, queued: 1 });
    pool.release({ requestId: 'high/lease-0#0', agentId: grants[0]?.agentId as string, outcome: 'completed' }, now);
    expect(pool.schedule(now).map((g) => [g.holder, g.requestId])).toEqual([['low', 'low/lease-0#0']]);
    expect(pool.busyCount()).toBe(2);
  });
});
