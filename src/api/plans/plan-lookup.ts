import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import type { Config } from '../../config';
import { claimCheckOf, type ClaimCheck } from '../../storage/blob-store';
import {
  resolveOutput,
  resolveOutputs,
  scopedSources,
  taskResultReader,
  type OutputSources,
} from '../../storage/output-refs';
import { planTenant } from './tenant-gate';
import { taskResultRef } from '../../shared/claim-check';
import { planWorkflowId, taskWorkflowId } from '../../shared/ids';
import type { PlanLinks, PlanSpec, PlanStatus } from '../../shared/plan';
import { PlanStatusKey } from '../../shared/search-attributes';
import type { TaskView } from '../../shared/task';
import { inlineTaskOutputQuery, rerunSourceQuery, taskStatusQuery } from '../../workflows/messages';
import { expandPlan } from '../../shared/plan-codec';
import type { RerunSeed } from '../../shared/rerun';
import { TASK_DEFAULTS } from '../../shared/task';
import { ApiError, isTemporalUnavailable } from '../errors';
import { temporalRpc, type Rpc } from '../temporal-rpc';
import type { TaskAt } from './tasks';

/** A running task's own view is asked for with this deadline: a slow one keeps the plan's view of it. */
const LIVE_TASK_DEADLINE_MS = 2_000;

const TEMPORAL_CLOSED_STATUS: Record<string, PlanStatus> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'failed',
  TIMED_OUT: 'failed',
  CONTINUED_AS_NEW: 'running',
  RUNNING: 'running',
};

/** A plan's status from its workflow's description (or a listing's row): the search attribute says how it closed. */
export function statusOf(desc: Pick<WorkflowExecutionDescription, 'status' | 'typedSearchAttributes'>): PlanStatus {
  const sa = desc.typedSearchAttributes.get(PlanStatusKey);
  if (desc.status.name === 'RUNNING') return 'running';
  if (desc.status.name === 'COMPLETED' && sa && sa !== 'running') return sa as PlanStatus;
  return TEMPORAL_CLOSED_STATUS[desc.status.name] ?? 'failed';
}

/**
 * What every part of the plans API reaches Temporal with: the client under the API's deadline, a plan's workflow (a
 * 404 when there is none), a running task's live view, a completed task's output. Holds no state of its own.
 */
export class PlanLookup {
  readonly rpc: Rpc;
  /** Where referenced outputs are read from: task workflows' results (each call within the API's deadline), blobs. */
  private readonly outputs: OutputSources;
  /** The blob store the workers share (large message bodies go there). */
  readonly claimCheck: ClaimCheck;

  constructor(
    readonly client: Client,
    readonly config: Config,
  ) {
    this.rpc = temporalRpc(client, config.TEMPORAL_RPC_TIMEOUT_MS);
    this.claimCheck = claimCheckOf(config);
    this.outputs = { taskResult: taskResultReader(client, this.rpc), claimCheck: this.claimCheck };
  }

  handle(planId: string) {
    return this.client.workflow.getHandle(planWorkflowId(planId));
  }

  links(planId: string): PlanLinks {
    const ns = encodeURIComponent(this.config.TEMPORAL_NAMESPACE);
    const ui = this.config.TEMPORAL_UI_URL?.replace(/\/$/, '');
    return {
      self: `/v1/plans/${planId}`,
      result: `/v1/plans/${planId}/result`,
      ...(ui ? { ui: `${ui}/namespaces/${ns}/workflows/${encodeURIComponent(planWorkflowId(planId))}` } : {}),
    };
  }

  /** The plan's workflow description; a 404 when there is no such plan. */
  async describe(planId: string): Promise<WorkflowExecutionDescription> {
    let desc: WorkflowExecutionDescription;
    try {
      desc = await this.rpc(() => this.handle(planId).describe());
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ApiError('NOT_FOUND', `no plan "${planId}"`);
      throw err;
    }
    // A task workflow's id also starts with "plan-": never treat one as a plan.
    if (desc.type !== 'planWorkflow') throw new ApiError('NOT_FOUND', `no plan "${planId}"`);
    return desc;
  }

  /**
   * A running task's live view from its own workflow; undefined when it just finished or has not started (the plan's
   * own view of it stands). An unreachable Temporal is an error, not an absent task.
   */
  liveTask(planId: string, taskId: string): Promise<TaskView | undefined> {
    return this.rpc(
      () => this.client.workflow.getHandle(taskWorkflowId(planId, taskId)).query(taskStatusQuery),
      LIVE_TASK_DEADLINE_MS,
    ).catch((err: unknown) => {
      if (isTemporalUnavailable(err)) throw err;
      return undefined;
    });
  }

  /**
   * A completed task's output, claim checks resolved: from its own workflow's result (any depth), or from the plan's
   * workflow for a task that ran inline there.
   */
  async taskOutput(planId: string, taskId: string, inline = false): Promise<unknown> {
    const from = this.sourcesFor(planId);
    if (!inline) return resolveOutput(taskResultRef(planId, taskId), from);
    const output = await this.rpc(() => this.handle(planId).query(inlineTaskOutputQuery, taskId));
    return resolveOutput(output, from);
  }

  /**
   * What a rerun of the plan starts from (the rerunSource query: a closed plan is replayed on a worker to answer it):
   * its spec as submitted, expanded; its own rerun seed; the outputs of its tasks that ran inline.
   */
  async source(planId: string): Promise<{ spec: PlanSpec; rerun?: RerunSeed; kept: Record<string, unknown> }> {
    const { plan, rerun, kept } = await this.rpc(() => this.handle(planId).query(rerunSourceQuery));
    const spec = 'typeSets' in plan ? expandPlan(plan, () => TASK_DEFAULTS) : plan;
    return { spec, ...(rerun ? { rerun } : {}), kept };
  }

  /**
   * A completed task's output where it lives: its own workflow's result, its plan's workflow (it ran inline there, or
   * a rerun reused it: the plan holds what it was seeded with), or, for a sub-agent a rerun reused, the result of the
   * task workflow of the plan that ran it.
   */
  outputOf(planId: string, { task, path }: TaskAt): Promise<unknown> {
    if (task.reusedFrom !== undefined && path.length > 1) return this.taskOutput(task.reusedFrom, task.id);
    return this.taskOutput(planId, task.id, task.inline === true || task.reusedFrom !== undefined);
  }

  /** A plan's outputs with references and claim checks resolved, fifty at a time. */
  async resolveOutputs(planId: string, outputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    return resolveOutputs(outputs, this.sourcesFor(planId), 50);
  }

  /**
   * Which of `values` (outputs or references to them) can no longer be read in `planId`'s scope, by key, with why:
   * their task workflow is gone (retention) or did not complete, their blob is gone, no key decrypts them. Fifty at a
   * time; an unreachable Temporal is an error, not an unreadable output.
   */
  async unreadable(planId: string, values: Record<string, unknown>): Promise<Record<string, string>> {
    const from = this.sourcesFor(planId);
    const entries = Object.entries(values);
    const out: Record<string, string> = {};
    for (let i = 0; i < entries.length; i += 50) {
      await Promise.all(
        entries.slice(i, i + 50).map(async ([key, value]) => {
          try {
            await resolveOutput(value, from);
          } catch (err) {
            if (isTemporalUnavailable(err)) throw err;
            out[key] = err instanceof Error ? err.message : String(err);
          }
        }),
      );
    }
    return out;
  }

  /**
   * Where a plan's references are read from: only its own tasks' outputs, or those of its tenant's other plans (the
   * plan's tenant is asked only for such a reference, once).
   */
  private sourcesFor(planId: string) {
    let tenant: Promise<string> | undefined;
    return scopedSources(this.outputs, {
      planId,
      tenant: () => (tenant ??= this.describe(planId).then(planTenant)),
    });
  }
}
