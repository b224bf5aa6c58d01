import { taskWorkflowId } from './ids';

/**
 * Claim checks: what travels through workflow history in place of a value kept elsewhere. Activities and the API
 * resolve them; workflows only pass them on.
 */

/** A value kept in the blob store instead of workflow history, resolved by activities and the API. */
export interface BlobRef {
  /** `sha256:<hex>` of the value's JSON. */
  $blob: string;
  bytes: number;
  /** The first characters of the value, for people looking at the history in the Web UI. */
  preview?: string;
}

export const isBlobRef = (v: unknown): v is BlobRef =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as BlobRef).$blob === 'string' &&
  /^sha256:[0-9a-f]{64}$/.test((v as BlobRef).$blob);

/** A task's output kept in its task workflow's result (the plan's history holds only this). */
export interface TaskResultRef {
  $taskResult: string;
}

export const taskResultRef = (planId: string, taskId: string): TaskResultRef => ({
  $taskResult: taskWorkflowId(planId, taskId),
});

export const isTaskResultRef = (v: unknown): v is TaskResultRef =>
  typeof v === 'object' && v !== null && typeof (v as TaskResultRef).$taskResult === 'string';
