import { WorkflowFailedError } from '@temporalio/client';
import type { PlanResult } from '../../shared/plan';
import { planStatusQuery } from '../../workflows/messages';
import type { planWorkflow } from '../../workflows/plan';
import { planWorkflowId } from '../../shared/ids';
import { isTemporalUnavailable } from '../errors';
import { statusOf, type PlanLookup } from './plan-lookup';
import { flattenTasks, summaryOf, type TaskSummary } from './tasks';

/** GET /v1/plans/:planId/result: a closed plan's result, outputs resolved, with every task at every depth. */
export class PlanResults {
  constructor(private readonly lookup: PlanLookup) {}

  /** Waits up to `waitSeconds` for the plan to close. Returns null while it is still running. */
  async result(planId: string, waitSeconds: number): Promise<PlanResult | null> {
    const result = await this.rawResult(planId, waitSeconds);
    if (!result) return result;
    // Outputs of big plans are kept by reference in their task workflows' results, and large outputs are claim checks:
    // read them, a few at a time.
    result.outputs = await this.lookup.resolveOutputs(planId, result.outputs);
    // Sub-agents' results are part of the plan's too. Flat plans skip this: their outputs and errors are all there is,
    // and the status query it takes would add a replay of the closed plan to every result.
    if (!result.nested) return result;
    // The status query replays the closed plan on a worker: without one, the result comes without `tasks`.
    const tasks = await this.allTasks(planId, result).catch(() => undefined);
    return tasks ? { ...result, tasks } : result;
  }

  private async rawResult(planId: string, waitSeconds: number): Promise<PlanResult | null> {
    const { lookup } = this;
    const desc = await lookup.describe(planId);
    const handle = lookup.client.workflow.getHandle<typeof planWorkflow>(planWorkflowId(planId));
    if (desc.status.name === 'RUNNING' && waitSeconds === 0) return null;
    try {
      return await lookup.rpc(
        () => handle.result(),
        desc.status.name === 'RUNNING' ? waitSeconds * 1_000 : lookup.config.TEMPORAL_RPC_TIMEOUT_MS,
      );
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        const closed = await lookup.describe(planId);
        return {
          planId,
          status: statusOf(closed),
          outputs: {},
          errors: { '*': { message: err.cause?.message ?? err.message, type: closed.status.name, state: 'failed' } },
        };
      }
      if (isTemporalUnavailable(err)) {
        // The wait ran out; tell a timeout apart from an outage with one more quick call.
        const again = await lookup.describe(planId);
        if (again.status.name === 'RUNNING') return null;
        return lookup.rpc(() => handle.result());
      }
      throw err;
    }
  }

  /** Every task at every depth for a closed plan's result; outputs of sub-agents read from their own workflows. */
  private async allTasks(planId: string, result: PlanResult): Promise<Record<string, TaskSummary>> {
    const view = await this.lookup.rpc(() => this.lookup.handle(planId).query(planStatusQuery));
    const all = flattenTasks(view.tasks);
    const out: Record<string, TaskSummary> = {};
    for (let i = 0; i < all.length; i += 50) {
      await Promise.all(
        all.slice(i, i + 50).map(async (at) => {
          const id = at.task.id;
          const top = at.path.length === 1;
          const output =
            at.task.state !== 'completed'
              ? undefined
              : top
                ? result.outputs[id]
                : await this.lookup.outputOf(planId, at).catch(() => undefined);
          out[id] = summaryOf(at, view.usage?.byTask[id], output);
        }),
      );
    }
    return out;
  }
}
