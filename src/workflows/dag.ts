import type { Usage } from '../shared/usage';
import { ApplicationFailure, CancellationScope, condition, isCancellation } from '@temporalio/workflow';
import type { TaskSpec } from '../shared/task';
import type { AgentMail } from '../shared/agent-mail';
import type { PlanProgress } from '../shared/plan';
import type { TaskError, TaskOutcome, TaskState, TaskView } from '../shared/task';
import type { AgentLease, LeasedAgent } from './agent-lease';
import type { DagSnapshot, TaskRecord } from './dag-carry';
import { DagSchedule, type DagOptions } from './dag-schedule';
import { describeFailure } from './failures';
import { typesOf } from './ready-queue';
import { Failure } from '../shared/errors';
import type { ReusedTask } from '../shared/rerun';

export type { CarriedRecord, DagSnapshot } from './dag-carry';

/** `id` is one of these tasks or their sub-agents, declared or made by a coordinator's reasoning (`<parent>.<id>`). */
export function inTree(specs: TaskSpec[], id: string): boolean {
  return specs.some((s) => s.id === id || id.startsWith(`${s.id}.`) || inTree(s.subtasks, id));
}

/** One task to start, as the executor hands it to its StartTask. */
export interface TaskLaunch {
  task: TaskSpec;
  dependencies: Record<string, unknown>;
  /** Messages that arrived for it before it started. */
  inbox: AgentMail[];
  /** Its workflow runs and can receive signals. */
  onStarted: () => void;
  /** The instance leased to it, when the executor leases agents. */
  agent?: LeasedAgent;
  /** The instance failed it before any task workflow had it (inline): back to the pool. */
  giveBack: (outcome: 'failed' | 'cancelled') => void;
  /** The executor can keep one more inline task's output (see runsInline). */
  inlineRoom: boolean;
  /** It runs inline (in this workflow, no task workflow of its own) until it completes or hands over. */
  onInline: () => void;
}

export type StartTask = (launch: TaskLaunch) => Promise<TaskOutcome>;

/** Hooks the owner of an executor uses to route messages to its tasks. */
export interface DagHooks {
  /** Messages held for a task that is about to start: they go into its input. */
  takeInbox?(taskId: string): AgentMail[];
  /** The task's workflow is running and can receive signals. */
  onStarted?(taskId: string): void;
  /** The task ended (however): messages still held for it will never reach it. */
  onEnded?(taskId: string): void;
  /** How a carried-over completed task's output is referred to (its task workflow's result). */
  outputRef?(taskId: string): unknown;
  /** Agents leased from the pool: a task starts only once one of its types is at hand (see AgentLease). */
  lease?: AgentLease;
  /** A task ended (completed or failed) carrying usage nobody was told of by signal: the plan counts it here. */
  onUsage?(taskId: string, byAgentType: Record<string, Usage>): void;
  /** A rerun's reused tasks (src/shared/rerun.ts): completed from the start, their outputs referring to earlier plans. */
  reused?: ReadonlyMap<string, ReusedTask>;
}

/** Inputs bigger than this (as JSON) pass outputs by reference, so many mid-sized outputs cannot add up past 2 MB. */
export const INLINE_OUTPUTS_LIMIT = 256 * 1024;
/**
 * Outputs of tasks that ran inline have no task workflow to refer to: the executor keeps them (and carries them across
 * continue-as-new). Past this many bytes of them, or this many inline tasks running, tasks run in task workflows again.
 * An inline output is at most INLINE_OUTPUT_MAX_BYTES (larger ones are claim-checked), so the executor never holds more
 * than the limit plus one such output per running inline task: 512 KiB.
 */
export const INLINE_TASK_OUTPUTS_LIMIT = 256 * 1024;
export const INLINE_TASKS_RUNNING_LIMIT = 256;

/**
 * The record holds the task's output itself, for no task workflow of this plan does: it ran inline here, or a rerun
 * reused it (its output is then what the rerun was seeded with: a reference to the earlier plan's, or the value).
 */
const holdsOutput = (rec: TaskRecord): boolean => rec.inline === true || rec.reusedFrom !== undefined;

/** Outputs by task id, or references to them (resolved by the activities) when together they are large. */
function byReferenceIfLarge(
  outputs: Record<string, unknown>,
  refOf: (taskId: string) => unknown,
): Record<string, unknown> {
  if (JSON.stringify(outputs).length <= INLINE_OUTPUTS_LIMIT) return outputs;
  return Object.fromEntries(Object.keys(outputs).map((id) => [id, refOf(id)]));
}

/**
 * Runs sibling tasks as a DAG inside a workflow: starts the tasks its DagSchedule (the pure scheduling decisions:
 * dependsOn, priority, maxConcurrency, the failure policy) hands it as child workflows in cancellation scopes, and
 * reports how each ended. Deterministic: all decisions come from workflow state and child results.
 */
export class DagExecutor {
  private readonly schedule: DagSchedule;
  private readonly inFlight = new Map<string, CancellationScope>();
  /** Tasks running inline in this workflow now (they leave it when they end or hand over to a task workflow). */
  private readonly runningInline = new Set<string>();
  private dirty = true;
  /** Asked between launches; when true, no new task starts and run() returns 'yield' once the running ones finish. */
  shouldYield: () => boolean = () => false;

  constructor(
    tasks: TaskSpec[],
    options: DagOptions,
    private readonly start: StartTask,
    private readonly hooks: DagHooks = {},
    carried?: DagSnapshot,
  ) {
    this.schedule = new DagSchedule(tasks, options, carried, this.hooks.outputRef, this.hooks.reused);
  }

  get paused(): boolean {
    return this.schedule.paused;
  }

  /**
   * What a continued-as-new run needs to pick up where this one stopped. Only finished and pending tasks exist at that
   * point (run() drained the running ones). Outputs are not carried: they are in the task workflows' results, and the
   * next run refers to them through `hooks.outputRef`.
   */
  snapshot(): DagSnapshot {
    return this.schedule.snapshot();
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
      this.schedule.sweep();
      throw err;
    }
    this.schedule.sweep();
    return 'done';
  }

  private async loop(): Promise<'done' | 'yield'> {
    for (;;) {
      const stopping = this.schedule.stopping;
      const yielding = !stopping && this.shouldYield();
      if (!stopping && !yielding && !this.schedule.paused) this.launchReady();
      else this.hooks.lease?.settle([]);
      if (this.inFlight.size === 0) {
        if (stopping || !this.schedule.hasReady()) return 'done';
        if (yielding) return 'yield';
      }
      await condition(() => this.dirty);
      this.dirty = false;
    }
  }

  /** Something outside changed what can start (agents arrived): look again. */
  poke(): void {
    this.dirty = true;
  }

  /** Starts nothing more (running tasks are left to their owner to stop); pending tasks end skipped with `reason`. */
  stop(reason: string): void {
    this.schedule.stop(reason);
    this.dirty = true;
  }

  get stopReason(): string | undefined {
    return this.schedule.stopReason;
  }

  setPaused(paused: boolean): void {
    this.schedule.paused = paused;
    this.dirty = true;
  }

  /** Stops everything: running tasks are cancelled, pending ones end cancelled. */
  cancelAll(): void {
    this.schedule.cancelAll();
    for (const scope of this.inFlight.values()) scope.cancel();
    this.dirty = true;
  }

  /** Cancels one task: running → its child is cancelled; pending → cancelled now. Returns false for unknown or finished tasks. */
  cancelTask(taskId: string, reason = 'cancelled by request'): boolean {
    const scope = this.inFlight.get(taskId);
    if (scope) {
      scope.cancel();
      return true;
    }
    if (!this.schedule.cancelPending(taskId, reason)) return false;
    this.dirty = true;
    return true;
  }

  has(taskId: string): boolean {
    return this.schedule.record(taskId) !== undefined;
  }

  stateOf(taskId: string): TaskState | undefined {
    return this.schedule.record(taskId)?.state;
  }

  /** Running and able to receive signals. */
  isStarted(taskId: string): boolean {
    const rec = this.schedule.record(taskId);
    return rec?.started === true && this.inFlight.has(taskId);
  }

  runningTaskIds(): string[] {
    return [...this.inFlight.keys()];
  }

  setAgent(taskId: string, agentId: string): void {
    const rec = this.schedule.record(taskId);
    if (rec && this.inFlight.has(taskId)) rec.agentId = agentId;
  }

  /**
   * The task of this DAG whose sub-agents include `id`, at any depth: declared subtasks, or ids a coordinator's
   * reasoning made (prefixed `<coordinator>.`).
   */
  subtreeOf(id: string): string | undefined {
    for (const rec of this.schedule.all())
      if (id.startsWith(`${rec.spec.id}.`) || inTree(rec.spec.subtasks, id)) return rec.spec.id;
    return undefined;
  }

  /** The task an agent instance is working on right now, or last worked on. */
  taskOfAgent(agentId: string): string | undefined {
    const matches = [...this.schedule.all()].filter((r) => r.agentId === agentId);
    return (matches.find((r) => this.inFlight.has(r.spec.id)) ?? matches[0])?.spec.id;
  }

  isCancelled(): boolean {
    return this.schedule.isCancelled();
  }

  /** The first required task that failed under fail-fast, if any. */
  get failedFast(): string | undefined {
    return this.schedule.failedFast;
  }

  /** True when a non-optional task did not complete. */
  hasRequiredFailure(): boolean {
    return this.schedule.hasRequiredFailure();
  }

  /** Some task ran sub-agents (declared or from its reasoning). */
  hasSubAgents(): boolean {
    return [...this.schedule.all()].some((r) => r.subtasks.length > 0 || r.spec.subtasks.length > 0);
  }

  anyCompleted(): boolean {
    return this.schedule.anyCompleted();
  }

  outputs(): Record<string, unknown> {
    return this.schedule.outputs();
  }

  /** The outputs of the completed tasks that ran inline, by id (a rerun reuses them from here). */
  inlineOutputs(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const rec of this.schedule.all()) if (rec.inline && rec.state === 'completed') out[rec.spec.id] = rec.output;
    return out;
  }

  /**
   * The output of a task that ran inline (it has no task workflow to read it from), or what a reused task was seeded
   * with (a reference to an earlier plan's task workflow, or the value).
   */
  inlineOutput(taskId: string): unknown {
    const rec = this.schedule.record(taskId);
    return rec && holdsOutput(rec) ? rec.output : undefined;
  }

  /** The outputs to hand on (a result, a coordinator's synthesis): by reference when together they are large. */
  outputsToHandOn(): Record<string, unknown> {
    const refOf = this.refOf();
    return refOf ? byReferenceIfLarge(this.outputs(), refOf) : this.outputs();
  }

  /**
   * How a task's output is referred to: its task workflow's result, or the output itself when it ran inline, or, for a
   * reused task, what the rerun was seeded with (a reference to the earlier plan's task workflow, or the value).
   */
  private refOf(): ((taskId: string) => unknown) | undefined {
    const outputRef = this.hooks.outputRef;
    if (!outputRef) return undefined;
    return (taskId) => {
      const rec = this.schedule.record(taskId);
      return rec && holdsOutput(rec) ? rec.output : outputRef(taskId);
    };
  }

  errors(): Record<string, TaskError & { state: TaskState; reason?: string }> {
    return this.schedule.errors();
  }

  views(): TaskView[] {
    return this.schedule.views();
  }

  progress(): PlanProgress {
    return this.schedule.progress();
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
    for (;;) {
      const rec = this.schedule.next(this.inFlight.size, canStart);
      if (!rec) break;
      const refusal = lease?.refusal(typesOf(rec.spec));
      if (lease && refusal !== undefined && !lease.hasIdle(typesOf(rec.spec))) {
        this.onFailure(rec, ApplicationFailure.nonRetryable(refusal, Failure.NoAgentType));
        continue;
      }
      this.launch(rec, lease?.take(typesOf(rec.spec), rec.spec.id));
    }
    lease?.settle(this.schedule.shortfalls(this.inFlight.size));
  }

  private launch(rec: TaskRecord, agent?: LeasedAgent): void {
    const id = rec.spec.id;
    let deps = this.schedule.started(rec, agent?.agentId);
    const refOf = this.refOf();
    if (refOf) deps = byReferenceIfLarge(deps, refOf);
    const scope = new CancellationScope();
    this.inFlight.set(id, scope);
    const inbox = this.hooks.takeInbox?.(id) ?? [];
    const onStarted = () => {
      rec.started = true;
      rec.inline = undefined;
      this.runningInline.delete(id);
      this.hooks.onStarted?.(id);
    };
    const lease = this.hooks.lease;
    const giveBack = (outcome: 'failed' | 'cancelled') => {
      if (agent) lease?.giveBack(agent, outcome);
    };
    const inlineRoom =
      this.schedule.inlineOutputBytes < INLINE_TASK_OUTPUTS_LIMIT &&
      this.runningInline.size < INLINE_TASKS_RUNNING_LIMIT;
    const onInline = () => {
      this.runningInline.add(id);
      this.schedule.runsInline(rec);
    };
    void scope
      .run(() =>
        this.start({ task: rec.spec, dependencies: deps, inbox, onStarted, agent, giveBack, inlineRoom, onInline }),
      )
      .then(
        (outcome) => {
          if (outcome.unreportedUsage) this.hooks.onUsage?.(id, outcome.unreportedUsage);
          if (agent) {
            if (outcome.kept) this.hooks.lease?.kept(agent, outcome.kept.memory, outcome.kept.usage);
            else this.hooks.lease?.released(agent);
          }
          this.schedule.completed(rec, outcome);
        },
        (err: unknown) => {
          const unreported = describeFailure(err).details?.unreportedUsage;
          if (unreported) this.hooks.onUsage?.(id, unreported);
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
        this.runningInline.delete(id);
        this.hooks.onEnded?.(id);
        this.dirty = true;
      });
  }

  /** Records who tried the task, then lets the schedule apply the failure policy; fail-fast cancels the running tasks. */
  private onFailure(rec: TaskRecord, err: unknown): void {
    const { error, details } = describeFailure(err);
    if (details) {
      rec.agentId = details.agentId;
      rec.attempts = details.attempts;
      rec.assignments = details.assignments;
      rec.subtasks = details.subtasks;
      if (details.revisions) rec.revisions = details.revisions;
    }
    const cancelRunning = this.schedule.ended(rec, isCancellation(err) ? { cancelled: true } : { error });
    if (cancelRunning) for (const scope of this.inFlight.values()) scope.cancel();
  }
}
