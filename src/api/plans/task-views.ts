import { planWorkflowId, taskWorkflowId } from '../../shared/ids';
import { allTasks, FINAL_TASK_STATES, type TaskView } from '../../shared/task';
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

  /**
   * A task as its plan declares it (GET /v1/plans/:planId/tasks/:taskId/spec): its description and input, what a
   * rerun's overrides start from. Read from the plan's spec as its workflow keeps it (the query a rerun reads too; a
   * closed plan is replayed on a worker to answer it). A sub-agent made by reasoning is not declared: 404.
   */
  async declared(
    planId: string,
    taskId: string,
  ): Promise<{ planId: string; taskId: string; description?: string; input?: Record<string, unknown> }> {
    await this.lookup.describe(planId);
    const { spec } = await this.lookup.source(planId);
    const task = allTasks(spec.tasks).find((t) => t.id === taskId);
    if (!task)
      throw new ApiError(
        'NOT_FOUND',
        `no task "${taskId}" declared in plan "${planId}" (a sub-agent made by its coordinator's reasoning is not ` +
          'declared: rerun its coordinator)',
      );
    return {
      planId,
      taskId,
      ...(task.description !== undefined ? { description: task.description } : {}),
      ...(task.input !== undefined ? { input: task.input } : {}),
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
