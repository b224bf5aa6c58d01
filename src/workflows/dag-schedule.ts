import type { FailurePolicy } from '../shared/plan';
import type { TaskSpec } from '../shared/task';
import type { PlanProgress } from '../shared/plan';
import type { TaskError, TaskOutcome, TaskState, TaskView } from '../shared/task';
import { packRecord, unpackRecord, type DagSnapshot, type TaskRecord } from './dag-carry';
import type { Shortfall } from './agent-lease';
import { ReadyQueue } from './ready-queue';
import type { ReusedTask } from '../shared/rerun';
import { Failure } from '../shared/errors';

export interface DagOptions {
  failurePolicy: FailurePolicy;
  maxConcurrency: number;
}

/** How a started task ended, other than completing: cancelled, or failed with this error (its type decides the rest). */
export type TaskEnd = { cancelled: true } | { cancelled?: false; error: TaskError };

/** The `<task>` → `<task>` chain of a sequential level: each task also depends on the one before it. */
export function inSequence(tasks: TaskSpec[]): TaskSpec[] {
  return tasks.map((t, i) => {
    const prev = tasks[i - 1];
    return prev && !t.dependsOn.includes(prev.id) ? { ...t, dependsOn: [...t.dependsOn, prev.id] } : t;
  });
}

/**
 * The scheduling decisions of a DAG of sibling tasks, free of Temporal calls (DagExecutor runs them in a workflow):
 * which tasks are ready and in which order (priority, then plan order), the maxConcurrency cap, what a failure does
 * under the failure policy, and what is carried across continue-as-new. The caller starts the tasks it is handed and
 * reports how each ended.
 */
export class DagSchedule {
  private readonly records = new Map<string, TaskRecord>();
  private readonly dependents = new Map<string, string[]>();
  private readonly unmet = new Map<string, number>();
  private readonly ready = new ReadyQueue<TaskRecord>();
  private cancelled = false;
  private failedFastBy?: string;
  /** Set when the budget ran out: nothing new starts; what never started ends skipped with this reason. */
  private stoppedFor?: string;
  paused = false;
  /** JSON bytes of the outputs of tasks that ran inline, which this schedule keeps (and carries) itself. */
  inlineOutputBytes = 0;

  constructor(
    tasks: TaskSpec[],
    private readonly options: DagOptions,
    carried?: DagSnapshot,
    outputRef?: (taskId: string) => unknown,
    /** A rerun's reused tasks (src/shared/rerun.ts): completed from the start, never run. */
    reused?: ReadonlyMap<string, ReusedTask>,
  ) {
    const saved = new Map((carried?.records ?? []).map((r) => [r[0], r]));
    tasks.forEach((spec, index) => {
      const packed = saved.get(spec.id);
      const fresh: TaskRecord = { spec, index, state: 'pending', attempts: 0, assignments: [], subtasks: [] };
      const reuse = reused?.get(spec.id);
      const rec = reuse
        ? { ...fresh, state: 'completed' as const, output: reuse.output, reusedFrom: reuse.from }
        : packed
          ? unpackRecord(fresh, packed, outputRef)
          : fresh;
      if (rec.inline) this.inlineOutputBytes += jsonBytes(rec.output);
      this.records.set(spec.id, rec);
      for (const dep of spec.dependsOn) this.dependents.set(dep, [...(this.dependents.get(dep) ?? []), spec.id]);
    });
    this.paused = carried?.paused ?? false;
    this.stoppedFor = carried?.stopped;
    for (const rec of this.records.values()) {
      if (rec.state !== 'pending') continue;
      const unmet = rec.spec.dependsOn.filter((d) => !this.satisfied(d)).length;
      this.unmet.set(rec.spec.id, unmet);
      if (unmet === 0) this.ready.push(rec);
    }
  }

  /**
   * What a continued-as-new run needs to pick up where this one stopped: the finished tasks (pending ones start afresh;
   * none may be running). Outputs are not carried (the next run refers to them through `outputRef`), except those of
   * tasks that ran inline, which have no task workflow to refer to. Reused tasks are not carried either: the next run
   * is seeded with them again.
   */
  snapshot(): DagSnapshot {
    const records = [...this.records.values()]
      .filter((r) => r.state !== 'pending' && r.reusedFrom === undefined)
      .map(packRecord);
    return { paused: this.paused, records, ...(this.stoppedFor ? { stopped: this.stoppedFor } : {}) };
  }

  /** Cancelled, failed fast or stopped: nothing new starts. */
  get stopping(): boolean {
    return this.cancelled || this.failedFastBy !== undefined || this.stoppedFor !== undefined;
  }

  hasReady(): boolean {
    return this.ready.hasReady();
  }

  /**
   * The best ready task to start next (highest priority, then earliest in the plan) among those `canStart` accepts,
   * if `running` tasks leave room under maxConcurrency.
   */
  next(running: number, canStart?: (types: string[]) => boolean): TaskRecord | undefined {
    return running < this.options.maxConcurrency ? this.ready.pop(canStart) : undefined;
  }

  /** How many agents the ready tasks lack, per set of types, in the room `running` tasks leave. */
  shortfalls(running: number): Shortfall[] {
    return this.ready.shortfalls(this.options.maxConcurrency - running);
  }

  /** The task is starting (on `agentId` when known); returns its dependencies' outputs by id. */
  started(rec: TaskRecord, agentId?: string): Record<string, unknown> {
    const deps: Record<string, unknown> = {};
    for (const d of rec.spec.dependsOn) deps[d] = this.records.get(d)?.output;
    rec.state = 'assigned';
    rec.startedAt = new Date().toISOString();
    if (agentId) rec.agentId = agentId;
    return deps;
  }

  /** The task runs inline in this workflow: its one step reasons, executes and validates. */
  runsInline(rec: TaskRecord): void {
    rec.inline = true;
    rec.state = 'reasoning';
  }

  /** The task completed: its dependants whose dependencies are now all met become ready. */
  completed(rec: TaskRecord, outcome: TaskOutcome): void {
    rec.agentId = outcome.agentId;
    rec.attempts = outcome.attempts;
    rec.assignments = outcome.assignments;
    rec.subtasks = outcome.subtasks;
    if (outcome.revisions) rec.revisions = outcome.revisions;
    if (outcome.transitions) rec.transitions = outcome.transitions;
    rec.output = outcome.output;
    rec.inline = outcome.inline;
    if (outcome.inline) this.inlineOutputBytes += jsonBytes(outcome.output);
    this.finish(rec, 'completed');
  }

  /**
   * The task ended without completing. Cancelled: it ends cancelled (a single-task cancel skips its dependants). A
   * budget stop or an input timeout set to skip: it ends skipped. Otherwise it failed: an optional task's failure
   * satisfies its dependants; a required one under `continue` skips its dependants, and under `fail-fast` stops the
   * plan. Returns true when the tasks still running must be cancelled (the first fail-fast failure).
   */
  ended(rec: TaskRecord, end: TaskEnd): boolean {
    const id = rec.spec.id;
    if (end.cancelled) {
      this.finish(rec, 'cancelled', {
        reason: this.cancelled
          ? 'plan cancelled'
          : this.failedFastBy
            ? `task "${this.failedFastBy}" failed (fail-fast)`
            : 'cancelled by request',
      });
      // A single-task cancel skips its dependents; a plan-wide stop leaves them to the final sweep.
      if (!this.cancelled && !this.failedFastBy) this.skipDependents(id, `dependency "${id}" was cancelled`);
      return false;
    }
    const { error } = end;
    if (error.type === Failure.BudgetExhausted) {
      // Its dependents never start either; the final sweep gives them the same reason.
      this.finish(rec, 'skipped', { reason: this.stoppedFor ?? error.message });
      return false;
    }
    if (error.type === Failure.InputTimeoutSkip) {
      this.finish(rec, 'skipped', { reason: error.message });
      this.skipDependents(id, `dependency "${id}" was skipped`);
      return false;
    }
    this.finish(rec, 'failed', { error });
    if (rec.spec.optional) return false;
    if (this.options.failurePolicy === 'fail-fast') {
      if (this.failedFastBy) return false;
      this.failedFastBy = id;
      return true;
    }
    this.skipDependents(id, `dependency "${id}" failed`);
    return false;
  }

  /** Cancels a task that has not started: it ends cancelled and its dependants skipped. False if it is not pending. */
  cancelPending(taskId: string, reason: string): boolean {
    const rec = this.records.get(taskId);
    if (rec?.state !== 'pending') return false;
    this.finish(rec, 'cancelled', { reason });
    this.skipDependents(taskId, `dependency "${taskId}" was cancelled`);
    return true;
  }

  /** The whole DAG is cancelled: nothing new starts; whatever never started ends cancelled at the sweep. */
  cancelAll(): void {
    this.cancelled = true;
  }

  /** Starts nothing more; pending tasks end skipped with `reason` (the first reason given stays). */
  stop(reason: string): void {
    this.stoppedFor ??= reason;
  }

  /** Whatever never started ends cancelled or skipped, with the reason. */
  sweep(): void {
    for (const rec of this.records.values()) {
      if (rec.state !== 'pending') continue;
      if (this.cancelled) this.finish(rec, 'cancelled', { reason: 'plan cancelled' });
      else if (this.failedFastBy)
        this.finish(rec, 'skipped', { reason: `not started: task "${this.failedFastBy}" failed (fail-fast)` });
      else if (this.stoppedFor) this.finish(rec, 'skipped', { reason: this.stoppedFor });
      else this.finish(rec, 'skipped', { reason: 'not started: its dependencies never completed' });
    }
  }

  get stopReason(): string | undefined {
    return this.stoppedFor;
  }

  isCancelled(): boolean {
    return this.cancelled;
  }

  /** The first required task that failed under fail-fast, if any. */
  get failedFast(): string | undefined {
    return this.failedFastBy;
  }

  record(taskId: string): TaskRecord | undefined {
    return this.records.get(taskId);
  }

  all(): IterableIterator<TaskRecord> {
    return this.records.values();
  }

  /** True when a non-optional task did not complete. */
  hasRequiredFailure(): boolean {
    return [...this.records.values()].some((r) => !r.spec.optional && r.state !== 'completed');
  }

  anyCompleted(): boolean {
    return [...this.records.values()].some((r) => r.state === 'completed');
  }

  outputs(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const rec of this.records.values()) if (rec.state === 'completed') out[rec.spec.id] = rec.output;
    return out;
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
      ...(r.revisions ? { revisions: r.revisions } : {}),
      ...(r.transitions ? { transitions: r.transitions } : {}),
      ...(r.inline ? { inline: true as const } : {}),
      ...(r.reusedFrom !== undefined ? { reused: true as const, reusedFrom: r.reusedFrom } : {}),
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

  /** A dependency just became satisfied (completed, or an optional one failed): its dependents may be ready now. */
  private unblockDependents(depId: string): void {
    for (const id of this.dependents.get(depId) ?? []) {
      const rec = this.records.get(id);
      if (rec?.state !== 'pending') continue;
      const left = (this.unmet.get(id) ?? 1) - 1;
      this.unmet.set(id, left);
      if (left === 0) this.ready.push(rec);
    }
  }

  private satisfied(depId: string): boolean {
    const dep = this.records.get(depId);
    return dep !== undefined && (dep.state === 'completed' || (dep.spec.optional && dep.state === 'failed'));
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

const jsonBytes = (v: unknown): number => (v === undefined ? 0 : JSON.stringify(v).length);
