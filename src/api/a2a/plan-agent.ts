import {
  TaskState,
  type AgentCard,
  type CancelTaskRequest,
  type GetTaskRequest,
  type ListTasksRequest,
  type ListTasksResponse,
  type Message,
  type SendMessageRequest,
  type StreamResponse,
  type SubscribeToTaskRequest,
  type Task,
} from '@a2a-js/sdk';
import {
  PushNotificationNotSupportedError,
  RequestMalformedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
  ExtendedAgentCardNotConfiguredError,
} from '@a2a-js/sdk/errors';
import type { A2ARequestHandler, ServerCallContext, User } from '@a2a-js/sdk/server';
import type { PlanStatus } from '../../shared/plan';
import type { Registry } from '../../shared/registry';
import type { Principal } from '../auth';
import { ApiError } from '../errors';
import type { EventStreams } from '../events/event-streams';
import { spansTenants, tenantOf, type PlanServices, type Submitted } from '../plans';
import { answerOf, busMessageOf, planIdOf, planOf } from './message-as-plan';
import { FINAL_A2A_STATES, isInterrupting, planAsTask, waitingTasks } from './plan-as-task';
import { PlanWakeups } from './plan-follower';

/** The caller as the SDK passes it on: the API key's principal (undefined when the API has no keys). */
export class ApiUser implements User {
  constructor(
    readonly principal: Principal | undefined,
    /** Aborted when the client goes away: what follows a plan for it stops. */
    readonly gone?: AbortSignal,
  ) {}
  get isAuthenticated(): boolean {
    return this.principal !== undefined;
  }
  get userName(): string {
    return this.principal?.name ?? 'anonymous';
  }
}

const principalOf = (context: ServerCallContext): Principal | undefined =>
  context.user instanceof ApiUser ? context.user.principal : undefined;
const goneOf = (context: ServerCallContext): AbortSignal | undefined =>
  context.user instanceof ApiUser ? context.user.gone : undefined;

export interface PlanAgentDeps {
  plans: PlanServices;
  events: EventStreams;
  registry: () => Promise<Registry>;
  /** POST /v1/plans's own path (checks, the key's quota, start), for a new message's plan. */
  submit: (body: unknown, who: Principal | undefined) => Promise<Submitted>;
  card: () => Promise<AgentCard>;
}

/** How long CancelTask waits for the plan to end cancelled before it answers with the plan as it is. */
const CANCEL_WAIT_MS = 10_000;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 100;

/** The plan statuses an A2A state filter can match (running plans are then told apart by their tasks). */
const STATUSES_OF: Partial<Record<TaskState, PlanStatus[]>> = {
  [TaskState.TASK_STATE_SUBMITTED]: ['running'],
  [TaskState.TASK_STATE_WORKING]: ['running'],
  [TaskState.TASK_STATE_INPUT_REQUIRED]: ['running'],
  [TaskState.TASK_STATE_COMPLETED]: ['completed', 'partial'],
  [TaskState.TASK_STATE_FAILED]: ['failed'],
  [TaskState.TASK_STATE_CANCELED]: ['cancelled'],
};

/** The API's errors as the A2A errors the SDK's bindings answer with (404 is the task's, 409 the request's). */
function a2aError(err: unknown, conflict: (message: string) => Error): unknown {
  if (!(err instanceof ApiError)) return err;
  if (err.code === 'NOT_FOUND') return new TaskNotFoundError(err.message);
  if (err.code === 'CONFLICT') return conflict(err.message);
  if (err.code === 'VALIDATION_ERROR' || err.code === 'PAYLOAD_TOO_LARGE')
    return new RequestMalformedError(err.message);
  return err;
}
const rethrow =
  (conflict: (message: string) => Error = (m) => new UnsupportedOperationError(m)) =>
  (err: unknown): never => {
    throw a2aError(err, conflict);
  };

/**
 * The orchestrator as an A2A agent (docs/a2a.md), behind the SDK's JSON-RPC and HTTP+JSON bindings: every A2A task is
 * a plan, read and driven through the plans API's own services (the same checks, quotas and keys), streamed from the
 * plan's event feed. Holds no state: any API process answers for any task.
 */
export class PlanAgent implements A2ARequestHandler {
  constructor(private readonly deps: PlanAgentDeps) {}

  getAgentCard(): Promise<AgentCard> {
    return this.deps.card();
  }

  getAuthenticatedExtendedAgentCard(): Promise<AgentCard> {
    return Promise.reject(new ExtendedAgentCardNotConfiguredError());
  }

  /** The plan as an A2A task now; its artifacts once it closed. */
  async task(planId: string): Promise<Task> {
    const { plans } = this.deps;
    const view = await plans.views.status(planId).catch(rethrow());
    const result = view.status === 'running' ? undefined : await plans.results.result(planId, 0).catch(() => undefined);
    return planAsTask(view, result);
  }

  /** A task of another tenant is no task (as for the plans API): TaskNotFound. */
  private async visible(planId: string, context: ServerCallContext): Promise<void> {
    await this.deps.plans.gate.check(planId, principalOf(context)).catch(rethrow());
  }

  async getTask(params: GetTaskRequest, context: ServerCallContext): Promise<Task> {
    await this.visible(params.id, context);
    return this.task(params.id);
  }

  async listTasks(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const who = principalOf(context);
    const tenant = spansTenants(who) ? undefined : tenantOf(who);
    const pageSize = Math.min(Math.max(params.pageSize ?? DEFAULT_PAGE, 1), MAX_PAGE);
    const offset = /^\d+$/.test(params.pageToken) ? Number(params.pageToken) : 0;
    const state = params.status ? params.status : undefined;
    const statuses = state === undefined ? [undefined] : (STATUSES_OF[state] ?? []);
    const rows = (
      await Promise.all(
        statuses.map((s) => this.deps.plans.views.list({ ...(s ? { status: s } : {}) }, offset + pageSize + 1, tenant)),
      )
    )
      .flat()
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
      .filter((p) => !params.contextId || p.planId === params.contextId);
    const page = rows.slice(offset, offset + pageSize);
    const tasks = await Promise.all(page.map((p) => this.task(p.planId).catch(() => undefined)));
    const found = tasks.filter((t): t is Task => t !== undefined && (state === undefined || t.status?.state === state));
    const more = rows.length > offset + pageSize;
    return {
      tasks: found.map((t) => (params.includeArtifacts ? t : { ...t, artifacts: [] })),
      nextPageToken: more ? String(offset + pageSize) : '',
      pageSize,
      totalSize: offset + found.length + (more ? 1 : 0),
    };
  }

  async cancelTask(params: CancelTaskRequest, context: ServerCallContext): Promise<Task> {
    const planId = params.id;
    await this.visible(planId, context);
    await this.deps.plans.control
      .cancel(planId, 'cancelled over A2A')
      .catch(rethrow((m) => new TaskNotCancelableError(m)));
    const deadline = Date.now() + CANCEL_WAIT_MS;
    let last = await this.task(planId);
    for await (const task of this.follow(planId, context, () => Date.now() > deadline)) {
      last = task;
      if (FINAL_A2A_STATES.includes(task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED)) break;
    }
    return last;
  }

  async sendMessage(params: SendMessageRequest, context: ServerCallContext): Promise<Task> {
    const planId = await this.accept(params, context);
    if (params.configuration?.returnImmediately) return this.task(planId);
    let last: Task | undefined;
    for await (const task of this.follow(planId, context)) {
      last = task;
      if (isInterrupting(task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED)) break;
    }
    return last ?? this.task(planId);
  }

  async *sendMessageStream(params: SendMessageRequest, context: ServerCallContext): AsyncGenerator<StreamResponse> {
    const planId = await this.accept(params, context);
    yield* this.stream(planId, isInterrupting, context);
  }

  async *resubscribe(params: SubscribeToTaskRequest, context: ServerCallContext): AsyncGenerator<StreamResponse> {
    await this.visible(params.id, context);
    const first = await this.task(params.id);
    if (FINAL_A2A_STATES.includes(first.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED))
      throw new UnsupportedOperationError(`task "${params.id}" has ended: nothing more will come`);
    yield* this.stream(params.id, (s) => FINAL_A2A_STATES.includes(s), context);
  }

  createTaskPushNotificationConfig(): Promise<never> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }
  getTaskPushNotificationConfig(): Promise<never> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }
  listTaskPushNotificationConfigs(): Promise<never> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }
  deleteTaskPushNotificationConfig(): Promise<never> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }

  /**
   * Does what a message asks and names the plan it concerns: a message for an existing task answers the task waiting
   * for a human (or goes on the plan's bus when none waits); a new one starts its plan, the way POST /v1/plans does.
   */
  private async accept(params: SendMessageRequest, context: ServerCallContext): Promise<string> {
    const { message } = params;
    if (!message || !message.messageId) throw new RequestMalformedError('the request has no message (or no messageId)');
    if (message.taskId) {
      await this.visible(message.taskId, context);
      await this.answer(message.taskId, message);
      return message.taskId;
    }
    const who = principalOf(context);
    const skills = (await this.deps.registry()).agentTypes.flatMap((t) => t.capabilities);
    const body = planOf(message, [...new Set(skills)].sort(), planIdOf(message.messageId, who?.name));
    const submitted = await this.deps.submit(body, who).catch(rethrow((m) => new RequestMalformedError(m)));
    return submitted.answer.planId;
  }

  private async answer(planId: string, message: Message): Promise<void> {
    const { plans } = this.deps;
    const view = await plans.views.status(planId).catch(rethrow());
    if (view.status !== 'running')
      throw new UnsupportedOperationError(`task "${planId}" has ended (${view.status}): it takes no more messages`);
    const waiting = waitingTasks(view);
    const { taskId, input } = answerOf(message);
    if (waiting.length === 0) {
      await plans.control.sendMessage(planId, busMessageOf(message)).catch(rethrow());
      return;
    }
    const target = taskId ?? waiting[0]?.id;
    if (!target || !waiting.some((t) => t.id === target))
      throw new RequestMalformedError(`task "${taskId}" of "${planId}" is not waiting for input`);
    await plans.control.taskInput(planId, target, input).catch(rethrow());
  }

  /**
   * The plan's A2A task each time it changes (state, question, or closing), read again whenever the plan's event feed
   * tells of a change; ends when the plan closes, the feed ends, or `stop` says so.
   */
  private async *follow(
    planId: string,
    context: ServerCallContext,
    stop: () => boolean = () => false,
  ): AsyncGenerator<Task> {
    const gone = goneOf(context);
    const wakeups = new PlanWakeups();
    await this.deps.events.followPlan(planId, tenantOf(principalOf(context)), wakeups).catch(rethrow());
    const leave = () => wakeups.close();
    gone?.addEventListener('abort', leave);
    try {
      let told = '';
      for (;;) {
        const ended = wakeups.closed;
        const task = await this.task(planId);
        const key = JSON.stringify([task.status?.state, task.status?.message?.parts]);
        if (key !== told) {
          told = key;
          yield task;
        }
        if (
          ended ||
          stop() ||
          gone?.aborted ||
          FINAL_A2A_STATES.includes(task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED)
        )
          return;
        await wakeups.next();
      }
    } finally {
      gone?.removeEventListener('abort', leave);
      wakeups.close();
    }
  }

  /** The task first, then its status changes (and its artifacts before the final status), until `until` says stop. */
  private async *stream(
    planId: string,
    until: (state: TaskState) => boolean,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse> {
    let first = true;
    for await (const task of this.follow(planId, context)) {
      const state = task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
      if (first) {
        first = false;
        yield { payload: { $case: 'task', value: task } };
        if (until(state)) return;
        continue;
      }
      if (FINAL_A2A_STATES.includes(state))
        for (const artifact of task.artifacts)
          yield {
            payload: {
              $case: 'artifactUpdate',
              value: {
                taskId: planId,
                contextId: planId,
                artifact,
                append: false,
                lastChunk: true,
                metadata: undefined,
              },
            },
          };
      yield {
        payload: {
          $case: 'statusUpdate',
          value: { taskId: planId, contextId: planId, status: task.status, metadata: task.metadata },
        },
      };
      if (until(state)) return;
    }
  }
}
