import type { Priority } from '@temporalio/common';
import type { TaskWorkflowInput } from '../shared/task';

/**
 * A task's `priority` (-1000..1000, higher first) as Temporal's priority key (1..5, lower first; 3 is Temporal's
 * default): 100 and up → 1, 1..99 → 2, 0 → 3, -1..-99 → 4, -100 and down → 5.
 */
export function priorityKeyOf(priority: number): number {
  if (priority >= 100) return 1;
  if (priority > 0) return 2;
  if (priority === 0) return 3;
  if (priority > -100) return 4;
  return 5;
}

/**
 * What a task's workflow (or inline step) is started with on the task queue: its priority key. The fairness key (the
 * tenant) it inherits from its plan, which the API started with it (docs/security.md, "Fair share"). Plans from
 * before tenants start their tasks as they did.
 */
export function taskPriority(input: TaskWorkflowInput): { priority?: Priority } {
  return input.settings.tenant === undefined ? {} : { priority: { priorityKey: priorityKeyOf(input.task.priority) } };
}
