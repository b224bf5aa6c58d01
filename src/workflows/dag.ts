import { ApplicationFailure, CancellationScope, condition, isCancellation } from '@temporalio/workflow';
import type { FailurePolicy } from '../shared/plan';
import type { TaskSpec } from '../shared/task';
import type { AgentMail } from '../shared/agent-mail';
import type { PlanProgress } from '../shared/plan';
import type { TaskError, TaskOutcome, TaskState, TaskView } from '../shared/task';
import type { AgentLease, LeasedAgent } from './agent-lease';
import { packRecord, unpackRecord, type DagSnapshot, type TaskRecord } from './dag-carry';
import { BUDGET_STOP, describeFailure, INPUT_TIMEOUT_SKIP } from './failures';
import { ReadyQueue, typesOf } from './ready-queue';

export type { CarriedRecord, DagSnapshot } from './dag-carry';

/** `id` is one of these tasks or their sub-agents, declared or made by a coordinator's reasoning (`<parent>.<id>`). */
export function inTree(specs: TaskSpec[], id: string): boolean {
  return specs.some((s) => s.id === id || id.startsWith(`${s.id}.`) || inTree(s.subtasks, id));
}

export type StartTask = (
  task: TaskSpec,
  dependencies: Record<string, unknown>,
  inbox: AgentMail[],
  onStarted: () => void,
  agent?: LeasedAgent,
) => Promise<TaskOutcome>;

/** Hooks the owner of an executor uses to route messages to its tasks. */
export interface DagHooks {
  /** Messages held for a task that is about to start: they go into its input. */
  takeInbox?(taskId: string): AgentMail[];
  /** The task's workflow is running and can receive signals. */
  onStarted?(taskId: string): void;
  /** How a carried-over completed task's output is referred to (its task workflow's result). */
  outputRef?(taskId: string): unknown;
  /** Agents leased from the pool: a task starts only once one of its types is at hand (see AgentLease). */
  lease?: AgentLease;
}

/** Inputs bigger than this (as JSON) pass outputs by reference, so many mid-sized outputs cannot add up past 2 MB. */
export const INLINE_OUTPUTS_LIMIT = 256 * 1024;

/** Outputs by task id, or references to them (resolved by the activities) when together they are large. */
function byReferenceIfLarge(
  outputs: Record<string, unknown>,
  refOf: (taskId: string) => unknown,
): Record<string, unknown> {
  if (JSON.stringify(outputs).length <= INLINE_OUTPUTS_LIMIT) return outputs;
  return Object.fromEntries(Object.keys(outputs).map((id) => [id, refOf(id)]));
}

/**
 * Runs sibling tasks as a DAG inside a workflow: honours dependsOn, priority and maxConcurrency, applies the failure
 * policy, and records every task's state. Deterministic: all decisions come from workflow state and child results.
 */
export class DagExecutor {
  private readonly records = new Map<string, TaskRecord>();
  private readonly inFlight = new Map<string, CancellationScope>();
  private readonly dependents = new Map<string, string[]>();
  private readonly unmet = new Map<string, number>();
  private readonly ready = new ReadyQueue<TaskRecord>();
  private dirty = true;
  private cancelled = false;
  private failedFastBy?: string;
  /** Set when the budget ran out: nothing new starts; what never started ends skipped with this reason. */
  private stoppedFor?: string;
  paused = false;
  /** Asked between launches; when true, no new task starts and run() returns 'yield' once the running ones finish. */
  shouldYield: () => boolean = () => false;

  constructor(
    tasks: TaskSpec[],
    private readonly options: { failurePolicy: FailurePolicy; maxConcurrency: number },
    private readonly start: StartTask,
    private readonly hooks: DagHooks = {},
    carried?: DagSnapshot,
  ) {
    const saved = new Map((carried?.records ?? []).map((r) => [r[0], r]));
    tasks.forEach((spec, index) => {
      const packed = saved.get(spec.id);
      const fresh: TaskRecord = { spec, index, state: 'pending', attempts: 0, assignments: [], subtasks: [] };
      const rec = packed ? unpackRecord(fresh, packed, this.hooks.outputRef) : fresh;
      this.records.set(spec.id, rec);
      for (const dep of spec.dependsOn) this.dependents.set(dep, [...(this.dependents.get(dep) ?? []), spec.id]);
    });
    this.paused = carried?.paused ?? false;
    this.stoppedFor = carried?.stopped;
    for (const rec of this.records.values()) {
      if (rec.state !== 'pending') continue;
      const unmet = rec.spec.dependsOn.filter((d) => !this.satisfied(d)).length;
      this.unmet.set(rec.spec.id, unmet);
      if (unmet === 0) this.pushReady(rec);
    }
  }

  /**
   * What a continued-as-new run needs to pick up where this one stopped. Only finished and pending tasks exist at that
   * point (run() drained the running ones). Outputs are not carried: they are in the task workflows' results, and the
   * next run refers to them through `hooks.outputRef`.
   */
  snapshot(): DagSnapshot {
    const records = [...this.records.values()].filter((r) => r.state !== 'pending').map(packRecord);
    return { paused: this.paused, records, ...(this.stoppedFor ? { stopped: this.stoppedFor } : {}) };
  }

  /**
   * Resolves once no task is running and none can start. If the surrounding scope is cancelled, it cancels its tasks,
   * waits for them to acknowledge (so a cancelled subtree has really stopped), then rethrows the cancellation.
   */
  async run(): Promise<'done' | 'yield'> {
    try {
      if ((await this.loop()) === 'yield') return 'yield';
    } catch (err) {
      if (!isCancellation(err)) throw err;
      this.cancelAll();
      await CancellationScope.nonCancellable(() => this.loop());
      this.sweep();
      throw err;
    }
    this.sweep();
    return 'done';
  }

  private async loop(): Promise<'done' | 'yield'> {
    for (;;) {
      const stopping = this.cancelled || this.failedFastBy !== undefined || this.stoppedFor !== undefined;
      const yielding = !stopping && this.shouldYield();
      if (!stopping && !yielding && !this.paused) this.launchReady();
      else this.hooks.lease?.settle([]);
      if (this.inFlight.size === 0) {
        if (stopping || !this.hasReady()) return 'done';
        if (yielding) return 'yield';
      }
      await condition(() => this.dirty);
      this.dirty = false;
    }
  }

  /** Whatever never started ends cancelled or skipped, with the reason. */
  private sweep(): void {
    for (const rec of this.records.values()) {
      if (rec.state !== 'pending') continue;
      if (this.cancelled) this.finish(rec, 'cancelled', { reason: 'plan cancelled' });
      else if (this.failedFastBy)
        this.finish(rec, 'skipped', { reason: `not started: task "${this.failedFastBy}" failed (fail-fast)` });
      else if (this.stoppedFor) this.finish(rec, 'skipped', { reason: this.stoppedFor });
      else this.finish(rec, 'skipped', { reason: 'not started: its dependencies never completed' });
    }
  }

  /** Something outside changed what can start (agents arrived): look again. */
  poke(): void {
    this.dirty = true;
  }

  /** Starts nothing more (running tasks are left to their owner to stop); pending tasks end skipped with `reason`. */
  stop(reason: string): void {
    this.stoppedFor ??= reason;
    this.dirty = true;
  }

  get stopReason(): string | undefined {
    return this.stoppedFor;
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.dirty = true;
  }

  /** Stops everything: running tasks are cancelled, pending ones end cancelled. */
  cancelAll(): void {
    this.cancelled = true;
    for (const scope of this.inFlight.values()) scope.cancel();
    this.dirty = true;
  }

  /** Cancels one task: running → its child is cancelled; pending → cancelled now. Returns false for unknown or finished tasks. */
  cancelTask(taskId: string, reason = 'cancelled by request'): boolean {
    const rec = this.records.get(taskId);
    if (!rec) return false;
    const scope = this.inFlight.get(taskId);
    if (scope) {
      scope.cancel();
      return true;
    }
    if (rec.state !== 'pending') return false;
    this.finish(rec, 'cancelled', { reason });
    this.skipDependents(taskId, `dependency "${taskId}" was cancelled`);
    this.dirty = true;
    return true;
  }

  has(taskId: string): boolean {
    return this.records.has(taskId);
  }

  stateOf(taskId: string): TaskState | undefined {
    return this.records.get(taskId)?.state;
  }

  /** Running and able to receive signals. */
  isStarted(taskId: string): boolean {
    const rec = this.records.get(taskId);
    return rec?.started === true && this.inFlight.has(taskId);
  }

  runningTaskIds(): string[] {
    return [...this.inFlight.keys()];
  }

  setAgent(taskId: string, agentId: string): void {
    const rec = this.records.get(taskId);
    if (rec && this.inFlight.has(taskId)) rec.agentId = agentId;
  }

  /**
   * The task of this DAG whose sub-agents include `id`, at any depth: declared subtasks, or ids a coordinator's
   * reasoning made (prefixed `<coordinator>.`).
   */
  subtreeOf(id: string): string | undefined {
    for (const rec of this.records.values())
      if (id.startsWith(`${rec.spec.id}.`) || inTree(rec.spec.subtasks, id)) return rec.spec.id;
    return undefined;
  }

  /** The task an agent instance is working on right now, or last worked on. */
  taskOfAgent(agentId: string): string | undefined {
    const matches = [...this.records.values()].filter((r) => r.agentId === agentId);
    return (matches.find((r) => this.inFlight.has(r.spec.id)) ?? matches[0])?.spec.id;
  }

  isCancelled(): boolean {
    return this.cancelled;
  }

  /** The first required task that failed under fail-fast, if any. */
  get failedFast(): string | undefined {
    return this.failedFastBy;
  }

  /** True when a non-optional task did not complete. */
  hasRequiredFailure(): boolean {
    return [...this.records.values()].some((r) => !r.spec.optional && r.state !== 'completed');
  }

  /** Some task ran sub-agents (declared or from its reasoning). */
  hasSubAgents(): boolean {
    return [...this.records.values()].some((r) => r.subtasks.length > 0 || r.spec.subtasks.length > 0);
  }

  anyCompleted(): boolean {
    return [...this.records.values()].some((r) => r.state === 'completed');
  }

  outputs(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const rec of this.records.values()) if (rec.state === 'completed') out[rec.spec.id] = rec.output;
    return out;
  }

  /** The outputs to hand on (a result, a coordinator's synthesis): by reference when together they are large. */
  outputsToHandOn(): Record<string, unknown> {
    const refOf = this.hooks.outputRef;
    return refOf ? byReferenceIfLarge(this.outputs(), refOf) : this.outputs();
  }

  errors(): Record<string, TaskError & { state: TaskState; reason?: string }> {
    const out: Record<string, TaskError & { state: TaskState; reason?: string }> = {};
    for (const rec of this.records.values()) {
      if (rec.state === 'completed') continue;
      const error = rec.error ?? { message: rec.reason ?? rec.state, type: rec.state };
      out[rec.spec.id] = { ...error, state: rec.state, ...(rec.reason ? { reason: rec.reason } : {}) };
    }
    return out;
  }

  views(): TaskView[] {
    return [...this.records.values()].map((r) => ({
      id: r.spec.id,
      state: r.state,
      agentId: r.agentId,
      agentType: r.spec.agentType,
      ...(r.spec.dependsOn.length > 0 ? { dependsOn: r.spec.dependsOn } : {}),
      attempts: r.attempts,
      assignments: r.assignments,
      error: r.error,
      reason: r.reason,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      subtasks: r.subtasks,
    }));
  }

  progress(): PlanProgress {
    const p: PlanProgress = { total: 0, pending: 0, running: 0, completed: 0, failed: 0, skipped: 0, cancelled: 0 };
    for (const r of this.records.values()) {
      p.total++;
      if (
        r.state === 'pending' ||
        r.state === 'completed' ||
        r.state === 'failed' ||
        r.state === 'skipped' ||
        r.state === 'cancelled'
      )
        p[r.state]++;
      else p.running++;
    }
    return p;
  }

  private pushReady(rec: TaskRecord): void {
    this.ready.push(rec);
  }

  private hasReady(): boolean {
    return this.ready.hasReady();
  }

  /** A dependency just became satisfied (completed, or an optional one failed): its dependents may be ready now. */
  private unblockDependents(depId: string): void {
    for (const id of this.dependents.get(depId) ?? []) {
      const rec = this.records.get(id);
      if (rec?.state !== 'pending') continue;
      const left = (this.unmet.get(id) ?? 1) - 1;
      this.unmet.set(id, left);
      if (left === 0) this.pushReady(rec);
    }
  }

  private satisfied(depId: string): boolean {
    const dep = this.records.get(depId);
    return dep !== undefined && (dep.state === 'completed' || (dep.spec.optional && dep.state === 'failed'));
  }

  /**
   * Starts the best ready tasks that have room and (when leasing) an agent at hand, then tells the lease what the rest
   * lack. Tasks whose types the pool refuses (the type was removed) fail.
   */
  private launchReady(): void {
    const lease = this.hooks.lease;
    const canStart = lease
      ? (types: string[]) => lease.hasIdle(types) || lease.refusal(types) !== undefined
      : undefined;
    while (this.inFlight.size < this.options.maxConcurrency) {
      const rec = this.ready.pop(canStart);
      if (!rec) break;
      const refusal = lease?.refusal(typesOf(rec.spec));
      if (lease && refusal !== undefined && !lease.hasIdle(typesOf(rec.spec))) {
        this.onFailure(rec, ApplicationFailure.create({ type: 'NoAgentType', message: refusal, nonRetryable: true }));
        continue;
      }
      this.launch(rec, lease?.take(typesOf(rec.spec), rec.spec.id));
    }
    lease?.settle(this.ready.shortfalls(this.options.maxConcurrency - this.inFlight.size));
  }

  private launch(rec: TaskRecord, agent?: LeasedAgent): void {
    const id = rec.spec.id;
    let deps: Record<string, unknown> = {};
    for (const d of rec.spec.dependsOn) deps[d] = this.records.get(d)?.output;
    const refOf = this.hooks.outputRef;
    if (refOf) deps = byReferenceIfLarge(deps, refOf);
    rec.state = 'assigned';
    rec.startedAt = new Date().toISOString();
    if (agent) rec.agentId = agent.agentId;
    const scope = new CancellationScope();
    this.inFlight.set(id, scope);
    const inbox = this.hooks.takeInbox?.(id) ?? [];
    const onStarted = () => {
      rec.started = true;
      this.hooks.onStarted?.(id);
    };
    void scope
      .run(() => this.start(rec.spec, deps, inbox, onStarted, agent))
      .then(
        (outcome) => {
          if (agent) {
            if (outcome.kept) this.hooks.lease?.kept(agent, outcome.kept.memory, outcome.kept.usage);
            else this.hooks.lease?.released(agent);
          }
          rec.agentId = outcome.agentId;
          rec.attempts = outcome.attempts;
          rec.assignments = outcome.assignments;
          rec.subtasks = outcome.subtasks;
          rec.output = outcome.output;
          this.finish(rec, 'completed');
        },
        (err: unknown) => {
          // A task that failed or was cancelled gave its instance back itself; one that died without a word did not;
          // one whose workflow never started (cancelled first) never had it.
          if (agent) {
            if (!rec.started) this.hooks.lease?.unused(agent);
            else if (isCancellation(err) || describeFailure(err).details) this.hooks.lease?.released(agent);
            else this.hooks.lease?.lost(agent);
          }
          this.onFailure(rec, err);
        },
      )
      .finally(() => {
        this.inFlight.delete(id);
        this.dirty = true;
      });
  }

  private onFailure(rec: TaskRecord, err: unknown): void {
    const { error, details } = describeFailure(err);
    if (details) {
      rec.agentId = details.agentId;
      rec.attempts = details.attempts;
      rec.assignments = details.assignments;
      rec.subtasks = details.subtasks;
    }
    const id = rec.spec.id;
    if (isCancellation(err)) {
      this.finish(rec, 'cancelled', {
        reason: this.cancelled
          ? 'plan cancelled'
          : this.failedFastBy
            ? `task "${this.failedFastBy}" failed (fail-fast)`
            : 'cancelled by request',
      });
      // A single-task cancel skips its dependents; a plan-wide stop leaves them to the final sweep in run().
      if (!this.cancelled && !this.failedFastBy) this.skipDependents(id, `dependency "${id}" was cancelled`);
      return;
    }
    if (error.type === BUDGET_STOP) {
      // Its dependents never start either; the final sweep gives them the same reason.
      this.finish(rec, 'skipped', { reason: this.stoppedFor ?? error.message });
      return;
    }
    if (error.type === INPUT_TIMEOUT_SKIP) {
      this.finish(rec, 'skipped', { reason: error.message });
      this.skipDependents(id, `dependency "${id}" was skipped`);
      return;
    }
    this.finish(rec, 'failed', { error });
    if (rec.spec.optional) return;
    if (this.options.failurePolicy === 'fail-fast') {
      if (!this.failedFastBy) {
        this.failedFastBy = id;
        for (const scope of this.inFlight.values()) scope.cancel();
      }
    } else {
      this.skipDependents(id, `dependency "${id}" failed`);
    }
  }

  private skipDependents(id: string, reason: string): void {
    for (const depId of this.dependents.get(id) ?? []) {
      const dep = this.records.get(depId);
      if (dep?.state !== 'pending') continue;
      this.finish(dep, 'skipped', { reason });
      this.skipDependents(depId, reason);
    }
  }

  private finish(rec: TaskRecord, state: TaskState, extra: { error?: TaskError; reason?: string } = {}): void {
    rec.state = state;
    if (state === 'completed' || (state === 'failed' && rec.spec.optional)) this.unblockDependents(rec.spec.id);
    rec.finishedAt = new Date().toISOString();
    if (extra.error) rec.error = extra.error;
    if (extra.reason) rec.reason = extra.reason;
  }
}
