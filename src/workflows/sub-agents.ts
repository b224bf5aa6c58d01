import { ApplicationFailure, CancellationScope, workflowInfo } from '@temporalio/workflow';
import type { AgentMail } from '../shared/agent-mail';
import { taskResultRef } from '../shared/claim-check';
import { reusedTasks } from '../shared/rerun';
import { requestPrefix } from './request-ids';
import { Failure } from '../shared/errors';
import type { Grant } from '../shared/pool';
import type { TaskSpec, TaskView, TaskWorkflowInput } from '../shared/task';
import { AgentLease } from './agent-lease';
import type { BudgetGate } from './budget-gate';
import { taskStarter, stopForBudget } from './children';
import { DagExecutor, inTree } from './dag';
import { inSequence } from './dag-schedule';
import { MessageRouter } from './mail-router';
import type { PoolOutbox } from './pool-outbox';

/** What the sub-agents hand their coordinator's execute step. */
export interface SubtaskResults {
  subtaskOutputs: Record<string, unknown> | undefined;
  subtaskErrors: Record<string, unknown> | undefined;
}

/** The running sub-agents: their DAG, their lease and their bus (messages for them wait there until they start). */
interface Running {
  dag: DagExecutor;
  lease: AgentLease;
  router: MessageRouter;
}

/**
 * A coordinator's sub-agents: one child task workflow per subtask, run by the same DAG scheduler as a plan, on
 * instances of their own lease, with their own message bus. Workflow code: deterministic, safe to replay.
 */
export class SubAgents {
  private running: Running | undefined;
  /** Mail for sub-agents that have not started yet. */
  private readonly held: AgentMail[] = [];
  private results: SubtaskResults | undefined;

  constructor(
    private readonly input: TaskWorkflowInput,
    private readonly outbox: PoolOutbox,
    private readonly budget: BudgetGate,
  ) {}

  /** The sub-agents have run (and handed on their results). */
  get done(): boolean {
    return this.results !== undefined;
  }

  get handedOn(): SubtaskResults {
    return this.results ?? { subtaskOutputs: undefined, subtaskErrors: undefined };
  }

  views(): TaskView[] {
    return this.running?.dag.views() ?? [];
  }

  leaseView() {
    return this.running?.lease.view() ?? [];
  }

  /** The plan's budget is spent: no more sub-agents start, and the running ones are told. */
  stopForBudget(): void {
    if (this.running) stopForBudget(this.running.dag, this.input.planId);
  }

  /** Whether mail to `to` (not the coordinator itself) is for a sub-agent at any depth. */
  addresses(to: string): boolean {
    const { task } = this.input;
    if (this.running) return this.running.dag.has(to) || this.running.dag.subtreeOf(to) !== undefined;
    return to.startsWith(`${task.id}.`) || inTree(task.subtasks, to);
  }

  route(message: AgentMail): void {
    if (this.running) this.running.router.route(message);
    else this.held.push(message); // the sub-agents are not there yet
  }

  /** Grants for the sub-agents' lease; false when there is none (the grants are late: the caller gives them back). */
  receive(grants: Grant[]): boolean {
    if (!this.running) return false;
    this.running.lease.receive(grants);
    this.running.dag.poke();
    return true;
  }

  /** The pool asks for instances back (fair share): the sub-agents' lease gives them as their tasks finish. */
  yieldBack(count: number): void {
    this.running?.lease.yieldBack(count);
  }

  /** Runs `subtasks` as child workflows to the end; throws (not retried) when they cannot or must not go on. */
  async run(subtasks: TaskSpec[]): Promise<void> {
    const { input } = this;
    const { task, settings } = input;
    if (input.depth + 1 > settings.maxDepth)
      throw ApplicationFailure.nonRetryable(
        `task "${task.id}" would nest sub-agents deeper than the maximum depth ${settings.maxDepth}`,
        Failure.InvalidSubtasks,
      );
    this.budget.check();
    if (subtasks.length > settings.maxFanOut)
      throw ApplicationFailure.nonRetryable(
        `task "${task.id}" asks for ${subtasks.length} subtasks; the maximum fan-out is ${settings.maxFanOut}`,
        Failure.InvalidSubtasks,
      );
    const running = this.start(subtasks);
    try {
      await running.dag.run();
    } finally {
      running.router.closeUndelivered();
      running.lease.close();
      await CancellationScope.nonCancellable(() => this.outbox.flush());
    }
    // Out of budget, the subtasks that did not run are skipped, not failed: stop as a budget stop, not fail-fast.
    this.budget.check();
    if (input.failurePolicy === 'fail-fast' && running.dag.hasRequiredFailure()) {
      const failed = Object.entries(running.dag.errors())[0];
      throw ApplicationFailure.nonRetryable(
        `subtask "${failed?.[0]}" ${failed?.[1].state ?? 'failed'}: ${failed?.[1].message ?? ''}`,
        Failure.SubtaskFailed,
      );
    }
    this.results = { subtaskOutputs: running.dag.outputsToHandOn(), subtaskErrors: running.dag.errors() };
  }

  private start(subtasks: TaskSpec[]): Running {
    const { input } = this;
    const ordered = input.task.subtaskMode === 'sequential' ? inSequence(subtasks) : subtasks;
    const info = workflowInfo();
    const lease = new AgentLease(
      info.workflowId,
      requestPrefix,
      input.planId,
      (m) => this.outbox.send(m),
      input.settings.tenant,
    );
    const dag: DagExecutor = new DagExecutor(
      ordered,
      { failurePolicy: input.failurePolicy, maxConcurrency: input.maxConcurrency },
      taskStarter({ ...input, depth: input.depth + 1 }),
      {
        outputRef: (id) => taskResultRef(input.planId, id),
        lease,
        takeInbox: (id) => router.takeInbox(id),
        onStarted: (id) => router.flush(id),
        onEnded: (id) => router.ended(id),
        reused: reusedTasks(input.rerun),
      },
    );
    const router = new MessageRouter(input.planId, () => dag);
    this.running = { dag, lease, router };
    for (const m of this.held.splice(0)) router.route(m);
    return this.running;
  }
}
