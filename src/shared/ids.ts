/** Readable workflow ids, so the Web UI and `temporal workflow describe` can be used by hand. */
export const planWorkflowId = (planId: string): string => `plan-${planId}`;
export const taskWorkflowId = (planId: string, taskId: string): string => `plan-${planId}-task-${taskId}`;
/** A plan's id from its workflow id: how a plan a schedule started learns its own (the schedule appends the time). */
export const planIdOfWorkflowId = (workflowId: string): string => workflowId.replace(/^plan-/, '');
