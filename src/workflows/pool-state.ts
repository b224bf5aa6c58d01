import type { AgentType } from '../shared/agent-type';
import type { AcquireRequest, Grant, PoolSnapshot, PoolView, RefusedAgentType, Release } from '../shared/pool';
import type { AgentInstance } from '../shared/agent';
import type { PoolSettings } from '../shared/settings';
import { remember } from '../shared/agent';
import { packInstances, unpackInstances } from './pool-carry';
import { assignTo, newInstance, transitionTo } from './pool-instances';
import { addUsage } from '../shared/usage';
import { DEFAULT_TENANT } from '../shared/tenant';
import { priorityBands, serveInTurn, yieldsFor, type Queued, type Yield } from './fair-share';

/** Request ids remembered to ignore a repeated signal (a retried local activity may deliver one twice). */
const MAX_FINISHED = 1_000;
const MAX_TERMINATED = 50;
/** Refused agent types the pool shows (the latest). */
const MAX_REFUSED = 20;

interface PassIndex {
  idle: Map<string, AgentInstance[]>;
  count: Map<string, number>;
  /** Busy instances by the tenant holding them (fair share). */
  busyByTenant: Map<string, number>;
}

/** The id of the n-th instance granted for a request: the request's own id when it asks for one. */
const grantIdOf = (req: Queued, n: number): string =>
  (req.count ?? 1) === 1 ? req.requestId : `${req.requestId}#${n}`;
const belongsTo = (grantId: string | null, requestId: string): boolean =>
  grantId === requestId || (grantId?.startsWith(`${requestId}#`) ?? false);

/** What the pool carries across continue-as-new besides its types and instances: the snapshot's own fields. */
type Carried = Required<Omit<PoolSnapshot, 'settings' | 'types' | 'instances' | 'packed' | 'queue'>> & {
  queue: Queued[];
};

/** A fresh pool's carried state, or a copy of a snapshot's (the pool mutates its own, never its input). */
function carriedFrom(s: PoolSnapshot | undefined): Carried {
  return {
    counters: { ...s?.counters },
    queue: [...(s?.queue ?? [])],
    seq: s?.seq ?? 0,
    peakBusy: s?.peakBusy ?? 0,
    spawned: s?.spawned ?? 0,
    finishedRequests: [...(s?.finishedRequests ?? [])],
    terminated: [...(s?.terminated ?? [])],
    usageByType: { ...s?.usageByType },
    refusedTypes: [...(s?.refusedTypes ?? [])],
    applied: [...(s?.applied ?? [])],
  };
}

/**
 * The agent pool's state and policy, free of Temporal calls so it is easy to reason about and carry across
 * continue-as-new. Hard cap: never more than `maxAgents` instances in all, nor `maxInstances` of one type.
 */
export class PoolState {
  settings: PoolSettings;
  private types = new Map<string, AgentType>();
  private readonly instances = new Map<string, AgentInstance>();
  private readonly carried: Carried;
  private readonly finishedSet: Set<string>;
  /** Instances each lease holder was asked to give back and has not yet (fair share; not carried: asked afresh). */
  private readonly owed = new Map<string, number>();

  constructor(settings: PoolSettings, types: AgentType[], snapshot?: PoolSnapshot) {
    this.settings = settings;
    for (const t of snapshot?.types ?? types) this.types.set(t.name, t);
    for (const i of snapshot?.instances ?? []) this.instances.set(i.id, i);
    if (snapshot?.packed) for (const i of unpackInstances(snapshot.packed)) this.instances.set(i.id, i);
    this.carried = carriedFrom(snapshot);
    this.finishedSet = new Set(this.carried.finishedRequests);
  }

  snapshot(): PoolSnapshot {
    const { usageByType, refusedTypes, applied, ...carried } = this.carried;
    return {
      settings: this.settings,
      types: [...this.types.values()],
      packed: packInstances(this.instances.values()),
      ...carried,
      ...(Object.keys(usageByType).length > 0 ? { usageByType } : {}),
      ...(refusedTypes.length > 0 ? { refusedTypes } : {}),
      ...(applied.length > 0 ? { applied } : {}),
    };
  }

  /** Agent types the worker's check refused: shown (the latest MAX_REFUSED) in the pool's view, never run. */
  refuse(refused: RefusedAgentType[], now: Date): void {
    const at = now.toISOString();
    this.carried.refusedTypes = [...this.carried.refusedTypes, ...refused.map((r) => ({ ...r, at }))].slice(
      -MAX_REFUSED,
    );
  }

  /** The names a worker's configurePool carried (taken or refused): what readiness compares the registry file with. */
  get applied(): string[] {
    return this.carried.applied;
  }
  set applied(names: string[]) {
    this.carried.applied = names;
  }

  registry(): AgentType[] {
    return [...this.types.values()];
  }

  getType(name: string): AgentType | undefined {
    return this.types.get(name);
  }

  instance(id: string): AgentInstance | undefined {
    return this.instances.get(id) ?? this.carried.terminated.find((i) => i.id === id);
  }

  busyCount(type?: string): number {
    return [...this.instances.values()].filter((i) => i.holder !== null && (type === undefined || i.type === type))
      .length;
  }

  /** Registers or replaces an agent type. */
  upsertType(type: AgentType): void {
    this.types.set(type.name, type);
  }

  /** Removes a type: idle instances go, requests that only it could serve get an error. Returns those grants. */
  removeType(name: string, now: Date): Grant[] {
    this.types.delete(name);
    for (const i of [...this.instances.values()])
      if (i.type === name && i.holder === null) this.terminate(i.id, now, 'agent type removed');
    const grants: Grant[] = [];
    this.carried.queue = this.carried.queue.filter((r) => {
      r.types = r.types.filter((t) => t !== name);
      if (r.types.length > 0) return true;
      grants.push({
        requestId: r.requestId,
        holder: r.holder,
        error: `agent type "${name}" was removed from the registry`,
      });
      this.finish(r.requestId);
      return false;
    });
    return grants;
  }

  /** Queues a request; a repeated or already finished request id is ignored (the signal may be delivered twice). */
  request(req: AcquireRequest): void {
    if (this.finishedSet.has(req.requestId) || this.carried.queue.some((r) => r.requestId === req.requestId)) return;
    for (const i of this.instances.values()) if (i.requestId === req.requestId) return;
    this.carried.queue.push({ ...req, seq: this.carried.seq++ });
  }

  /** A lease no longer needs the rest of its request: drop it from the queue; what was granted stays granted. */
  withdraw(requestId: string): void {
    this.carried.queue = this.carried.queue.filter((r) => r.requestId !== requestId);
    this.finish(requestId);
  }

  /** The requester gave up (cancelled): drop its queued request, or release what it was granted. */
  cancel(requestId: string, now: Date): void {
    this.carried.queue = this.carried.queue.filter((r) => r.requestId !== requestId);
    // A single grant, or a lease's grants still in flight to a holder that gave up: free them.
    for (const held of [...this.instances.values()].filter((i) => belongsTo(i.requestId, requestId)))
      this.release({ requestId: held.requestId as string, agentId: held.id, outcome: 'cancelled' }, now);
    this.finish(requestId);
  }

  /** A task is done with its instance. Stale or repeated releases are ignored. */
  release(rel: Release, now: Date): void {
    const inst = this.instances.get(rel.agentId);
    this.finish(rel.requestId);
    if (!inst || inst.requestId !== rel.requestId) return;
    if (rel.usage) this.carried.usageByType[inst.type] = addUsage(this.carried.usageByType[inst.type], rel.usage);
    const at = now.toISOString();
    const taskId = inst.taskId ?? undefined;
    const owing = inst.holder === null ? 0 : (this.owed.get(inst.holder) ?? 0);
    if (owing > 1) this.owed.set(inst.holder as string, owing - 1);
    else if (owing === 1) this.owed.delete(inst.holder as string);
    if (rel.completed) {
      inst.tasksCompleted += rel.completed;
      inst.consecutiveFailures = 0;
    }
    if (rel.outcome === 'completed') {
      if (rel.completed === undefined) inst.tasksCompleted++;
      inst.consecutiveFailures = 0;
      transitionTo(inst, 'completed', at, taskId);
    } else if (rel.outcome === 'failed') {
      inst.failures++;
      inst.consecutiveFailures++;
      transitionTo(inst, 'failed', at, taskId);
    }
    if (rel.memory !== undefined) inst.memory = rel.memory;
    else if (rel.note && Array.isArray(inst.memory)) inst.memory = remember(inst.memory, [rel.note]);
    inst.holder = null;
    delete inst.tenant;
    inst.requestId = null;
    inst.planId = null;
    inst.taskId = null;
    inst.lastActiveAt = at;
    if (inst.consecutiveFailures >= this.settings.quarantineAfter) {
      this.terminate(inst.id, now, `quarantined after ${inst.consecutiveFailures} failures in a row`);
    } else {
      transitionTo(inst, 'idle', at);
    }
  }

  /** The grant never reached its holder (it is gone): the instance is free again, with nothing counted. */
  ungrant(requestId: string, now: Date): void {
    const inst = [...this.instances.values()].find((i) => i.requestId === requestId);
    if (inst) this.release({ requestId, agentId: inst.id, outcome: 'cancelled' }, now);
  }

  /**
   * Serves queued requests in priority order, then arrival. For each request, eligible types are tried tightest fit
   * first: an idle instance of that type (the least recently used) or else a new one if the type and the pool have
   * room; only when every eligible type is full does the work spill to a looser type. When the global cap is the only
   * obstacle, the least recently used idle instance of another type is evicted to make room. A request that needs
   * capacity blocks lower ones from spawning, so priority holds under pressure.
   */
  schedule(now: Date): Grant[] {
    const grants: Grant[] = [];
    const ordered = [...this.carried.queue].sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    let capacityBlocked = false;
    const served = new Set<string>();
    const pass = this.passIndex();
    /** One more instance for `req`; false when none can be placed now (the request waits in the queue). */
    const grantOne = (req: Queued): boolean => {
      const inst = this.place(req, now, !capacityBlocked, pass);
      if (!inst) {
        capacityBlocked = true;
        return false;
      }
      const grantId = grantIdOf(req, req.granted ?? 0);
      req.granted = (req.granted ?? 0) + 1;
      assignTo(inst, req, grantId, now);
      const runtime = this.types.get(inst.type)?.runtime;
      grants.push({
        requestId: grantId,
        holder: req.holder,
        agentId: inst.id,
        agentType: inst.type,
        memory: inst.memory,
        ...(!runtime || runtime.provider === 'offline' ? { offline: true } : {}),
      });
      if (req.granted >= (req.count ?? 1)) {
        served.add(req.requestId);
        this.finish(req.requestId);
      }
      return true;
    };
    if (this.settings.fairShare === false) {
      // A lease is served instance by instance, as far as capacity goes; the rest waits in the queue.
      for (const req of ordered) while ((req.granted ?? 0) < (req.count ?? 1) && grantOne(req));
    } else {
      for (const band of priorityBands(ordered)) serveInTurn(band, pass.busyByTenant, grantOne);
    }
    if (served.size > 0) this.carried.queue = this.carried.queue.filter((r) => !served.has(r.requestId));
    this.carried.peakBusy = Math.max(this.carried.peakBusy, this.busyCount());
    return grants;
  }

  /**
   * Fair share: which lease holders to ask for instances back, and how many more, after a scheduling pass that left
   * another tenant waiting while one holds more than its share (fair-share.ts). Nothing with fair share off, or with one
   * tenant: the pool then sends exactly what it sent before tenants existed.
   */
  yields(): Yield[] {
    if (this.settings.fairShare === false || this.carried.queue.length === 0) return [];
    const asked = yieldsFor(this.carried.queue, this.instances.values(), this.settings.maxAgents, this.owed);
    for (const y of asked) this.owed.set(y.holder, (this.owed.get(y.holder) ?? 0) + y.count);
    return asked;
  }

  /** A holder that could not be asked (it has closed): it owes nothing. */
  forgetOwed(holder: string): void {
    this.owed.delete(holder);
  }

  /**
   * Idle instances by type, least recently used first, and instances per type: built once per scheduling pass (a scan
   * per grant would cost seconds per pass at 10,000 instances) and kept current by place() during the pass.
   */
  private passIndex(): PassIndex {
    const idle = new Map<string, AgentInstance[]>();
    const count = new Map<string, number>();
    const busyByTenant = new Map<string, number>();
    for (const i of this.instances.values()) {
      count.set(i.type, (count.get(i.type) ?? 0) + 1);
      if (i.holder !== null) {
        const tenant = i.tenant ?? DEFAULT_TENANT;
        busyByTenant.set(tenant, (busyByTenant.get(tenant) ?? 0) + 1);
        continue;
      }
      const list = idle.get(i.type);
      if (list) list.push(i);
      else idle.set(i.type, [i]);
    }
    for (const list of idle.values())
      list.sort(
        (a, b) =>
          Date.parse(a.lastActiveAt) - Date.parse(b.lastActiveAt) ||
          a.tasksCompleted - b.tasksCompleted ||
          (a.id < b.id ? -1 : 1),
      );
    return { idle, count, busyByTenant };
  }

  private place(req: Queued, now: Date, mayGrow: boolean, pass: PassIndex): AgentInstance | undefined {
    // Taken this pass (still listed) or excluded for this request are skipped.
    const idleOf = (type: string): AgentInstance | undefined => {
      const list = pass.idle.get(type) ?? [];
      const free = (i: AgentInstance | undefined) => i !== undefined && i.holder === null && this.instances.has(i.id);
      while (list.length > 0 && !free(list[0])) list.shift();
      return list.find((i) => free(i) && !req.exclude.includes(i.id));
    };
    const spawn = (type: string) => {
      pass.count.set(type, (pass.count.get(type) ?? 0) + 1);
      return this.spawn(type, now);
    };
    const types = req.types.filter((t) => this.types.has(t));
    const preferred = req.prefer ? this.instances.get(req.prefer) : undefined;
    if (preferred && preferred.holder === null && types.includes(preferred.type)) return preferred;
    const count = (type: string) => pass.count.get(type) ?? 0;
    for (const type of types) {
      const idle = idleOf(type);
      if (idle) return idle;
      if (
        mayGrow &&
        count(type) < (this.types.get(type)?.maxInstances ?? 0) &&
        this.instances.size < this.settings.maxAgents
      ) {
        return spawn(type);
      }
    }
    if (!mayGrow) return undefined;
    // Every eligible type is full or the pool is at its cap: make room by evicting an idle instance nobody here can use
    // (the least recently used), then spawn.
    for (const type of types) {
      const typeFull = count(type) >= (this.types.get(type)?.maxInstances ?? 0);
      const victim = [...this.instances.values()]
        .filter((i) => i.holder === null && (typeFull ? i.type === type : true))
        .sort((a, b) => Date.parse(a.lastActiveAt) - Date.parse(b.lastActiveAt))[0];
      if (!victim) continue;
      if (!typeFull && this.instances.size < this.settings.maxAgents) return spawn(type);
      this.terminate(victim.id, now, 'evicted to make room');
      pass.count.set(victim.type, count(victim.type) - 1);
      return spawn(type);
    }
    return undefined;
  }

  /** Terminates idle instances past their type's idle TTL; returns their ids. */
  expire(now: Date): string[] {
    const gone: string[] = [];
    for (const inst of [...this.instances.values()]) {
      if (inst.holder !== null) continue;
      const ttl = (this.types.get(inst.type)?.idleTtlSeconds ?? 600) * 1_000;
      if (Date.parse(inst.lastActiveAt) + ttl <= now.getTime()) {
        this.terminate(inst.id, now, 'idle TTL');
        gone.push(inst.id);
      }
    }
    return gone;
  }

  /** Milliseconds until the next idle instance expires, if any. */
  msUntilNextExpiry(now: Date): number | undefined {
    let next: number | undefined;
    for (const inst of this.instances.values()) {
      if (inst.holder !== null) continue;
      const at = Date.parse(inst.lastActiveAt) + (this.types.get(inst.type)?.idleTtlSeconds ?? 600) * 1_000;
      next = next === undefined ? at : Math.min(next, at);
    }
    return next === undefined ? undefined : Math.max(0, next - now.getTime());
  }

  terminate(agentId: string, now: Date, _why: string): boolean {
    const inst = this.instances.get(agentId);
    if (!inst || inst.holder !== null) return false;
    transitionTo(inst, 'terminated', now.toISOString());
    this.instances.delete(agentId);
    this.carried.terminated.push(inst);
    if (this.carried.terminated.length > MAX_TERMINATED) this.carried.terminated.shift();
    return true;
  }

  holders(): { agentId: string; holder: string; requestId: string }[] {
    return [...this.instances.values()]
      .filter((i) => i.holder !== null && i.requestId !== null)
      .map((i) => ({ agentId: i.id, holder: i.holder as string, requestId: i.requestId as string }));
  }

  /** Queued requests whose workflows may have died. */
  queuedHolders(): { holder: string; requestId: string }[] {
    return this.carried.queue.map((r) => ({ holder: r.holder, requestId: r.requestId }));
  }

  view(): PoolView {
    const agents = [...this.instances.values()];
    return {
      maxAgents: this.settings.maxAgents,
      active: agents.length,
      busy: this.busyCount(),
      queued: this.carried.queue.length,
      peakBusy: this.carried.peakBusy,
      spawned: this.carried.spawned,
      agents,
      queue: [...this.carried.queue]
        .sort((a, b) => b.priority - a.priority || a.seq - b.seq)
        .map((r) => ({
          requestId: r.requestId,
          planId: r.planId,
          taskId: r.taskId,
          priority: r.priority,
          types: r.types,
        })),
      recentlyTerminated: this.carried.terminated,
      usageByType: this.carried.usageByType,
      ...(this.carried.refusedTypes.length > 0 ? { refusedTypes: this.carried.refusedTypes } : {}),
    };
  }

  private spawn(type: string, now: Date): AgentInstance {
    const n = (this.carried.counters[type] ?? 0) + 1;
    this.carried.counters[type] = n;
    this.carried.spawned++;
    const inst = newInstance(type, n, now.toISOString());
    this.instances.set(inst.id, inst);
    return inst;
  }

  private finish(requestId: string): void {
    if (this.finishedSet.has(requestId)) return;
    this.carried.finishedRequests.push(requestId);
    this.finishedSet.add(requestId);
    if (this.carried.finishedRequests.length > MAX_FINISHED)
      this.finishedSet.delete(this.carried.finishedRequests.shift() as string);
  }
}
