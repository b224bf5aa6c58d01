import { isCancellation, setCurrentDetails } from '@temporalio/workflow';
import type { StepContext } from '../activities/types';
import type { Grant } from '../shared/pool';
import type { TaskSpec, TaskWorkflowInput } from '../shared/task';
import type { BudgetGate } from './budget-gate';
import { HeldAgent } from './held-agent';
import type { PoolOutbox } from './pool-outbox';
import { stepActivities, stepsAreShort } from './task-options';

/** A verdict on one round's output, and who gave it. */
export interface ReviewVerdict {
  by: string;
  accepted: boolean;
  reasons: string[];
  attempt: number;
}

/**
 * The reviewer of a task's outputs (its `review`): an instance of a reviewing type, drawn from the pool for one review
 * step a round and given back with its memory of the review; the same instance is asked for again next round, so it
 * sees the revision of what it rejected. Its model calls count in the plan's budget under its own type. Workflow code.
 */
export class TaskReviewer {
  private readonly held: HeldAgent;
  /** The reviewer of the last round. */
  private last: string | undefined;

  constructor(
    private readonly input: TaskWorkflowInput,
    outbox: PoolOutbox,
    private readonly budget: BudgetGate,
  ) {
    this.held = new HeldAgent(input, outbox, 'review-');
  }

  /** True when the grant answers the reviewer's request. */
  receive(grant: Grant): boolean {
    return this.held.receive(grant);
  }

  /** The verdict on `output` (round `round`), by a reviewer acquired for it; `ctx` is the task's step context. */
  async review(ctx: StepContext, output: unknown, round: number): Promise<ReviewVerdict> {
    const review = this.input.task.review as NonNullable<TaskSpec['review']>;
    setCurrentDetails(`**validating** · ${this.input.task.id} · waiting for a reviewer (${review.types.join(' | ')})`);
    await this.held.acquire(review.types, this.last);
    const { agentId, agentType, memory, offline } = this.held.current;
    this.last = agentId;
    try {
      const verdict = await stepActivities(
        this.input,
        `review #${round} by ${agentType}`,
        agentId,
        stepsAreShort(this.input, offline),
      ).review({ ...ctx, agentId, agentType, memory, output, round });
      if (verdict.usage) {
        this.held.addUsage(verdict.usage);
        await this.budget.account(verdict.usage, agentType);
      }
      await this.held.release('completed', verdict.memory);
      return { by: agentId, accepted: verdict.accepted, reasons: verdict.reasons, attempt: verdict.attempt };
    } catch (err) {
      await this.held.release(isCancellation(err) ? 'cancelled' : 'failed');
      throw err;
    }
  }
}
