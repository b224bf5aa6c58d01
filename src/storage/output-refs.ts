import type { Client } from '@temporalio/client';
import type { ClaimCheck } from './blob-store';
import { isTaskResultRef } from '../shared/claim-check';
import type { TaskOutcome } from '../shared/task';

/**
 * Where referenced outputs are read from: a task workflow's result (for a `$taskResult` reference, see TaskResultRef)
 * and the blob store (for a `$blob` claim check).
 */
export interface OutputSources {
  /** A task's output, read from its task workflow's result. */
  taskResult: (workflowId: string) => Promise<unknown>;
  claimCheck: ClaimCheck;
}

/**
 * Reads a task's output from its task workflow's result; `call` wraps the Temporal call (the API bounds it with its
 * deadline, the worker calls it as it is).
 */
export function taskResultReader(
  client: Client,
  call: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
): (workflowId: string) => Promise<unknown> {
  return async (workflowId) =>
    ((await call(() => client.workflow.getHandle(workflowId).result())) as TaskOutcome).output;
}

/** One value with its references resolved: an output reference read from its task workflow, then a claim check read. */
export async function resolveOutput(value: unknown, from: OutputSources): Promise<unknown> {
  return from.claimCheck.resolve(isTaskResultRef(value) ? await from.taskResult(value.$taskResult) : value);
}

/**
 * Every value of `values` with its references resolved (resolveOutput), `batch` at a time (all at once by default: a
 * step's few dependencies; the API reads a big plan's outputs fifty at a time).
 */
export async function resolveOutputs(
  values: Record<string, unknown>,
  from: OutputSources,
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
