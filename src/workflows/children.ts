import {
  ParentClosePolicy,
  ChildWorkflowCancellationType,
  getExternalWorkflowHandle,
  startChild,
} from '@temporalio/workflow';
import type { FailurePolicy } from '../shared/plan';
import type { TaskSpec } from '../shared/task';
import { taskWorkflowId } from '../shared/ids';
import { AgentIdKey, AgentTypeKey, LifecycleStateKey, PlanIdKey, TaskIdKey } from '../shared/search-attributes';
import type { LeasedAgent } from '../shared/pool';
import type { AgentMail } from '../shared/agent-mail';
import type { ExecutionSettings } from '../shared/settings';
import type { TaskOutcome } from '../shared/task';
import { BUDGET_EXHAUSTED } from '../shared/usage';
import type { DagExecutor, StartTask } from './dag';
import { budgetExhaustedSignal } from './messages';

/** Out of budget: `dag` starts nothing more, and its running task workflows stop before their next model call. */
export function stopForBudget(dag: DagExecutor, planId: string): void {
  dag.stop(BUDGET_EXHAUSTED);
  for (const id of dag.runningTaskIds()) {
    getExternalWorkflowHandle(taskWorkflowId(planId, id))
      .signal(budgetExhaustedSignal)
      .catch(() => undefined); // the task may just have finished
  }
}

export interface ChildContext {
  planId: string;
  settings: ExecutionSettings;
  failurePolicy: FailurePolicy;
  maxConcurrency: number;
  depth: number;
  budgeted?: boolean;
}

/** Starts one task as a child `agentTaskWorkflow` with a readable id, search attributes and a summary for the Web UI. */
export function childStarter(ctx: ChildContext): StartTask {
  return async (
    task: TaskSpec,
    dependencies: Record<string, unknown>,
    inbox: AgentMail[],
    onStarted: () => void,
    agent?: LeasedAgent,
  ): Promise<TaskOutcome> => {
    const handle = await startChild('agentTaskWorkflow', {
      workflowId: taskWorkflowId(ctx.planId, task.id),
      args: [
        {
          planId: ctx.planId,
          task,
          dependencies,
          inbox,
          settings: ctx.settings,
          failurePolicy: ctx.failurePolicy,
          maxConcurrency: ctx.maxConcurrency,
          depth: ctx.depth,
          ...(ctx.budgeted ? { budgeted: true } : {}),
          ...(agent ? { agent } : {}),
          leanSteps: true,
        },
      ],
      typedSearchAttributes: [
        { key: PlanIdKey, value: ctx.planId },
        { key: TaskIdKey, value: task.id },
        { key: AgentTypeKey, value: agent?.agentType ?? task.agentType },
        ...(agent ? [{ key: AgentIdKey, value: agent.agentId }] : []),
        { key: LifecycleStateKey, value: agent ? 'assigned' : 'pending' },
      ],
      staticSummary: `${task.id} · ${task.agentType}${task.description ? ` · ${task.description.slice(0, 80)}` : ''}`,
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
    onStarted();
    return (await handle.result()) as TaskOutcome;
  };
}
