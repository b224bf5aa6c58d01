import { planWorkflowId, taskWorkflowId } from '../../shared/ids';
import { FINAL_TASK_STATES, type TaskView } from '../../shared/task';
import { ApiError } from '../errors';
import type { PlanLookup } from './plan-lookup';
import type { PlanViews } from './plan-views';
import { findTask, type TaskAt } from './tasks';

/** One task at any depth, by id: GET /v1/plans/:planId/tasks/:taskId. */
export class TaskViews {
  constructor(
    private readonly lookup: PlanLookup,
    private readonly plans: PlanViews,
  ) {}

  /** The task's view (live while it runs), where it sits, and its output once completed. */
  async task(planId: string, taskId: string): Promise<TaskView & { path: string[]; output?: unknown }> {
    const view = await this.plans.status(planId);
    // A running coordinator lists its sub-agents' own sub-agents only once they finish: look deeper ones up directly.
    const found = findTask(view.tasks, taskId) ?? (await this.runningNested(planId, taskId));
    if (!found) throw new ApiError('NOT_FOUND', `no task "${taskId}" in plan "${planId}"`);
    let task = found.task;
    if (task.state !== 'pending' && !FINAL_TASK_STATES.includes(task.state) && found.path.length > 1)
      task = (await this.lookup.liveTask(planId, taskId)) ?? task;
    const usage = view.usage?.byTask[taskId];
    const output = task.state === 'completed' ? await this.lookup.outputOf(planId, found) : undefined;
    return {
      ...task,
      ...(usage ? { usage } : {}),
      path: found.path,
      ...(output !== undefined ? { output } : {}),
    };
  }

  /** A sub-agent of the plan found by its workflow, with its path read from the parent links. */
  private async runningNested(planId: string, taskId: string): Promise<TaskAt | undefined> {
    const { client, rpc } = this.lookup;
    const prefix = `${planWorkflowId(planId)}-task-`;
    const path: string[] = [];
    for (let id: string | undefined = taskWorkflowId(planId, taskId); id?.startsWith(prefix);) {
      const workflowId: string = id;
      const desc = await rpc(() => client.workflow.getHandle(workflowId).describe()).catch(() => undefined);
      if (!desc || desc.type !== 'agentTaskWorkflow') return undefined;
      path.unshift(workflowId.slice(prefix.length));
      id = desc.parentExecution?.workflowId ?? undefined;
      if (id === planWorkflowId(planId)) break;
      if (path.length > 20) return undefined;
    }
    if (path.length === 0) return undefined;
    const task = await this.lookup.liveTask(planId, taskId).catch(() => undefined);
    return task ? { task, path } : undefined;
  }
}
