import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { FINAL_TASK_STATES, type TaskView } from '../../shared/task';
import { PLAN_STATUSES, type PlanLinks, type PlanStatus, type PlanSummary, type PlanView } from '../../shared/plan';
import type { MailLogEntry } from '../../shared/agent-mail';
import { planIdOfWorkflowId } from '../../shared/ids';
import { PlanIdKey, RerunOfKey, ScheduleKey } from '../../shared/search-attributes';
import { planMessagesQuery, planProgressQuery, planStatusQuery } from '../../workflows/messages';
import { statusOf, type PlanLookup } from './plan-lookup';
import { tenantFilter } from './tenant-gate';

/** A plan's view as GET /v1/plans/:planId shows it. */
export type PlanStatusView = PlanView & { links: PlanLinks };

/** The plans as they are: one plan's status (running tasks read live), its progress and messages, the listing. */
export class PlanViews {
  constructor(private readonly lookup: PlanLookup) {}

  /** The plan's status, with running tasks' live lifecycle state read from their own workflows. */
  async status(planId: string): Promise<PlanStatusView> {
    await this.lookup.describe(planId);
    return this.liveView(planId);
  }

  /**
   * What an event stream polls (src/api/events/plan-events.ts): whether the plan closed (and how), its status view and
   * its messages, with one describe. Without a worker to answer the queries, a closed plan still reports that it closed.
   */
  async watch(
    planId: string,
    pick?: (running: TaskView[]) => TaskView[],
  ): Promise<{ closed?: PlanStatus; view?: PlanView; messages: MailLogEntry[] }> {
    const desc = await this.lookup.describe(planId);
    const closed = desc.status.name === 'RUNNING' ? undefined : statusOf(desc);
    const handle = this.lookup.handle(planId);
    const read = async () => {
      const [view, messages] = await Promise.all([
        this.liveView(planId, pick),
        this.lookup.rpc(() => handle.query(planMessagesQuery)),
      ]);
      return { view, messages };
    };
    if (!closed) return { ...(await read()) };
    return { closed, ...(await read().catch(() => ({ messages: [] }))) };
  }

  /** `pick`: which running tasks to ask for their live step (a query each); by default the first 200. */
  private async liveView(
    planId: string,
    pick: (running: TaskView[]) => TaskView[] = (r) => r.slice(0, 200),
  ): Promise<PlanStatusView> {
    const view = await this.lookup.rpc(() => this.lookup.handle(planId).query(planStatusQuery));
    const live = (tasks: TaskView[]) =>
      tasks.filter((t) => t.state !== 'pending' && !FINAL_TASK_STATES.includes(t.state) && !t.inline);
    const running = pick(live(view.tasks));
    const enriched = await Promise.all(running.map((t) => this.lookup.liveTask(planId, t.id)));
    const byId = new Map(enriched.filter((t): t is TaskView => t !== undefined).map((t) => [t.id, t]));
    const merged = (t: TaskView): TaskView => {
      const own = byId.get(t.id);
      return own ? { ...own, ...(t.dependsOn ? { dependsOn: t.dependsOn } : {}) } : t;
    };
    return { ...view, tasks: view.tasks.map(merged), links: this.lookup.links(planId) };
  }

  /** Status and counts only (no task list): what the 202 of the result endpoint needs. */
  async progress(planId: string): Promise<Pick<PlanView, 'status' | 'progress' | 'paused'>> {
    await this.lookup.describe(planId);
    return this.lookup.rpc(() => this.lookup.handle(planId).query(planProgressQuery));
  }

  async messages(planId: string): Promise<MailLogEntry[]> {
    await this.lookup.describe(planId);
    return this.lookup.rpc(() => this.lookup.handle(planId).query(planMessagesQuery));
  }

  /**
   * Recent plans, newest first: of one tenant, or (`tenant` undefined: an admin, or an API without keys) of all;
   * `schedule`: only the plans that schedule started; `rerunOf`: only the reruns of that plan (ids are checked: they
   * have no quotes).
   */
  async list(
    filter: { status?: PlanStatus; schedule?: string; rerunOf?: string },
    limit: number,
    tenant?: string,
  ): Promise<PlanSummary[]> {
    const { status, schedule, rerunOf } = filter;
    const query =
      `WorkflowType = 'planWorkflow' AND ExecutionStatus != 'ContinuedAsNew'` +
      (status ? ` AND PlanStatus = '${status}'` : '') +
      (schedule ? ` AND ${ScheduleKey.name} = '${schedule}'` : '') +
      (rerunOf ? ` AND ${RerunOfKey.name} = '${rerunOf}'` : '') +
      (tenant !== undefined ? ` AND ${tenantFilter(tenant)}` : '');
    const plans: PlanSummary[] = [];
    const { client } = this.lookup;
    const { namespace, loadedDataConverter: converter } = client.options;
    await this.lookup.rpc(async () => {
      let nextPageToken: Uint8Array = Buffer.alloc(0);
      do {
        const page = await client.workflowService.listWorkflowExecutions({
          namespace,
          query,
          pageSize: Math.min(limit, 1_000),
          nextPageToken,
        });
        for (const raw of page.executions) {
          // A row whose memo no key of this API decrypts (a plan written under another key set) is listed without its
          // name rather than failing the whole listing.
          const wf = await executionInfoFromRaw(raw, converter, raw, namespace).catch(() =>
            executionInfoFromRaw({ ...raw, memo: null }, converter, raw, namespace),
          );
          const planId = wf.typedSearchAttributes.get(PlanIdKey) ?? planIdOfWorkflowId(wf.workflowId);
          const from = wf.typedSearchAttributes.get(ScheduleKey);
          const parent = wf.typedSearchAttributes.get(RerunOfKey);
          plans.push({
            planId,
            workflowId: wf.workflowId,
            ...(typeof wf.memo?.name === 'string' ? { name: wf.memo.name } : {}),
            status: statusOf(wf),
            ...(from ? { schedule: from } : {}),
            ...(parent ? { rerunOf: parent } : {}),
            startedAt: wf.startTime.toISOString(),
            closedAt: wf.closeTime?.toISOString() ?? null,
          });
          if (plans.length >= limit) return;
        }
        nextPageToken = page.nextPageToken;
      } while (nextPageToken.length > 0);
    });
    return plans;
  }

  /** Plans by status, from Temporal visibility (for /metrics). */
  async countByStatus(): Promise<Partial<Record<PlanStatus, number>>> {
    const counts = await this.lookup.rpc(() =>
      Promise.all(
        PLAN_STATUSES.map(async (status) => {
          const query = `WorkflowType = 'planWorkflow' AND ExecutionStatus != 'ContinuedAsNew' AND PlanStatus = '${status}'`;
          return [status, (await this.lookup.client.workflow.count(query)).count] as const;
        }),
      ),
    );
    return Object.fromEntries(counts);
  }
}
