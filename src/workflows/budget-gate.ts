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

  /** Reports a model call's usage to the plan and, under a budget, waits for its word before the next call. */
  async account(u: Usage, agentType: string): Promise<void> {
    this.spent = addUsage(this.spent, u);
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
}
