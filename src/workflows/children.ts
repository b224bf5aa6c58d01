import {
  ParentClosePolicy,
  ChildWorkflowCancellationType,
  getExternalWorkflowHandle,
  startChild,
} from '@temporalio/workflow';
import type { FailurePolicy } from '../shared/plan';
import { taskWorkflowId } from '../shared/ids';
import {
  AgentIdKey,
  AgentTypeKey,
  LifecycleStateKey,
  PlanIdKey,
  TaskIdKey,
  TenantKey,
} from '../shared/search-attributes';
import { taskPriority } from './task-priority';
import type { ExecutionSettings } from '../shared/settings';
import type { TaskOutcome, TaskWorkflowInput } from '../shared/task';
import { seedFor, subtreeIds, type RerunSeed } from '../shared/rerun';
import { BUDGET_EXHAUSTED } from '../shared/usage';
import type { DagExecutor, StartTask, TaskLaunch } from './dag';
import { runInline, runsInline } from './inline-task';
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
  /** A rerun's reused tasks at every depth: a coordinator is handed those of its subtree. */
  rerun?: RerunSeed;
}

/**
 * Starts each task inline in the calling workflow when it can (runsInline), otherwise as a child `agentTaskWorkflow`
 * with a readable id, search attributes and a summary for the Web UI.
 */
export function taskStarter(ctx: ChildContext): StartTask {
  return (launch: TaskLaunch): Promise<TaskOutcome> => {
    const { task, dependencies, inbox, agent, onStarted } = launch;
    const rerun = ctx.rerun && task.subtasks.length > 0 ? seedFor(ctx.rerun, subtreeIds(task.subtasks)) : undefined;
    const input: TaskWorkflowInput = {
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
      ...(rerun ? { rerun } : {}),
      leanSteps: true,
    };
    if (!runsInline(input, launch.inlineRoom)) return startTaskWorkflow(input, onStarted);
    launch.onInline();
    return runInline(input, inbox, {
      handOver: (handover, onAgent) => {
        const { agent: _leased, ...rest } = input;
        return startTaskWorkflow({ ...rest, ...(onAgent ? { agent: onAgent } : {}), handover }, onStarted);
      },
      giveBack: launch.giveBack,
    });
  };
}

async function startTaskWorkflow(input: TaskWorkflowInput, onStarted: () => void): Promise<TaskOutcome> {
  const { task, agent } = input;
  const handle = await startChild('agentTaskWorkflow', {
    workflowId: taskWorkflowId(input.planId, task.id),
    args: [input],
    typedSearchAttributes: [
      { key: PlanIdKey, value: input.planId },
      { key: TaskIdKey, value: task.id },
      { key: AgentTypeKey, value: agent?.agentType ?? task.agentType },
      ...(agent ? [{ key: AgentIdKey, value: agent.agentId }] : []),
      { key: LifecycleStateKey, value: agent ? 'assigned' : 'pending' },
      ...(input.settings.tenant !== undefined ? [{ key: TenantKey, value: input.settings.tenant }] : []),
    ],
    ...taskPriority(input),
    staticSummary: `${task.id} · ${task.agentType}${task.description ? ` · ${task.description.slice(0, 80)}` : ''}`,
    cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
  });
  onStarted();
  return (await handle.result()) as TaskOutcome;
}
