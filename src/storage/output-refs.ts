import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ClaimCheck } from './blob-store';
import { isTaskResultRef } from '../shared/claim-check';
import { Failure } from '../shared/errors';
import { planWorkflowId } from '../shared/ids';
import type { TaskOutcome } from '../shared/task';
import { tenantOrDefault } from '../shared/tenant';

/** How long reading a referenced output may take: a reference never waits on a workflow that is still running. */
const READ_DEADLINE_MS = 30_000;

/** Whose references a read serves: those of the plan's own tasks, or of other plans of the same tenant. */
export interface RefScope {
  planId: string;
  /** The reader's tenant, or how to learn it: asked only for a reference to another plan's task. */
  tenant: string | (() => Promise<string>);
}

const tenantIn = async (scope: RefScope): Promise<string> =>
  typeof scope.tenant === 'string' ? scope.tenant : scope.tenant();

/**
 * Where referenced outputs are read from: a task workflow's result (for a `$taskResult` reference, see TaskResultRef)
 * and the blob store (for a `$blob` claim check).
 */
export interface OutputSources {
  /** A task's output, read from its task workflow's result, for a reader in `scope`. */
  taskResult: (workflowId: string, scope: RefScope) => Promise<unknown>;
  claimCheck: ClaimCheck;
}

/**
 * Reads a task's output from its task workflow's result; `call` wraps the Temporal call (the API bounds it with its
 * deadline, the worker calls it as it is). A reference is honoured only when it names a completed task workflow of the
 * reader's own plan, or of another plan of the reader's tenant; anything else (another tenant's task, the pool, a
 * running workflow) is refused at once with BadInput, never waited on.
 */
export function taskResultReader(
  client: Client,
  call: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
): (workflowId: string, scope: RefScope) => Promise<unknown> {
  const refuse = (workflowId: string, why: string) =>
    ApplicationFailure.nonRetryable(`the output reference "${workflowId}" ${why}`, Failure.BadInput);
  const planOf = async (workflowId: string, scope: RefScope): Promise<string | undefined> => {
    const own = `${planWorkflowId(scope.planId)}-task-`;
    if (workflowId.startsWith(own) && workflowId.length > own.length) return scope.planId;
    // plan-<planId>-task-<taskId>: try each split, the plan must exist and be the reader's tenant's.
    const tenant = await tenantIn(scope);
    for (let at = workflowId.indexOf('-task-'); at > 5; at = workflowId.indexOf('-task-', at + 1)) {
      if (!workflowId.startsWith('plan-')) break;
      const planId = workflowId.slice(5, at);
      const desc = await call(() => client.workflow.getHandle(planWorkflowId(planId)).describe()).catch(
        () => undefined,
      );
      if (desc?.type !== 'planWorkflow') continue;
      const memo = desc.memo?.tenant;
      if (tenantOrDefault(typeof memo === 'string' ? memo : undefined) === tenant) return planId;
    }
    return undefined;
  };
  return async (workflowId, scope) => {
    if (!(await planOf(workflowId, scope)))
      throw refuse(workflowId, `is not a task of a plan of tenant "${await tenantIn(scope)}"`);
    const handle = client.workflow.getHandle(workflowId);
    const desc = await call(() => handle.describe()).catch(() => undefined);
    if (desc?.type !== 'agentTaskWorkflow') throw refuse(workflowId, 'names no task workflow');
    if (desc.status.name !== 'COMPLETED')
      throw refuse(workflowId, `names a task that has not completed (${desc.status.name})`);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`reading the output of "${workflowId}" took over ${READ_DEADLINE_MS} ms`)),
        READ_DEADLINE_MS,
      );
    });
    try {
      return ((await Promise.race([call(() => handle.result()), deadline])) as TaskOutcome).output;
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Where `scope`'s references are read from: `from`, with every task result read for that scope. */
export function scopedSources(from: OutputSources, scope: RefScope): ScopedSources {
  return { taskResult: (id) => from.taskResult(id, scope), claimCheck: from.claimCheck };
}

/** Output sources bound to one reader's scope (what resolveOutput takes). */
export interface ScopedSources {
  taskResult: (workflowId: string) => Promise<unknown>;
  claimCheck: ClaimCheck;
}

/** One value with its references resolved: an output reference read from its task workflow, then a claim check read. */
export async function resolveOutput(value: unknown, from: ScopedSources): Promise<unknown> {
  return from.claimCheck.resolve(isTaskResultRef(value) ? await from.taskResult(value.$taskResult) : value);
}

/**
 * Every value of `values` with its references resolved (resolveOutput), `batch` at a time (all at once by default: a
 * step's few dependencies; the API reads a big plan's outputs fifty at a time).
 */
export async function resolveOutputs(
  values: Record<string, unknown>,
  from: ScopedSources,
  batch = Infinity,
): Promise<Record<string, unknown>> {
  const entries = Object.entries(values);
  const resolved: (readonly [string, unknown])[] = [];
  for (let i = 0; i < entries.length; i += batch) {
    const slice = entries.slice(i, i + batch);
    resolved.push(...(await Promise.all(slice.map(async ([k, v]) => [k, await resolveOutput(v, from)] as const))));
  }
  return Object.fromEntries(resolved);
}
