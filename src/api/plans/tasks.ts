import type { TaskState, TaskView } from '../../shared/task';
import type { Usage } from '../../shared/usage';

/**
 * Tasks at every depth of a plan. Task ids are unique within a plan (declared subtasks are checked at submission;
 * subtasks a coordinator makes are prefixed `<coordinator>.`), so an id alone addresses a task, and `path` says where
 * it sits: `["boss", "mid-1", "l1"]`.
 */
export interface TaskAt {
  task: TaskView;
  path: string[];
}

/** One task of a plan's result, at any depth. */
export interface TaskSummary {
  path: string[];
  state: TaskState;
  agentId?: string;
  agentType: string;
  error?: { message: string; type: string };
  reason?: string;
  usage?: Usage;
  /** Completed tasks only; claim checks and references resolved. */
  output?: unknown;
}

/** Every task of the tree, parents before their sub-agents. */
export function flattenTasks(tasks: TaskView[], above: string[] = []): TaskAt[] {
  return tasks.flatMap((task) => {
    const path = [...above, task.id];
    return [{ task, path }, ...flattenTasks(task.subtasks, path)];
  });
}

export function findTask(tasks: TaskView[], id: string): TaskAt | undefined {
  return flattenTasks(tasks).find((t) => t.task.id === id);
}

export function summaryOf({ task, path }: TaskAt, usage?: Usage, output?: unknown): TaskSummary {
  return {
    path,
    state: task.state,
    ...(task.agentId ? { agentId: task.agentId } : {}),
    agentType: task.agentType,
    ...(task.error ? { error: task.error } : {}),
    ...(task.reason ? { reason: task.reason } : {}),
    ...((usage ?? task.usage) ? { usage: usage ?? task.usage } : {}),
    ...(output !== undefined ? { output } : {}),
  };
}
