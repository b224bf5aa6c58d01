import { addUsage, type Usage } from '../shared/usage';
import { type Grant, type LeasedAgent, type LeaseView, type LeaseWork, type PoolRequest } from '../shared/pool';
import { type Memory } from '../shared/agent';

export type { LeasedAgent } from '../shared/pool';

interface Held extends LeasedAgent, LeaseWork {
  /** Its memory grew while leased: the pool gets the new one back. */
  memoryChanged?: boolean;
  /** The set of types the pool granted it for: the pool's choice of fit for tasks of that set. */
  key: string;
  /** The task it is working on; none while idle in the lease. */
  taskId?: string;
  served: string[];
}

/** Ready tasks of one set of eligible types that no leased instance could take. */
export interface Shortfall {
  /** Eligible types, best fit first. */
  types: string[];
  count: number;
  /** The first of them (highest priority): shown in the pool's queue. */
  taskId: string;
  priority: number;
}

const MAX_SERVED = 20;
const keyOf = (types: string[]): string => types.join('|');
const baseOf = (grantId: string): string => {
  const hash = grantId.lastIndexOf('#');
  return hash < 0 ? grantId : grantId.slice(0, hash);
};

/**
 * Agent instances leased from the pool by one workflow that runs tasks (a plan, or a coordinator for its sub-agents).
 * The holder asks the pool for as many instances as its ready tasks lack, in one request per set of types, and assigns
 * them to tasks itself: an instance that completes a task goes straight on to the next ready task that fits, memory and
 * all, with no round trip to the pool. Instances nobody here needs go back at once, with what they did while leased.
 * Pure: pool messages go out through `send`, so the policy is testable without a server. Deterministic.
 */
export class AgentLease {
  private readonly held = new Map<string, Held>();
  /** Requests the pool has not fully served, by types key. */
  private readonly outstanding = new Map<string, { requestId: string; left: number }[]>();
  /** Types keys the pool can never serve (the type was removed), with the reason. */
  private readonly refused = new Map<string, string>();
  private requests = 0;
  /** Instances the pool asked back (fair share): each goes back as its task finishes, until none is owed. */
  private yielding = 0;

  constructor(
    /** The holder's workflow id (where grants go) and a prefix unique to this run for request ids. */
    private readonly holder: string,
    /** Prefix of request ids, asked at each request (see request-ids.ts): ids are never reused for another request. */
    private readonly requestPrefix: () => string,
    private readonly planId: string,
    private readonly send: (message: PoolRequest) => void,
    /** The plan's tenant, on every request (the pool's fair share). */
    private readonly tenant?: string,
  ) {}

  /** Grants from the pool. A grant for a request this lease no longer has goes straight back. */
  receive(grants: Grant[]): void {
    for (const g of grants) {
      const base = baseOf(g.requestId);
      const entry = [...this.outstanding.entries()].find(([, list]) => list.some((o) => o.requestId === base));
      if (!entry) {
        if (g.agentId) this.release(g.requestId, g.agentId, 'cancelled');
        continue;
      }
      const [key, list] = entry;
      const req = list.find((o) => o.requestId === base) as { requestId: string; left: number };
      if (g.error || !g.agentId) {
        this.refused.set(key, g.error ?? 'no agent granted');
        this.outstanding.delete(key);
        continue;
      }
      if (--req.left <= 0) list.splice(list.indexOf(req), 1);
      if (list.length === 0) this.outstanding.delete(key);
      this.held.set(g.agentId, {
        agentId: g.agentId,
        agentType: g.agentType ?? '',
        key,
        grantId: g.requestId,
        memory: g.memory ?? [],
        offline: g.offline === true,
        served: [],
        completed: 0,
      });
    }
  }

  /** Why tasks of these types can never get an agent, if so. */
  refusal(types: string[]): string | undefined {
    return this.refused.get(keyOf(types));
  }

  /**
   * An idle instance for a task of these types, now assigned to it; undefined if none. It must be of the best-fit type,
   * or one the pool granted for this very set of types: a looser fit is the pool's call (it may have room to spawn the
   * better one).
   */
  take(types: string[], taskId: string): LeasedAgent | undefined {
    const h = this.idleFor(types);
    if (h) {
      h.taskId = taskId;
      h.served = [...h.served, taskId].slice(-MAX_SERVED);
      const { agentId, agentType, grantId, memory, offline, completed, usage } = h;
      return {
        agentId,
        agentType,
        grantId,
        memory,
        offline,
        ...(completed > 0 || usage ? { prior: { completed, ...(usage ? { usage } : {}) } } : {}),
      };
    }
    return undefined;
  }

  private idleFor(types: string[]): Held | undefined {
    const key = keyOf(types);
    for (const h of this.held.values())
      if (h.taskId === undefined && (h.agentType === types[0] || h.key === key)) return h;
    return undefined;
  }

  /** True when an idle instance of one of these types is at hand. */
  hasIdle(types: string[]): boolean {
    return this.idleFor(types) !== undefined;
  }

  /**
   * The task completed on its instance and kept it: the instance is free for the next task, remembering this one;
   * or, when the pool asked for instances back (yieldBack), it goes back to the pool now.
   */
  kept(agent: LeasedAgent, memory?: Memory, usage?: Usage): void {
    const h = this.mine(agent);
    if (!h) return;
    h.taskId = undefined;
    h.completed++;
    if (memory !== undefined) {
      h.memory = memory;
      h.memoryChanged = true;
    }
    if (usage) h.usage = addUsage(h.usage, usage);
    if (this.yielding > 0) {
      this.yielding--;
      this.held.delete(agent.agentId);
      this.release(h.grantId, agent.agentId, 'completed', h);
    }
  }

  /** The pool asks for `count` more instances back (another tenant waits): they go back as their tasks finish. */
  yieldBack(count: number): void {
    this.yielding += Math.max(0, Math.floor(count));
  }

  /** The task gave its instance back to the pool itself, with the lease's earlier work (see LeasedAgent.prior). */
  released(agent: LeasedAgent): void {
    if (this.mine(agent)) this.held.delete(agent.agentId);
  }

  /** The task never started (cancelled before its workflow ran): the instance is idle in the lease again. */
  unused(agent: LeasedAgent): void {
    const h = this.mine(agent);
    if (h) h.taskId = undefined;
  }

  /**
   * The lease's entry for the instance a task was given, if it is still that grant: a task may give its instance
   * back and the pool grant the same instance to this lease again, for another task.
   */
  private mine(agent: LeasedAgent): Held | undefined {
    const h = this.held.get(agent.agentId);
    return h?.grantId === agent.grantId ? h : undefined;
  }

  /** The task ended without a word about its instance (its workflow was terminated or timed out): it failed there. */
  lost(agent: LeasedAgent): void {
    this.giveBack(agent, 'failed');
  }

  /** The instance failed its task (`cancelled`: through no fault of its own) before a task workflow had it: back to the pool. */
  giveBack(agent: LeasedAgent, outcome: 'failed' | 'cancelled'): void {
    const h = this.mine(agent);
    if (!h) return;
    this.held.delete(agent.agentId);
    this.release(h.grantId, agent.agentId, outcome, h);
  }

  /**
   * After a scheduling pass: ask for what the ready tasks still lack, withdraw what they no longer need, and hand back
   * idle instances (nobody here can use them now; another plan may).
   */
  settle(shortfalls: Shortfall[]): void {
    const wanted = new Map(shortfalls.map((s) => [keyOf(s.types), s]));
    for (const [key, list] of [...this.outstanding.entries()]) {
      if ((wanted.get(key)?.count ?? 0) > 0) continue;
      for (const o of list) this.send({ kind: 'cancel', requestId: o.requestId, onlyQueued: true });
      this.outstanding.delete(key);
    }
    for (const [key, s] of wanted) {
      if (this.refused.has(key)) continue;
      const list = this.outstanding.get(key) ?? [];
      const asked = list.reduce((n, o) => n + o.left, 0);
      if (s.count <= asked) continue;
      const requestId = `${this.requestPrefix()}/lease-${this.requests++}`;
      const count = s.count - asked;
      list.push({ requestId, left: count });
      this.outstanding.set(key, list);
      this.send({
        kind: 'acquire',
        request: {
          requestId,
          holder: this.holder,
          planId: this.planId,
          taskId: s.taskId,
          priority: s.priority,
          ...(this.tenant !== undefined ? { tenant: this.tenant } : {}),
          types: s.types,
          exclude: [],
          count,
        },
      });
    }
    for (const h of [...this.held.values()]) {
      if (h.taskId !== undefined) continue;
      this.held.delete(h.agentId);
      this.release(h.grantId, h.agentId, 'completed', h);
    }
  }

  /** Hands back every idle instance and withdraws every request (the holder is closing or continuing as new). */
  close(): void {
    this.settle([]);
  }

  busyCount(): number {
    return [...this.held.values()].filter((h) => h.taskId !== undefined).length;
  }

  view(): LeaseView {
    return [...this.held.values()].map((h) => ({
      agentId: h.agentId,
      agentType: h.agentType,
      ...(h.taskId ? { taskId: h.taskId } : {}),
      served: h.served,
    }));
  }

  private release(grantId: string, agentId: string, outcome: 'completed' | 'failed' | 'cancelled', h?: Held): void {
    // `outcome` is how the last task went; `completed` counts every task done on it while leased.
    const last = outcome === 'completed' && (h?.completed ?? 0) === 0 ? 'cancelled' : outcome;
    this.send({
      kind: 'release',
      release: {
        requestId: grantId,
        agentId,
        outcome: last,
        ...(h && h.completed > 0 ? { completed: h.completed } : {}),
        ...(h?.memoryChanged ? { memory: h.memory } : {}),
        ...(h?.usage ? { usage: h.usage } : {}),
      },
    });
  }
}
