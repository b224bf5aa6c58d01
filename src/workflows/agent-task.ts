import { setHandler } from '@temporalio/workflow';
import type { TaskOutcome, TaskWorkflowInput } from '../shared/task';
import {
  agentLeaseQuery,
  agentsGrantedSignal,
  yieldAgentsSignal,
  budgetExhaustedSignal,
  deliverMessageSignal,
  taskInputUpdate,
  taskStatusQuery,
  usageAckSignal,
} from './messages';
import { pinnedWhenVersioned } from './versioning';
import { TaskRun } from './task-run';

/**
 * One agent working one task: assigned → reasoning → (sub-agents) → executing → validating → completed. It starts on
 * the instance its plan leased it (or asks the pool), runs the lifecycle steps as activities with Temporal retries
 * (local activities when they are short), and when an agent exhausts them reassigns the task to another instance (or
 * the fallback type) up to `maxReassignments`. Tasks with subtasks run one child workflow per subtask.
 * Deterministic; safe to replay.
 */
export async function agentTaskWorkflow(input: TaskWorkflowInput): Promise<TaskOutcome> {
  const run = new TaskRun(input);
  setHandler(taskStatusQuery, () => run.view());
  setHandler(agentLeaseQuery, () => run.leaseView());
  setHandler(budgetExhaustedSignal, () => run.onBudgetExhausted());
  setHandler(usageAckSignal, ({ seq, exhausted }) => run.onUsageAck(seq, exhausted));
  setHandler(deliverMessageSignal, (message) => run.onMessage(message));
  setHandler(agentsGrantedSignal, (grants) => run.onGrants(grants));
  setHandler(yieldAgentsSignal, (count) => run.onYield(count));
  setHandler(taskInputUpdate, (answer) => run.answer(answer), { validator: (answer) => run.validateInput(answer) });
  return run.run();
}

pinnedWhenVersioned(agentTaskWorkflow);
