import { createHash, randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowIdReusePolicy,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import type { Config } from '../../config';
import { executionSettings } from '../../config';
import { claimCheckOf } from '../../storage/blob-store';
import { resolveOutput, resolveOutputs, taskResultReader, type OutputSources } from '../../storage/output-refs';
import { temporalRpc, type Rpc } from '../temporal-rpc';
import { planWorkflowId, taskWorkflowId } from '../../shared/ids';
import { checkPlan } from '../../shared/plan-check';
import { compactPlan, type CompactPlan } from '../../shared/plan-codec';
import type { Registry } from '../../shared/registry';
import { PlanIdKey, PlanStatusKey, SubmitterKey } from '../../shared/search-attributes';
import { FINAL_TASK_STATES, TASK_DEFAULTS, type HumanInput, type TaskState, type TaskView } from '../../shared/task';
import { taskResultRef } from '../../shared/claim-check';
import {
  PLAN_STATUSES,
  type PlanLinks,
  type PlanResult,
  type PlanSpec,
  type PlanStatus,
  type PlanSummary,
  type PlanView,
} from '../../shared/plan';
import { type AgentMail, type MailLogEntry } from '../../shared/agent-mail';
import {
  agentMessageSignal,
  cancelPlanSignal,
  cancelTaskSignal,
  pausePlanSignal,
  planMessagesQuery,
  planProgressQuery,
  planStatusQuery,
  resumePlanSignal,
  taskInputUpdate,
  taskStatusQuery,
} from '../../workflows/messages';
import type { planWorkflow } from '../../workflows/plan';
import { ApiError, isTemporalUnavailable } from '../errors';
import { findTask, flattenTasks, summaryOf, type TaskAt, type TaskSummary } from './tasks';

/** Leaves room under Temporal's 2 MB payload limit for the rest of the workflow input. */
const MAX_PLAN_PAYLOAD = 1_500_000;

export interface SubmitAnswer {
  planId: string;
  workflowId: string;
  status: PlanStatus;
  links: PlanLinks;
}

/** A checked plan, ready to start: what `prepare` gives `start` and `existing`. */
export interface PreparedPlan {
  plan: PlanSpec;
  compact: CompactPlan;
  /** The body named the plan's id (a resubmission can then name an existing plan). */
  idGiven: boolean;
  bodyHash: string;
}

export interface Submitted {
  created: boolean;
  answer: SubmitAnswer;
}

/** Stable JSON: the same body with keys in another order hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const TEMPORAL_CLOSED_STATUS: Record<string, PlanStatus> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'failed',
  TIMED_OUT: 'failed',
  CONTINUED_AS_NEW: 'running',
  RUNNING: 'running',
};

function statusOf(desc: Pick<WorkflowExecutionDescription, 'status' | 'typedSearchAttributes'>): PlanStatus {
  const sa = desc.typedSearchAttributes.get(PlanStatusKey);
  if (desc.status.name === 'RUNNING') return 'running';
  if (desc.status.name === 'COMPLETED' && sa && sa !== 'running') return sa as PlanStatus;
  return TEMPORAL_CLOSED_STATUS[desc.status.name] ?? 'failed';
}

/** Everything the HTTP API does with Temporal, kept out of the route handlers. Holds no state of its own. */
export class PlanService {
  /** Where referenced outputs are read from: task workflows' results (each call within the API's deadline), blobs. */
  private readonly outputs: OutputSources;
  private readonly rpc: Rpc;
  constructor(
    private readonly client: Client,
    private readonly config: Config,
    /** The live registry (the pool's); `fallback` (the file's) when Temporal cannot be asked, so bad input still gets its 400. */
    private readonly registry: () => Promise<Registry>,
    private readonly fallback: Registry,
  ) {
    this.rpc = temporalRpc(client, config.TEMPORAL_RPC_TIMEOUT_MS);
    this.outputs = { taskResult: taskResultReader(client, this.rpc), claimCheck: claimCheckOf(config) };
  }

  private links(planId: string): SubmitAnswer['links'] {
    const ns = encodeURIComponent(this.config.TEMPORAL_NAMESPACE);
    const ui = this.config.TEMPORAL_UI_URL?.replace(/\/$/, '');
    return {
      self: `/v1/plans/${planId}`,
      result: `/v1/plans/${planId}/result`,
      ...(ui ? { ui: `${ui}/namespaces/${ns}/workflows/${encodeURIComponent(planWorkflowId(planId))}` } : {}),
    };
  }

  /**
   * Checks a submitted plan (400 naming every problem, 413 when too big) and readies it for starting; nothing is
   * started and no quota is consulted yet.
   */
  async prepare(body: unknown): Promise<PreparedPlan> {
    const registry = await this.registry().catch((err: unknown) => {
      if (isTemporalUnavailable(err)) return this.fallback;
      throw err;
    });
    const checked = checkPlan(body, registry, { maxTasks: this.config.PLAN_MAX_TASKS }, () => randomUUID());
    if (!checked.ok) {
      const first = checked.issues[0];
      const more = checked.issues.length > 1 ? ` (and ${checked.issues.length - 1} more)` : '';
      throw new ApiError(
        'VALIDATION_ERROR',
        `invalid plan: ${first?.path ? `${first.path}: ` : ''}${first?.message}${more}`,
        checked.issues,
      );
    }
    const { plan } = checked;
    const compact = compactPlan(plan, TASK_DEFAULTS);
    const size = JSON.stringify(compact).length;
    if (size > MAX_PLAN_PAYLOAD) {
      throw new ApiError(
        'PAYLOAD_TOO_LARGE',
        `the plan is ${size} bytes once normalized; the limit is ${MAX_PLAN_PAYLOAD} (Temporal payloads are capped at 2 MB)`,
      );
    }
    return {
      plan,
      compact,
      idGiven: typeof body === 'object' && body !== null && (body as { id?: unknown }).id !== undefined,
      bodyHash: createHash('sha256').update(canonical(body)).digest('hex'),
    };
  }

  /**
   * Starts a prepared plan; an existing plan with the same id and body answers as it is (`created: false`), one with
   * another body is a 409. `submitter`: the API key's name, stamped as the Submitter search attribute (quotas count by it).
   */
  async start(prepared: PreparedPlan, submitter?: string): Promise<Submitted> {
    const { plan, compact, bodyHash } = prepared;
    const workflowId = planWorkflowId(plan.id);
    const count = plan.tasks.length;
    try {
      await this.rpc(() =>
        this.client.workflow.start<typeof planWorkflow>('planWorkflow', {
          workflowId,
          taskQueue: this.config.TEMPORAL_TASK_QUEUE,
          args: [{ plan: compact, settings: executionSettings(this.config) }],
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          typedSearchAttributes: [
            { key: PlanIdKey, value: plan.id },
            { key: PlanStatusKey, value: 'running' },
            ...(submitter ? [{ key: SubmitterKey, value: submitter }] : []),
          ],
          memo: { bodyHash, ...(plan.name ? { name: plan.name } : {}) },
          staticSummary: `${plan.name ?? plan.id} · ${plan.mode} · ${count} task${count === 1 ? '' : 's'}`,
        }),
      );
      return { created: true, answer: { planId: plan.id, workflowId, status: 'running', links: this.links(plan.id) } };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const known = await this.existing(prepared);
      if (!known) throw err;
      return known;
    }
  }

  /**
   * The plan a resubmission names, when it exists with the same body (`created: false`); a 409 when it exists with
   * another body; undefined when there is none (or the body gave no id, so it names none).
   */
  async existing(prepared: PreparedPlan): Promise<Submitted | undefined> {
    if (!prepared.idGiven) return undefined;
    const { plan, bodyHash } = prepared;
    const workflowId = planWorkflowId(plan.id);
    let desc: WorkflowExecutionDescription;
    try {
      desc = await this.rpc(() => this.client.workflow.getHandle(workflowId).describe());
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
      throw err;
    }
    if (desc.memo?.bodyHash !== bodyHash) {
      throw new ApiError('CONFLICT', `plan "${plan.id}" already exists with a different body`);
    }
    return {
      created: false,
      answer: { planId: plan.id, workflowId, status: statusOf(desc), links: this.links(plan.id) },
    };
  }

  private async describe(planId: string): Promise<WorkflowExecutionDescription> {
    let desc: WorkflowExecutionDescription;
    try {
      desc = await this.rpc(() => this.client.workflow.getHandle(planWorkflowId(planId)).describe());
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError') throw new ApiError('NOT_FOUND', `no plan "${planId}"`);
      throw err;
    }
    // A task workflow's id also starts with "plan-": never treat one as a plan.
    if (desc.type !== 'planWorkflow') throw new ApiError('NOT_FOUND', `no plan "${planId}"`);
    return desc;
  }

  /** The plan's status, with running tasks' live lifecycle state read from their own workflows. */
  async status(planId: string): Promise<PlanView & { links: SubmitAnswer['links'] }> {
    await this.describe(planId);
    return this.liveView(planId);
  }

  /**
   * What an event stream polls (src/api/events/plan-events.ts): whether the plan closed (and how), its status view and its
   * messages, with one describe. Without a worker to answer the queries, a closed plan still reports that it closed.
   */
  async watch(
    planId: string,
    pick?: (running: TaskView[]) => TaskView[],
  ): Promise<{ closed?: PlanStatus; view?: PlanView; messages: MailLogEntry[] }> {
    const desc = await this.describe(planId);
    const closed = desc.status.name === 'RUNNING' ? undefined : statusOf(desc);
    const handle = this.client.workflow.getHandle(planWorkflowId(planId));
    const read = async () => {
      const [view, messages] = await Promise.all([
        this.liveView(planId, pick),
        this.rpc(() => handle.query(planMessagesQuery)),
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
  ): Promise<PlanView & { links: SubmitAnswer['links'] }> {
    const view = await this.rpc(() => this.client.workflow.getHandle(planWorkflowId(planId)).query(planStatusQuery));
    const live = (tasks: TaskView[]) =>
      tasks.filter((t) => t.state !== 'pending' && !FINAL_TASK_STATES.includes(t.state));
    const running = pick(live(view.tasks));
    const enriched = await Promise.all(
      running.map((t) =>
        this.rpc(
          () => this.client.workflow.getHandle(taskWorkflowId(planId, t.id)).query(taskStatusQuery),
          2_000,
        ).catch((err: unknown) => {
          if (isTemporalUnavailable(err)) throw err;
          return undefined; // the child just finished or has not started: keep the plan's own view of it
        }),
      ),
    );
    const byId = new Map(enriched.filter((t): t is TaskView => t !== undefined).map((t) => [t.id, t]));
    const merged = (t: TaskView): TaskView => {
      const own = byId.get(t.id);
      return own ? { ...own, ...(t.dependsOn ? { dependsOn: t.dependsOn } : {}) } : t;
    };
    return { ...view, tasks: view.tasks.map(merged), links: this.links(planId) };
  }

  /** One task at any depth, by id: its view (live while it runs), where it sits, and its output once completed. */
  async task(planId: string, taskId: string): Promise<TaskView & { path: string[]; output?: unknown }> {
    const view = await this.status(planId);
    // A running coordinator lists its sub-agents' own sub-agents only once they finish: look deeper ones up directly.
    const found = findTask(view.tasks, taskId) ?? (await this.runningNested(planId, taskId));
    if (!found) throw new ApiError('NOT_FOUND', `no task "${taskId}" in plan "${planId}"`);
    let task = found.task;
    if (task.state !== 'pending' && !FINAL_TASK_STATES.includes(task.state) && found.path.length > 1) {
      const live = await this.rpc(
        () => this.client.workflow.getHandle(taskWorkflowId(planId, taskId)).query(taskStatusQuery),
        2_000,
      ).catch((err: unknown) => {
        if (isTemporalUnavailable(err)) throw err;
        return undefined;
      });
      if (live) task = live;
    }
    const usage = view.usage?.byTask[taskId];
    const output = task.state === 'completed' ? await this.taskOutput(planId, taskId) : undefined;
    return {
      ...task,
      ...(usage ? { usage } : {}),
      path: found.path,
      ...(output !== undefined ? { output } : {}),
    };
  }

  /** A sub-agent of the plan found by its workflow, with its path read from the parent links. */
  private async runningNested(planId: string, taskId: string): Promise<TaskAt | undefined> {
    const prefix = `${planWorkflowId(planId)}-task-`;
    const path: string[] = [];
    for (let id: string | undefined = taskWorkflowId(planId, taskId); id?.startsWith(prefix);) {
      const desc = await this.rpc(() => this.client.workflow.getHandle(id as string).describe()).catch(() => undefined);
      if (!desc || desc.type !== 'agentTaskWorkflow') return undefined;
      path.unshift(id.slice(prefix.length));
      id = desc.parentExecution?.workflowId ?? undefined;
      if (id === planWorkflowId(planId)) break;
      if (path.length > 20) return undefined;
    }
    if (path.length === 0) return undefined;
    const task = await this.rpc(
      () => this.client.workflow.getHandle(taskWorkflowId(planId, taskId)).query(taskStatusQuery),
      2_000,
    ).catch(() => undefined);
    return task ? { task, path } : undefined;
  }

  /** A completed task's output, from its own workflow's result (any depth), claim checks resolved. */
  private taskOutput(planId: string, taskId: string): Promise<unknown> {
    return resolveOutput(taskResultRef(planId, taskId), this.outputs);
  }

  /** Every task at every depth for a closed plan's result; outputs of sub-agents read from their own workflows. */
  private async allTasks(planId: string, result: PlanResult): Promise<Record<string, TaskSummary>> {
    const view = await this.rpc(() => this.client.workflow.getHandle(planWorkflowId(planId)).query(planStatusQuery));
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
                : await this.taskOutput(planId, id).catch(() => undefined);
          out[id] = summaryOf(at, view.usage?.byTask[id], output);
        }),
      );
    }
    return out;
  }

  /** Status and counts only (no task list): what the 202 of the result endpoint needs. */
  async progress(planId: string): Promise<Pick<PlanView, 'status' | 'progress' | 'paused'>> {
    await this.describe(planId);
    return this.rpc(() => this.client.workflow.getHandle(planWorkflowId(planId)).query(planProgressQuery));
  }

  /** Waits up to `waitSeconds` for the plan to close. Returns null while it is still running. */
  async result(planId: string, waitSeconds: number): Promise<PlanResult | null> {
    const result = await this.rawResult(planId, waitSeconds);
    if (!result) return result;
    // Outputs of big plans are kept by reference in their task workflows' results, and large outputs are claim checks:
    // read them, a few at a time.
    result.outputs = await resolveOutputs(result.outputs, this.outputs, 50);
    // Sub-agents' results are part of the plan's too. Flat plans skip this: their outputs and errors are all there is,
    // and the status query it takes would add a replay of the closed plan to every result.
    if (!result.nested) return result;
    // The status query replays the closed plan on a worker: without one, the result comes without `tasks`.
    const tasks = await this.allTasks(planId, result).catch(() => undefined);
    return tasks ? { ...result, tasks } : result;
  }

  private async rawResult(planId: string, waitSeconds: number): Promise<PlanResult | null> {
    const desc = await this.describe(planId);
    const handle = this.client.workflow.getHandle<typeof planWorkflow>(planWorkflowId(planId));
    if (desc.status.name === 'RUNNING' && waitSeconds === 0) return null;
    try {
      return await this.rpc(
        () => handle.result(),
        desc.status.name === 'RUNNING' ? waitSeconds * 1_000 : this.config.TEMPORAL_RPC_TIMEOUT_MS,
      );
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        const closed = await this.describe(planId);
        return {
          planId,
          status: statusOf(closed),
          outputs: {},
          errors: { '*': { message: err.cause?.message ?? err.message, type: closed.status.name, state: 'failed' } },
        };
      }
      if (isTemporalUnavailable(err)) {
        // The wait ran out; tell a timeout apart from an outage with one more quick call.
        const again = await this.describe(planId);
        if (again.status.name === 'RUNNING') return null;
        return this.rpc(() => handle.result());
      }
      throw err;
    }
  }

  async list(status: PlanStatus | undefined, limit: number): Promise<PlanSummary[]> {
    const query = `WorkflowType = 'planWorkflow' AND ExecutionStatus != 'ContinuedAsNew'${status ? ` AND PlanStatus = '${status}'` : ''}`;
    const plans: PlanSummary[] = [];
    await this.rpc(async () => {
      for await (const wf of this.client.workflow.list({ query, pageSize: Math.min(limit, 1_000) })) {
        const planId = wf.typedSearchAttributes.get(PlanIdKey) ?? wf.workflowId.replace(/^plan-/, '');
        plans.push({
          planId,
          workflowId: wf.workflowId,
          ...(typeof wf.memo?.name === 'string' ? { name: wf.memo.name } : {}),
          status: statusOf(wf),
          startedAt: wf.startTime.toISOString(),
          closedAt: wf.closeTime?.toISOString() ?? null,
        });
        if (plans.length >= limit) break;
      }
    });
    return plans;
  }

  /** Plans by status, from Temporal visibility (for /metrics). */
  async countByStatus(): Promise<Partial<Record<PlanStatus, number>>> {
    const counts = await this.rpc(() =>
      Promise.all(
        PLAN_STATUSES.map(async (status) => {
          const query = `WorkflowType = 'planWorkflow' AND ExecutionStatus != 'ContinuedAsNew' AND PlanStatus = '${status}'`;
          return [status, (await this.client.workflow.count(query)).count] as const;
        }),
      ),
    );
    return Object.fromEntries(counts);
  }

  private async runningHandle(planId: string, action: string) {
    const desc = await this.describe(planId);
    if (desc.status.name !== 'RUNNING')
      throw new ApiError('CONFLICT', `plan "${planId}" is already closed (${statusOf(desc)}); cannot ${action}`);
    return this.client.workflow.getHandle(planWorkflowId(planId));
  }

  async cancel(planId: string, reason?: string): Promise<void> {
    const handle = await this.runningHandle(planId, 'cancel');
    await this.rpc(() => handle.signal(cancelPlanSignal, { reason }));
  }

  async cancelTask(planId: string, taskId: string, reason?: string): Promise<TaskView> {
    const handle = await this.runningHandle(planId, 'cancel a task');
    const view = await this.rpc(() => handle.query(planStatusQuery));
    const task = view.tasks.find((t) => t.id === taskId);
    if (!task) throw new ApiError('NOT_FOUND', `plan "${planId}" has no top-level task "${taskId}"`);
    if (FINAL_TASK_STATES.includes(task.state))
      throw new ApiError('CONFLICT', `task "${taskId}" already ended ${task.state}`);
    await this.rpc(() => handle.signal(cancelTaskSignal, { taskId, reason }));
    return task;
  }

  async pause(planId: string, paused: boolean): Promise<void> {
    const handle = await this.runningHandle(planId, paused ? 'pause' : 'resume');
    await this.rpc(() => (paused ? handle.signal(pausePlanSignal) : handle.signal(resumePlanSignal)));
  }

  /** Puts a message on the plan's bus (de-duplicated by id). */
  async sendMessage(
    planId: string,
    msg: { id?: string; from?: string; to: string; body: unknown },
  ): Promise<AgentMail> {
    const handle = await this.runningHandle(planId, 'send a message');
    const message: AgentMail = {
      id: msg.id ?? randomUUID(),
      from: msg.from ?? 'api',
      to: msg.to,
      body: msg.body,
      sentAt: new Date().toISOString(),
    };
    await this.rpc(() => handle.signal(agentMessageSignal, message));
    return message;
  }

  async messages(planId: string): Promise<MailLogEntry[]> {
    await this.describe(planId);
    return this.rpc(() => this.client.workflow.getHandle(planWorkflowId(planId)).query(planMessagesQuery));
  }

  /** Delivers a human's decision to a waiting task through a Workflow Update; returns the task's new state. */
  async taskInput(planId: string, taskId: string, input: HumanInput): Promise<TaskState> {
    const view = await this.status(planId);
    const find = (tasks: TaskView[]): TaskView | undefined => {
      for (const t of tasks) {
        const found = t.id === taskId ? t : find(t.subtasks ?? []);
        if (found) return found;
      }
      return undefined;
    };
    const task = find(view.tasks);
    if (!task) throw new ApiError('NOT_FOUND', `plan "${planId}" has no task "${taskId}"`);
    if (task.state !== 'waiting')
      throw new ApiError('CONFLICT', `task "${taskId}" is not waiting for input (it is ${task.state})`);
    try {
      return await this.rpc(
        () =>
          this.client.workflow
            .getHandle(taskWorkflowId(planId, taskId))
            .executeUpdate(taskInputUpdate, { args: [input] }),
        Math.max(this.config.TEMPORAL_RPC_TIMEOUT_MS, 10_000),
      );
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new ApiError('CONFLICT', err.cause?.message ?? err.message);
      if ((err as Error).name === 'WorkflowNotFoundError')
        throw new ApiError('CONFLICT', `task "${taskId}" is not waiting for input (it has ended)`);
      throw err;
    }
  }

  async healthy(): Promise<boolean> {
    try {
      await this.rpc(() => this.client.workflowService.getSystemInfo({}), 2_000);
      return true;
    } catch {
      return false;
    }
  }
}
