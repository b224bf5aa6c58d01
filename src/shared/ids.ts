/** Readable workflow ids, so the Web UI and `temporal workflow describe` can be used by hand. */
export const planWorkflowId = (planId: string): string => `plan-${planId}`;
export const taskWorkflowId = (planId: string, taskId: string): string => `plan-${planId}-task-${taskId}`;
