import {
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  workflowInfo,
} from '@temporalio/workflow';
import { Failure } from '../shared/errors';
import { planWorkflowId } from '../shared/ids';
import type { TaskWorkflowInput } from '../shared/task';
import { addUsage, type Usage } from '../shared/usage';
import { usageReportSignal } from './messages';

/**
 * A task's side of its plan's budget: the plan counts every model call's tokens and cost; when its budget is spent it
 * tells its running tasks, which stop before their next model call (and tell their own sub-agents). Workflow code.
 */
export class BudgetGate {
  private stopped = false;
  private reports = 0;
  private acked = 0;
  /** Tokens and cost of this task's model calls so far. */
  spent: Usage | undefined;
  /** What the plan has not been told of yet, by agent type (reported with the outcome). */
  private unreported: Record<string, Usage> = {};

  constructor(private readonly input: TaskWorkflowInput) {}

  /** The plan says its budget is spent. */
  stop(): void {
    this.stopped = true;
  }

  /** The plan counted report `seq` (and says whether the budget is now spent). */
  onAck(seq: number, exhausted: boolean): void {
    this.acked = Math.max(this.acked, seq);
    if (exhausted) this.stopped = true;
  }

  /** Throws (not retried) once the budget is spent: called before each model call and sub-agent start. */
  check(): void {
    if (this.stopped)
      throw ApplicationFailure.nonRetryable(
        `task "${this.input.task.id}" stopped: the plan's budget is exhausted`,
        Failure.BudgetExhausted,
      );
  }

  /**
   * Reports a model call's usage to the plan and, under a budget, waits for its word before the next call. Without a
   * budget a top-level task keeps it for its outcome (or its failure), which the plan reads anyway: two signals and two
   * workflow tasks fewer per model task (docs/benchmarks.md, measure (i)). Sub-agents still report each call, since
   * their outcomes go to their coordinator, not to the plan.
   */
  async account(u: Usage, agentType: string): Promise<void> {
    this.spent = addUsage(this.spent, u);
    if (this.reportsWithOutcome()) {
      this.unreported[agentType] = addUsage(this.unreported[agentType], u);
      return;
    }
    const seq = ++this.reports;
    try {
      await getExternalWorkflowHandle(planWorkflowId(this.input.planId)).signal(usageReportSignal, {
        taskId: this.input.task.id,
        agentType,
        usage: u,
        ...(this.input.budgeted ? { replyTo: workflowInfo().workflowId, seq } : {}),
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      return; // the plan is closing; nothing left to budget
    }
    // Under a budget, wait for the plan's word before the next model call, so a spent budget stops it (bounded, should
    // the plan be gone). Without one there is nothing to wait for.
    if (this.input.budgeted) await condition(() => this.acked >= seq, '60s');
  }

  /** Usage the plan has not been told of, by agent type, for the outcome or the failure; undefined when none. */
  takeUnreported(): Record<string, Usage> | undefined {
    const out = this.unreported;
    this.unreported = {};
    return Object.keys(out).length > 0 ? out : undefined;
  }

  /** A cancelled task has no outcome for the plan to read: it tells the plan what it spent before it goes. */
  async reportUnreported(): Promise<void> {
    const byType = this.takeUnreported();
    if (!byType) return;
    const plan = getExternalWorkflowHandle(planWorkflowId(this.input.planId));
    for (const [agentType, usage] of Object.entries(byType))
      await plan.signal(usageReportSignal, { taskId: this.input.task.id, agentType, usage }).catch(() => undefined);
  }

  /** Tasks started before `leanSteps` (replaying their recorded history) report each call, as they did. */
  private reportsWithOutcome(): boolean {
    return !this.input.budgeted && this.input.depth === 0 && this.input.leanSteps === true;
  }
}
